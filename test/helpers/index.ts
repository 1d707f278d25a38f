/**
 * The end-to-end test harness: a throw-away nats-server, steward nodes run
 * as child processes, temporary folders and polling with deadlines.
 */
export { ChildRun, describeExit, startBanner } from './childRun.js';
export type { ChildRunOptions, ExitInfo } from './childRun.js';
export { cleanupHarness } from './cleanup.js';
export { HarnessError, NatsServerNotFoundError, ProcessStartError, WaitForTimeoutError } from './errors.js';
export { freePort } from './freePort.js';
export { findNatsServer, readNatsInfo, startNatsServer, stopAllNatsServers } from './natsServer.js';
export type { FindNatsServerOptions, NatsServerHandle, NatsServerOptions } from './natsServer.js';
export { repoRoot, startNode, stewardBin, stopAll } from './stewardNode.js';
export type { NodeHandle, StartNodeOptions } from './stewardNode.js';
export { folderSocketEnv, runSteward, showRun } from './stewardCli.js';
export type { CliRun } from './stewardCli.js';
export { keepTestDirs, makeTempDir, removeTempDirs } from './tempDir.js';
export type { TempDirCleanup } from './tempDir.js';
export { readFileOr, readLines, tailLines, waitFor } from './waitFor.js';
export type { Falsy, WaitForOptions } from './waitFor.js';
export { assertSequence, range, sequenceReport } from './sequence.js';
export type { SequenceReport } from './sequence.js';
export { inboxRows, outboxRows, queryJournal } from './journal.js';
export type { InboxRow, OutboxRow } from './journal.js';
