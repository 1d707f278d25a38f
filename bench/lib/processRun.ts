/**
 * Child processes timed from spawn to a line of their output: the steward
 * CLI (`steward start`) and the plain baseline client.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { procMemory } from './hostClient.js';
import { repoRoot } from './paths.js';

/** The steward CLI entry point. */
export const stewardBin = join(repoRoot, 'packages', 'cli', 'bin', 'steward.js');
/** The plain nats.js client used as the baseline process (next to this module, compiled or not). */
export const plainClient = fileURLToPath(new URL(`./plainClient${extname(fileURLToPath(import.meta.url))}`, import.meta.url));

/** A child process whose stdout lines are watched. */
export class TimedProcess {
  readonly startedAt = performance.now();
  private readonly lines: string[] = [];
  private readonly watchers: { re: RegExp; resolve: (ms: number) => void }[] = [];
  readonly exited: Promise<{ code: number | null; signal: string | null }>;

  constructor(readonly child: ChildProcess) {
    this.exited = new Promise((r) => child.once('exit', (code, signal) => r({ code, signal })));
    const onLine = (line: string) => {
      if (this.lines.length < 200) this.lines.push(line);
      for (const w of [...this.watchers]) {
        if (!w.re.test(line)) continue;
        this.watchers.splice(this.watchers.indexOf(w), 1);
        w.resolve(performance.now() - this.startedAt);
      }
    };
    if (child.stdout) createInterface({ input: child.stdout }).on('line', onLine);
    if (child.stderr) createInterface({ input: child.stderr }).on('line', onLine);
  }

  /** Starts `node <args>` in `cwd`. */
  static node(args: string[], cwd?: string): TimedProcess {
    return new TimedProcess(spawn(process.execPath, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] }));
  }

  /** Milliseconds from spawn until a line matches `re`; rejects after `timeoutMs` or when the process exits first. */
  waitLine(re: RegExp, timeoutMs: number): Promise<number> {
    const seen = this.lines.some((l) => re.test(l));
    if (seen) return Promise.resolve(performance.now() - this.startedAt);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`no line matching ${re} within ${timeoutMs} ms; output:\n${this.lines.join('\n')}`)),
        timeoutMs,
      );
      this.watchers.push({ re, resolve: (ms) => (clearTimeout(timer), resolve(ms)) });
      void this.exited.then(({ code, signal }) => {
        clearTimeout(timer);
        reject(new Error(`exited (code ${code}, signal ${signal}) before a line matching ${re}; output:\n${this.lines.join('\n')}`));
      });
    });
  }

  /** The first lines of output (for error messages). */
  output(): string {
    return this.lines.join('\n');
  }

  /** Resident memory now and at peak, bytes. */
  memory(): { rss: number; peak: number } {
    return procMemory(this.child.pid ?? 0);
  }

  /** Sends `signal` and waits for the exit (SIGKILL after `graceMs`). */
  async stop(signal: NodeJS.Signals = 'SIGTERM', graceMs = 10_000): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    this.child.kill(signal);
    const t = setTimeout(() => this.child.kill('SIGKILL'), graceMs);
    await this.exited;
    clearTimeout(t);
  }
}

/** `steward start` arguments for a bench node (no Prometheus endpoint, no SayHello, nobody named central). */
export function stewardStartArgs(node: string, folder: string, brokerHostPort: string, extra: string[] = []): string[] {
  return [
    stewardBin,
    'start',
    '--node',
    node,
    '--nodeFolder',
    folder,
    '--brokerAddress',
    brokerHostPort,
    '--promHostAndPort',
    'off',
    '--sayHelloInterval',
    '0',
    '--centralNodeName',
    'bench-no-central',
    // Compared with plain NATS, which checks nothing (see benchConfig).
    '--enableSignatureCheck',
    'false',
    '--enableAclCheck',
    'false',
    ...extra,
  ];
}
