/**
 * Runs a command inside a pseudo-terminal (node-pty), for programs that
 * behave differently, or refuse to run, without a TTY. The terminal merges
 * stdout and stderr; its CRLF line ends are turned into LF. On abort or
 * timeout the whole process tree is killed, as for {@link runCommand}: the
 * pty child leads its own session and process group.
 */
import type { CommandResult } from '../execution/commandRunner.js';
import { killProcessTree } from '../execution/processTree.js';
import { withOperatorUmask } from '../security/fileModes.js';

/** Options of {@link runInPty}. */
export interface PtyRunOptions {
  argv: string[];
  cwd: string;
  env: NodeJS.ProcessEnv;
  signal?: AbortSignal;
  /** Kill the tree after this many milliseconds. @defaultValue no limit */
  timeoutMs?: number;
  /** Each piece of output, in order. */
  onOutput?: (chunk: string) => void;
  /** Most bytes kept in the result. @defaultValue 10 MiB */
  maxOutputBytes?: number;
  /** Between SIGTERM and SIGKILL. @defaultValue 2000 */
  killGraceMs?: number;
}

/** Runs `argv` in a pseudo-terminal; resolves when it exited (or was killed). */
export async function runInPty(opts: PtyRunOptions): Promise<CommandResult> {
  // Loaded on first use: the native module is needed only by messages that ask for a TTY.
  const { spawn } = await import('node-pty');
  const started = performance.now();
  const [file, ...args] = opts.argv as [string, ...string[]];
  const env = Object.fromEntries(Object.entries(opts.env).filter((e): e is [string, string] => typeof e[1] === 'string'));
  const child = withOperatorUmask(() => spawn(file, args, { name: 'xterm-256color', cols: 200, rows: 50, cwd: opts.cwd, env }));
  const max = opts.maxOutputBytes ?? 10 * 1024 * 1024;
  let output = '';
  let truncated = false;
  child.onData((raw) => {
    const chunk = raw.replace(/\r\n/g, '\n');
    if (truncated) return;
    if (Buffer.byteLength(output) + Buffer.byteLength(chunk) > max) {
      truncated = true;
      const marker = `\n[steward: output truncated at ${max} bytes]\n`;
      output += marker;
      opts.onOutput?.(marker);
      return;
    }
    output += chunk;
    opts.onOutput?.(chunk);
  });
  let killed = false;
  let timedOut = false;
  const exited = new Promise<{ exitCode: number; signal?: number }>((resolve) => child.onExit(resolve));
  const kill = async (why: 'abort' | 'timeout') => {
    if (killed) return;
    killed = true;
    timedOut = why === 'timeout';
    try {
      killProcessTree(child.pid, 'SIGTERM');
    } catch {
      // already gone
    }
    const graceOver = new Promise((r) => setTimeout(r, opts.killGraceMs ?? 2000));
    if ((await Promise.race([exited.then(() => 'exited'), graceOver])) !== 'exited') {
      try {
        killProcessTree(child.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  };
  const onAbort = () => void kill('abort');
  if (opts.signal?.aborted) onAbort();
  opts.signal?.addEventListener('abort', onAbort, { once: true });
  const timer = opts.timeoutMs !== undefined && opts.timeoutMs >= 0 ? setTimeout(() => void kill('timeout'), opts.timeoutMs) : undefined;
  const exit = await exited;
  clearTimeout(timer);
  opts.signal?.removeEventListener('abort', onAbort);
  // Not killed after a normal exit: the pid is free then, and the kernel hangs up the
  // terminal's session (SIGHUP) when its leader exits.
  return {
    exitCode: exit.signal ? null : exit.exitCode,
    signal: exit.signal ? `signal ${exit.signal}` : null,
    output,
    stdout: output,
    stderr: '',
    killed,
    timedOut,
    truncated,
    durationMs: performance.now() - started,
  };
}
