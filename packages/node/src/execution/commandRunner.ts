/**
 * Runs one operator command as a child process and collects its output.
 *
 * The command gets its own process group (`detached: true`), so it can be
 * stopped as a whole: on abort or timeout the entire process tree is sent
 * SIGTERM, then SIGKILL after a grace period. The tree is the process group
 * plus every descendant found through `/proc` parent links, because a child
 * that called `setsid` has left the group but is still ours to stop.
 *
 * Linux only: the tree walk reads `/proc/<pid>/stat`.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { stat } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import { withOperatorUmask } from '../security/fileModes.js';
import { CommandNotFoundError, CommandStartError } from '../errors.js';
import { collect, OutputCollector } from './outputCollector.js';
import { killTree, raceWithTimer, type Exit, type RootProcess } from './processTree.js';

/** Options of {@link runCommand}. */
export interface RunCommandOptions {
  /**
   * The program and its arguments. `argv[0]` is looked up on `PATH`; nothing
   * is interpreted by a shell unless the caller runs one explicitly, e.g.
   * `['bash', '-c', 'echo $HOME']`.
   */
  argv: string[];
  /**
   * Working directory of the command.
   * @defaultValue the current directory of this process
   */
  cwd?: string;
  /**
   * Complete environment of the command. Pass `{ ...process.env, X: 'y' }`
   * to add variables; an environment without `PATH` breaks most commands.
   * @defaultValue `process.env`
   */
  env?: NodeJS.ProcessEnv;
  /**
   * Aborting kills the whole process tree (see `killGraceMs`); the promise
   * then resolves with `killed: true`. An already aborted signal resolves at
   * once without starting anything.
   */
  signal?: AbortSignal;
  /**
   * Kill the process tree after this many milliseconds, as an abort would, and
   * report `timedOut: true`.
   * @defaultValue no timeout
   */
  timeoutMs?: number;
  /**
   * Most bytes (UTF-8) of stdout and stderr together kept in the result and
   * passed to `onOutput`. Beyond it the output is cut, a marker line is added
   * and the rest is read and dropped: the command keeps running.
   * @defaultValue 10 MiB
   */
  maxOutputBytes?: number;
  /**
   * Time between SIGTERM and SIGKILL when the tree is killed. Processes that
   * have all exited end the wait early.
   * @defaultValue 2000
   */
  killGraceMs?: number;
  /**
   * Called with every piece of output as it arrives, in arrival order, after
   * truncation (so it sees exactly what ends up in `output`, marker included).
   * If it throws, a warning is emitted and it is not called again; the command
   * is not affected.
   */
  onOutput?: (chunk: string, stream: 'stdout' | 'stderr') => void;
}

/** What {@link runCommand} resolves with. */
export interface CommandResult {
  /** Exit code, or `null` when the process ended by a signal (or its end could not be observed). */
  exitCode: number | null;
  /** Name of the signal that ended the process (e.g. `SIGKILL`), or `null`. */
  signal: string | null;
  /** stdout and stderr interleaved in arrival order. */
  output: string;
  stdout: string;
  stderr: string;
  /**
   * The tree was killed because of the abort signal or the timeout. Also set
   * when the main process had already exited by itself (`exitCode` is then
   * its own) but background processes it left behind were killed.
   */
  killed: boolean;
  /** The kill was caused by `timeoutMs`. */
  timedOut: boolean;
  /** Output went past `maxOutputBytes` and was cut. */
  truncated: boolean;
  /** From the start of the process until the result was ready. */
  durationMs: number;
}

const DEFAULT_MAX_OUTPUT_BYTES = 10 * 1024 * 1024;
const DEFAULT_KILL_GRACE_MS = 2000;
/**
 * How long to wait for stdout/stderr to close after the main process exited.
 * A background grandchild (`sleep 30 &`, a daemon that did not close its
 * descriptors) inherits the pipes and keeps them open long after the command
 * itself is done; waiting for it would hang the caller for its whole life.
 */
const PIPE_CLOSE_GRACE_MS = 2000;
/** Largest delay `setTimeout` honours; larger values fire at once. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * Runs `argv` and resolves when it has finished and its output is collected.
 *
 * Rejects with {@link CommandNotFoundError} when the program does not exist,
 * {@link CommandStartError} when it cannot be started, and `TypeError` /
 * `RangeError` for invalid options. Never throws synchronously. A non-zero
 * exit code is a normal result, not a rejection.
 *
 * The promise resolves after the process exited and its stdout and stderr
 * closed. If the pipes stay open after the exit (a background grandchild holds
 * them), it waits at most 2 s, then closes its ends and resolves, leaving the
 * grandchild running. On abort or timeout it resolves after the kill finished.
 */
export async function runCommand(opts: RunCommandOptions): Promise<CommandResult> {
  const settings = parseOptions(opts);
  if (settings.signal?.aborted === true) {
    return { ...emptyResult(), killed: true };
  }

  const startedAt = performance.now();
  const child = await start(settings);
  // spawn() succeeded, so the pid is known; checked only to satisfy the types.
  const pid = child.pid;
  if (pid === undefined) throw new CommandStartError(`"${settings.argv0}" has no pid after spawn`);

  const output = new OutputCollector(settings.maxOutputBytes, settings.onOutput);
  const stdout = child.stdout as Readable;
  const stderr = child.stderr as Readable;
  const pipesClosed = Promise.all([collect(stdout, 'stdout', output), collect(stderr, 'stderr', output)]);
  const root: RootProcess = {
    pid,
    exit: undefined,
    exited: new Promise<Exit>((resolve) => {
      child.once('exit', (code, signal) => {
        // Set here, not in a later `then`: from this moment the pid is free.
        root.exit = { code, signal };
        resolve(root.exit);
      });
    }),
  };
  // After a successful spawn, 'error' only reports a failed kill() or send(),
  // neither of which is used here; the listener keeps it from crashing the node.
  child.on('error', () => undefined);

  const stop = stopRequest(settings.signal, settings.timeoutMs);
  let killed = false;
  let timedOut = false;
  let exit: Exit | undefined;
  try {
    const first = await Promise.race([root.exited, stop.requested]);
    if (isStopReason(first)) {
      killed = true;
      timedOut = first === 'timeout';
      exit = await killTree(root, settings.killGraceMs);
    } else {
      exit = first;
      // The command is done; only a background process can still hold the
      // pipes. An abort during this wait still stops that process.
      const next = await raceWithTimer<unknown>([pipesClosed, stop.requested], PIPE_CLOSE_GRACE_MS);
      if (isStopReason(next)) {
        killed = true;
        timedOut = next === 'timeout';
        await killTree(root, settings.killGraceMs);
      }
    }
  } finally {
    stop.dispose();
  }
  if (killed) {
    // After a kill every process of the tree is gone, so the pipes close at
    // once, unless something outside the tree (a double-forked daemon that was
    // re-parented before the kill) still holds them.
    await raceWithTimer([pipesClosed], PIPE_CLOSE_GRACE_MS);
  }
  stdout.destroy();
  stderr.destroy();
  // Not reaped even after SIGKILL (uninterruptible sleep): do not let the
  // handle keep this process alive.
  if (exit === undefined) child.unref();

  return {
    exitCode: exit?.code ?? null,
    signal: exit?.signal ?? null,
    output: output.output,
    stdout: output.stdout,
    stderr: output.stderr,
    killed,
    timedOut,
    truncated: output.truncated,
    durationMs: performance.now() - startedAt,
  };
}

type StopReason = 'abort' | 'timeout';

function isStopReason(value: unknown): value is StopReason {
  return value === 'abort' || value === 'timeout';
}

/** A promise that resolves when the caller aborts or the timeout passes; never rejects. */
function stopRequest(
  signal: AbortSignal | undefined,
  timeoutMs: number | undefined,
): { requested: Promise<StopReason>; dispose: () => void } {
  let onAbort: (() => void) | undefined;
  let timer: NodeJS.Timeout | undefined;
  const requested = new Promise<StopReason>((resolve) => {
    if (signal !== undefined) {
      onAbort = () => resolve('abort');
      if (signal.aborted) resolve('abort');
      else signal.addEventListener('abort', onAbort, { once: true });
    }
    if (timeoutMs !== undefined) timer = setTimeout(() => resolve('timeout'), timeoutMs);
  });
  return {
    requested,
    dispose: () => {
      if (onAbort !== undefined) signal?.removeEventListener('abort', onAbort);
      clearTimeout(timer);
    },
  };
}

interface Settings {
  argv0: string;
  args: string[];
  cwd: string | undefined;
  env: NodeJS.ProcessEnv;
  signal: AbortSignal | undefined;
  timeoutMs: number | undefined;
  maxOutputBytes: number;
  killGraceMs: number;
  onOutput: RunCommandOptions['onOutput'];
}

function parseOptions(opts: RunCommandOptions): Settings {
  if (typeof opts !== 'object' || opts === null) throw new TypeError('options must be an object');
  const { argv } = opts;
  if (!Array.isArray(argv) || argv.length === 0 || !argv.every((a) => typeof a === 'string')) {
    throw new TypeError('argv must be a non-empty array of strings');
  }
  const [argv0, ...args] = argv as [string, ...string[]];
  if (argv0 === '') throw new TypeError('argv[0] must not be empty');
  if (opts.cwd !== undefined && typeof opts.cwd !== 'string') throw new TypeError('cwd must be a string');
  if (opts.onOutput !== undefined && typeof opts.onOutput !== 'function') {
    throw new TypeError('onOutput must be a function');
  }
  return {
    argv0,
    args,
    cwd: opts.cwd,
    env: opts.env ?? process.env,
    signal: opts.signal,
    timeoutMs: opts.timeoutMs === undefined ? undefined : checkMs('timeoutMs', opts.timeoutMs, 1),
    maxOutputBytes: checkInteger('maxOutputBytes', opts.maxOutputBytes ?? DEFAULT_MAX_OUTPUT_BYTES),
    killGraceMs: checkMs('killGraceMs', opts.killGraceMs ?? DEFAULT_KILL_GRACE_MS, 0),
    onOutput: opts.onOutput,
  };
}

function checkMs(field: string, value: number, min: number): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < min || value > MAX_TIMER_MS) {
    throw new RangeError(`${field} must be a number of milliseconds from ${min} to ${MAX_TIMER_MS}, got ${value}`);
  }
  return value;
}

function checkInteger(field: string, value: number): number {
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new RangeError(`${field} must be a non-negative integer, got ${value}`);
  }
  return value;
}

function emptyResult(): CommandResult {
  return {
    exitCode: null,
    signal: null,
    output: '',
    stdout: '',
    stderr: '',
    killed: false,
    timedOut: false,
    truncated: false,
    durationMs: 0,
  };
}

/** Spawns the command and waits until it started; start failures become typed errors. */
async function start(s: Settings): Promise<ChildProcess> {
  let child: ChildProcess;
  try {
    // The files a command makes are the operator's: its umask, not the node's owner-only one.
    child = withOperatorUmask(() =>
      spawn(s.argv0, s.args, {
        cwd: s.cwd,
        env: s.env,
        // Own process group, so the whole group can be signalled at once.
        detached: true,
        stdio: ['ignore', 'pipe', 'pipe'],
      }),
    );
  } catch (err) {
    // Invalid arguments (e.g. a NUL byte) are reported synchronously.
    throw new CommandStartError(`cannot start "${s.argv0}": ${errorMessage(err)}`, { cause: err });
  }
  const failure = await new Promise<Error | undefined>((resolve) => {
    child.once('spawn', () => resolve(undefined));
    child.once('error', resolve);
  });
  if (failure === undefined) return child;
  throw await describeStartFailure(s, failure);
}

async function describeStartFailure(s: Settings, err: Error): Promise<Error> {
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'ENOENT') {
    // spawn reports a missing working directory and a missing `#!` interpreter
    // with the same ENOENT as a missing program; tell them apart.
    if (s.cwd !== undefined && !(await isDirectory(s.cwd))) {
      return new CommandStartError(`cannot start "${s.argv0}": working directory "${s.cwd}" does not exist`, {
        cause: err,
      });
    }
    if (s.argv0.includes('/') && (await exists(s.argv0, s.cwd))) {
      return new CommandStartError(`cannot start "${s.argv0}": the file exists, but its interpreter (#! line) was not found`, {
        cause: err,
      });
    }
    return new CommandNotFoundError(`command not found: "${s.argv0}"`, { cause: err });
  }
  if (code === 'EACCES') {
    return new CommandStartError(`cannot start "${s.argv0}": permission denied (not executable?)`, { cause: err });
  }
  return new CommandStartError(`cannot start "${s.argv0}": ${errorMessage(err)}`, { cause: err });
}

async function isDirectory(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isDirectory();
  } catch {
    return false;
  }
}

async function exists(path: string, cwd: string | undefined): Promise<boolean> {
  const full = path.startsWith('/') || cwd === undefined ? path : `${cwd}/${path}`;
  try {
    await stat(full);
    return true;
  } catch {
    return false;
  }
}

function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
