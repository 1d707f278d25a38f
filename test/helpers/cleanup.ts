/**
 * One teardown for a whole test file, in the order that matters: processes
 * first, so nothing is still writing into a folder when it is removed.
 */
import { stopAllNatsServers } from './natsServer.js';
import { stopAll } from './stewardNode.js';
import { removeTempDirs } from './tempDir.js';

/**
 * Kills every steward node, stops every nats-server and removes the
 * temporary folders (kept with `STEWARD_KEEP_TEST_DIRS=1`). Use as
 * `after(cleanupHarness)`.
 */
export async function cleanupHarness(): Promise<void> {
  await stopAll();
  await stopAllNatsServers();
  await removeTempDirs();
}
