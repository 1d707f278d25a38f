/**
 * One run of a child process started by the harness, with its output going
 * straight to a log file and its exit observable as a promise. Shared by the
 * nats-server and steward node helpers.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, fstatSync, openSync, readFileSync, writeSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';

/** How a child process ended. */
export interface ExitInfo {
  /** Exit code, `null` when it was ended by a signal or never started. */
  code: number | null;
  /** The signal that ended it, `null` when it exited on its own. */
  signal: NodeJS.Signals | null;
  /** Set when the process could not be spawned at all (e.g. `ENOENT`). */
  error?: Error;
}

/** Options of {@link ChildRun.start}. */
export interface ChildRunOptions {
  /** Executable to run. */
  command: string;
  /** Its arguments. */
  args: string[];
  /** File that receives stdout and stderr; appended to, never truncated. */
  logFile: string;
  /** Line written to the log before the process starts, e.g. `--- start 2 ---`. */
  banner?: string;
  /**
   * Working directory.
   * @defaultValue the test process's working directory
   */
  cwd?: string;
  /**
   * Environment.
   * @defaultValue `process.env`
   */
  env?: NodeJS.ProcessEnv;
}

const live = new Set<ChildProcess>();

// Last line of defence when a test file crashes before its `after` hook:
// never leave a broker or a node running after the test process is gone.
process.on('exit', () => {
  for (const child of live) child.kill('SIGKILL');
});

/**
 * A started child process. Its stdio goes to a file descriptor rather than a
 * pipe, so its output is on disk even if the test process dies, and a chatty
 * child can never block on a full pipe.
 */
export class ChildRun {
  /** Process id; `undefined` only if spawning failed. */
  readonly pid: number | undefined;
  /** The file receiving the process's stdout and stderr. */
  readonly logFile: string;
  /** Byte length of the log file after this run's banner, where its own output begins. */
  readonly logOffset: number;
  /** Resolves when the process has exited (never rejects). */
  readonly exited: Promise<ExitInfo>;
  private exitInfo: ExitInfo | undefined;
  private readonly child: ChildProcess;

  private constructor(child: ChildProcess, logFile: string, logOffset: number) {
    this.child = child;
    this.pid = child.pid;
    this.logFile = logFile;
    this.logOffset = logOffset;
    live.add(child);
    this.exited = new Promise<ExitInfo>((resolve) => {
      const finish = (info: ExitInfo): void => {
        if (this.exitInfo) return;
        this.exitInfo = info;
        live.delete(child);
        resolve(info);
      };
      child.once('exit', (code, signal) => finish({ code, signal }));
      // 'error' without a pid means the spawn failed and 'exit' will not follow.
      child.on('error', (error) => {
        if (child.pid === undefined) finish({ code: null, signal: null, error });
      });
    });
  }

  /** Spawns the process with stdout and stderr appended to `opts.logFile`. */
  static start(opts: ChildRunOptions): ChildRun {
    const fd = openSync(opts.logFile, 'a');
    try {
      if (opts.banner !== undefined) writeSync(fd, `${opts.banner}\n`);
      const offset = fstatSync(fd).size;
      const child = spawn(opts.command, opts.args, {
        cwd: opts.cwd,
        env: opts.env ?? process.env,
        stdio: ['ignore', fd, fd],
      });
      return new ChildRun(child, opts.logFile, offset);
    } finally {
      // The child holds its own copy of the descriptor.
      closeSync(fd);
    }
  }

  /** How the process ended, or `undefined` while it runs. */
  get exit(): ExitInfo | undefined {
    return this.exitInfo;
  }

  /** Whether the process is still running. */
  get running(): boolean {
    return this.exitInfo === undefined;
  }

  /**
   * What this run has written to the log so far (plus anything appended
   * after it by others); `''` when the log cannot be read. Synchronous so it
   * can be used in a `waitFor` message.
   */
  output(): string {
    try {
      return readFileSync(this.logFile).subarray(this.logOffset).toString('utf8');
    } catch {
      return '';
    }
  }

  /** Sends SIGKILL and waits for the exit. Does nothing if it already exited. */
  async kill9(): Promise<ExitInfo> {
    if (this.running) this.child.kill('SIGKILL');
    return this.exited;
  }

  /**
   * Sends SIGTERM, waits up to `graceMs` for the exit, then sends SIGKILL.
   * Does nothing if the process already exited.
   */
  async terminate(graceMs: number): Promise<ExitInfo> {
    if (!this.running) return this.exited;
    this.child.kill('SIGTERM');
    const ac = new AbortController();
    const graceful = await Promise.race([this.exited, sleep(graceMs, undefined, { signal: ac.signal }).catch(() => undefined)]);
    ac.abort();
    return graceful ?? this.kill9();
  }
}

/**
 * The separator line for the next run logging to `logFile`:
 * `--- start <n> ---`, where n counts the runs already in the file, so the
 * numbering goes on across restarts and across handles sharing a folder.
 */
export function startBanner(logFile: string): string {
  let text = '';
  try {
    text = readFileSync(logFile, 'utf8');
  } catch {
    // No log yet: this is the first start.
  }
  const starts = text.match(/^--- start \d+ ---/gm)?.length ?? 0;
  return `--- start ${starts + 1} ---`;
}

/** How a run ended, in words for an error message. */
export function describeExit(exit: ExitInfo): string {
  if (exit.error) return `spawn failed: ${exit.error.message}`;
  return exit.signal ? `signal ${exit.signal}` : `exit code ${String(exit.code)}`;
}
