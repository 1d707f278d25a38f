/**
 * Temporary folders for tests: every folder a test makes is registered and
 * removed at cleanup, so test runs leave nothing behind, unless a developer
 * asks to keep them for a post-mortem with `STEWARD_KEEP_TEST_DIRS=1`.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const registered = new Set<string>();

/** What {@link removeTempDirs} did. */
export interface TempDirCleanup {
  /** Folders deleted. */
  removed: string[];
  /** Folders left in place because `STEWARD_KEEP_TEST_DIRS=1`. */
  kept: string[];
}

/**
 * Creates a new, empty folder under `os.tmpdir()` whose name starts with
 * `prefix` followed by random characters, and registers it for
 * {@link removeTempDirs}.
 *
 * @param prefix - start of the folder name, e.g. `steward-e2e-`.
 * @returns the absolute path of the folder.
 */
export async function makeTempDir(prefix = 'steward-test-'): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  registered.add(dir);
  return dir;
}

/** Whether the developer asked to keep test folders (`STEWARD_KEEP_TEST_DIRS=1`). */
export function keepTestDirs(): boolean {
  return process.env['STEWARD_KEEP_TEST_DIRS'] === '1';
}

/**
 * Deletes registered temporary folders, or, when `STEWARD_KEEP_TEST_DIRS=1`,
 * prints their paths to stderr and leaves them. Either way they leave the
 * registry. Stop the processes that write into them first.
 *
 * @param dirs - the folders to clean up; all registered folders when omitted.
 *   Folders that were not made by {@link makeTempDir} are ignored, so a
 *   mistaken path can never delete something that is not a test folder.
 */
export async function removeTempDirs(dirs?: Iterable<string>): Promise<TempDirCleanup> {
  const targets = [...(dirs ?? registered)].filter((dir) => registered.has(dir));
  const result: TempDirCleanup = { removed: [], kept: [] };
  const keep = keepTestDirs();
  for (const dir of targets) {
    registered.delete(dir);
    if (keep) {
      result.kept.push(dir);
      process.stderr.write(`STEWARD_KEEP_TEST_DIRS=1: kept ${dir}\n`);
    } else {
      // maxRetries: a process killed a moment ago may still be closing files in the folder.
      await rm(dir, { recursive: true, force: true, maxRetries: 5 });
      result.removed.push(dir);
    }
  }
  return result;
}
