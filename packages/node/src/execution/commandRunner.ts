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
import { readdirSync, readFileSync } from 'node:fs';
import { stat } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import { withOperatorUmask } from '../security/fileModes.js';

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

/** The program in `argv[0]` does not exist (ENOENT). */
export class CommandNotFoundError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'CommandNotFoundError';
  }
}

/**
 * The command exists but could not be started: not executable, a missing
 * working directory, a missing script interpreter, invalid arguments.
 */
export class CommandStartError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'CommandStartError';
  }
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
/**
 * How long to wait for the main process to be reaped after SIGKILL. SIGKILL
 * cannot be ignored, but a process stuck in uninterruptible sleep (a hung NFS
 * mount) dies only when the kernel call returns; we do not wait for that.
 */
const REAP_AFTER_KILL_MS = 5000;
const KILL_POLL_MS = 50;
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

/**
 * Sends `signal` to the process group `pid` and to every descendant of `pid`
 * (found through `/proc` parent links) that left the group, e.g. with
 * `setsid`. The tree is listed before anything is signalled, because a killed
 * parent's children are re-parented and can no longer be found from `pid`.
 * Members of the group that are not descendants (orphans re-parented after
 * their parent died) are included too.
 *
 * Returns the pids that were signalled. Processes that exited meanwhile
 * (ESRCH), zombies, and processes this user may not signal (EPERM) are left
 * out; signalling continues past them.
 *
 * @throws RangeError when `pid` is not an integer above 1 or is this process,
 * since `kill(-1)` and `kill(0)` would reach far more than one tree.
 */
export function killProcessTree(pid: number, signal: NodeJS.Signals): number[] {
  assertKillablePid(pid);
  return signalTree(pid, signal, true).map((p) => p.pid);
}

/** One line of `/proc/<pid>/stat`, the fields used here. */
interface ProcInfo {
  pid: number;
  ppid: number;
  pgrp: number;
  /** One-letter state: R, S, D, Z (zombie), X (dead), ... */
  state: string;
  /** Start time in clock ticks since boot; with the pid it names one process even if the pid is reused. */
  startTime: string;
}

/** Reads `/proc/<pid>/stat`; `undefined` if the process is gone. */
function readProcInfo(pid: number): ProcInfo | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // The command name is in parentheses and may itself contain spaces and
  // parentheses, so the fixed fields start after the last ')'.
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  const [state, ppid, pgrp] = fields;
  const startTime = fields[19];
  if (state === undefined || ppid === undefined || pgrp === undefined || startTime === undefined) {
    return undefined;
  }
  return { pid, ppid: Number(ppid), pgrp: Number(pgrp), state, startTime };
}

/**
 * Every live process of the tree rooted at `pid` (`pid` included), every
 * member of process group `pid`, and their descendants; `undefined` if
 * `/proc` cannot be read.
 */
function listProcessTree(pid: number): ProcInfo[] | undefined {
  let names: string[];
  try {
    names = readdirSync('/proc');
  } catch {
    return undefined;
  }
  const children = new Map<number, ProcInfo[]>();
  const tree = new Map<number, ProcInfo>();
  for (const name of names) {
    if (!/^\d+$/.test(name)) continue;
    const info = readProcInfo(Number(name));
    if (info === undefined) continue;
    const siblings = children.get(info.ppid);
    if (siblings === undefined) children.set(info.ppid, [info]);
    else siblings.push(info);
    if (info.pid === pid || info.pgrp === pid) tree.set(info.pid, info);
  }
  // Parent links form a forest, so this walk ends.
  const queue = [...tree.values()];
  for (let next = queue.pop(); next !== undefined; next = queue.pop()) {
    for (const child of children.get(next.pid) ?? []) {
      if (tree.has(child.pid)) continue;
      tree.set(child.pid, child);
      queue.push(child);
    }
  }
  return [...tree.values()].filter(isAlive);
}

function assertKillablePid(pid: number): void {
  if (!Number.isInteger(pid) || pid <= 1 || pid === process.pid) {
    throw new RangeError(`pid must be an integer above 1 and not this process, got ${pid}`);
  }
}

function isAlive(info: ProcInfo): boolean {
  return info.state !== 'Z' && info.state !== 'X';
}

/** The process `info` describes is still running: not dead, not a zombie, its pid not reused. */
function stillRunning(info: ProcInfo): boolean {
  const now = readProcInfo(info.pid);
  return now !== undefined && now.startTime === info.startTime && isAlive(now);
}

/** Returns true if the signal was delivered, false if the target is gone or not ours. */
function sendSignal(target: number, signal: NodeJS.Signals): boolean {
  try {
    process.kill(target, signal);
    return true;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ESRCH' || code === 'EPERM') return false;
    throw err;
  }
}

/**
 * Signals the tree of `pid` (when `byPid`) and every process of `known` that
 * is still running. Returns the processes signalled.
 */
function signalTree(pid: number, signal: NodeJS.Signals, byPid: boolean, known: ProcInfo[] = []): ProcInfo[] {
  const listing = byPid ? listProcessTree(pid) : [];
  const tree = listing ?? [];
  const listed = new Set(tree.map((p) => p.pid));
  for (const p of known) {
    if (!listed.has(p.pid) && stillRunning(p)) tree.push(p);
  }
  // One signal to the group reaches all its members at once, including any
  // forked after the listing. The rest get their own signal; group members do
  // not get a second one (many programs take a second SIGTERM as "force").
  const groupSignalled = byPid && sendSignal(-pid, signal);
  const signalled: ProcInfo[] = [];
  for (const p of tree) {
    if ((p.pgrp === pid && groupSignalled) || sendSignal(p.pid, signal)) signalled.push(p);
  }
  if (listing === undefined && !groupSignalled && sendSignal(pid, signal)) {
    // Without /proc the pid itself is all we know of.
    signalled.push({ pid, ppid: 0, pgrp: 0, state: 'R', startTime: '' });
  }
  return signalled;
}

type Exit = { code: number | null; signal: string | null };

/** The main process of a command, as far as killing its tree is concerned. */
interface RootProcess {
  pid: number;
  /** Resolves when Node has reaped the process. */
  exited: Promise<Exit>;
  /** Set when `exited` resolved; from then on the pid may be reused by an unrelated process. */
  exit: Exit | undefined;
}

/**
 * SIGTERM to the tree, wait until it is gone or `graceMs` passed, SIGKILL to
 * whatever is left, then wait (bounded) for the main process to be reaped.
 * Resolves with the exit of the main process, or `undefined` if it was not seen.
 */
async function killTree(root: RootProcess, graceMs: number): Promise<Exit | undefined> {
  // Called before the reap, or at most PIPE_CLOSE_GRACE_MS after it: far too
  // soon for the kernel to hand the pid out again, so it still names our group.
  const terminated = signalTree(root.pid, 'SIGTERM', true);
  const deadline = performance.now() + graceMs;
  while (performance.now() < deadline) {
    if (terminated.every((p) => !stillRunning(p))) break;
    await delay(Math.min(KILL_POLL_MS, Math.max(0, deadline - performance.now())));
  }
  // Re-list, so processes forked during the grace are found too. The grace can
  // be long, though: once the main process is reaped, its pid names our group
  // only while a member we saw is still in it (Linux does not reuse the pid
  // of a live group). Otherwise only the processes already seen are killed,
  // found by identity since their parents may have died and left them orphans.
  const pidIsOurs = root.exit === undefined || terminated.some((p) => stillRunning(p) && readProcInfo(p.pid)?.pgrp === root.pid);
  signalTree(root.pid, 'SIGKILL', pidIsOurs, terminated);
  if (root.exit !== undefined) return root.exit;
  return raceWithTimer([root.exited], REAP_AFTER_KILL_MS);
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

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** The first of `promises` to settle, or `undefined` after `ms`; the timer is cleared either way. */
async function raceWithTimer<T>(promises: Promise<T>[], ms: number): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<undefined>((resolve) => {
    timer = setTimeout(() => resolve(undefined), ms);
  });
  try {
    return await Promise.race([...promises, timeout]);
  } finally {
    clearTimeout(timer);
  }
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

/** Reads `stream` into `output`; resolves when the stream closed. Never rejects. */
function collect(stream: Readable, name: 'stdout' | 'stderr', output: OutputCollector): Promise<void> {
  // Decoding in the stream keeps a multi-byte character split across two
  // chunks intact.
  stream.setEncoding('utf8');
  stream.on('data', (chunk: string) => output.push(chunk, name));
  // A read error ends the stream like EOF; the output so far is kept.
  stream.on('error', () => undefined);
  return new Promise((resolve) => stream.once('close', resolve));
}

/** Output of one command, capped at `maxBytes` (UTF-8) across both streams. */
class OutputCollector {
  output = '';
  stdout = '';
  stderr = '';
  truncated = false;
  private bytes = 0;
  private listener: RunCommandOptions['onOutput'];

  constructor(
    private readonly maxBytes: number,
    onOutput: RunCommandOptions['onOutput'],
  ) {
    this.listener = onOutput;
  }

  push(chunk: string, stream: 'stdout' | 'stderr'): void {
    // Past the cap the rest is read and dropped: not reading would fill the
    // pipe and block the command, which must keep running.
    if (this.truncated) return;
    const size = Buffer.byteLength(chunk);
    if (this.bytes + size <= this.maxBytes) {
      this.bytes += size;
      this.append(chunk, stream);
      return;
    }
    const bytes = Buffer.from(chunk, 'utf8');
    let cut = this.maxBytes - this.bytes;
    // Back up to a character boundary (UTF-8 continuation bytes are 10xxxxxx).
    while (cut > 0 && ((bytes[cut] ?? 0) & 0xc0) === 0x80) cut--;
    this.truncated = true;
    this.bytes += cut;
    const kept = bytes.subarray(0, cut).toString('utf8');
    const last = kept === '' ? this.output.at(-1) : kept.at(-1);
    const needsNewline = last !== undefined && last !== '\n';
    const marker = `${needsNewline ? '\n' : ''}[steward: output truncated at ${this.maxBytes} bytes]\n`;
    this.append(kept + marker, stream);
  }

  private append(text: string, stream: 'stdout' | 'stderr'): void {
    if (text === '') return;
    this.output += text;
    if (stream === 'stdout') this.stdout += text;
    else this.stderr += text;
    if (this.listener === undefined) return;
    try {
      this.listener(text, stream);
    } catch (err) {
      // A faulty listener must not crash the node or lose the result; report
      // it once, loudly, and stop calling it.
      this.listener = undefined;
      process.emitWarning(`onOutput threw, output is no longer passed to it: ${errorMessage(err)}`, {
        type: 'CommandRunnerWarning',
        detail: err instanceof Error ? err.stack : undefined,
      });
    }
  }
}
