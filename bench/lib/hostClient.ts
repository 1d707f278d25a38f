/**
 * The bench's side of a {@link ./host.ts} child process: start it, send it
 * commands, read its memory from /proc, and end it.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { readFileSync } from 'node:fs';
import { extname } from 'node:path';
import type { FleetStats } from './host.js';

// host.ts run by tsx, or host.js compiled into bench/dist.
const self = fileURLToPath(import.meta.url);
const hostFile = fileURLToPath(new URL(`./host${extname(self)}`, import.meta.url));
const loader = extname(self) === '.ts' ? ['--import', 'tsx'] : [];

/** Extra `node` flags for every host (e.g. `--cpu-prof`), set by the runner. */
export const hostExecArgv: string[] = [];

/** A running host process. */
export class HostClient {
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void; timer: NodeJS.Timeout }>();
  private readonly exited: Promise<void>;

  private constructor(
    readonly label: string,
    private readonly child: ChildProcess,
  ) {
    this.exited = new Promise((r) => child.once('exit', () => r()));
    child.on('message', (m: { id: number; ok: boolean; value?: unknown; error?: string }) => {
      const p = this.pending.get(m.id);
      if (!p) return;
      this.pending.delete(m.id);
      clearTimeout(p.timer);
      if (m.ok) p.resolve(m.value);
      else p.reject(new Error(`${label}: ${m.error}`));
    });
    child.once('exit', (code, signal) => {
      for (const p of this.pending.values()) {
        clearTimeout(p.timer);
        p.reject(new Error(`${label} exited (code ${code}, signal ${signal})`));
      }
      this.pending.clear();
    });
  }

  /** Starts a host and resolves once it listens for commands. */
  static async start(label: string): Promise<HostClient> {
    const child = fork(hostFile, [], {
      execArgv: [...loader, '--expose-gc', ...hostExecArgv],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      env: { ...process.env, BENCH_HOST_LABEL: label },
    });
    const host = new HostClient(label, child);
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${label} did not start in 30 s`)), 30_000);
      child.once('message', () => (clearTimeout(timer), resolve()));
      child.once('exit', (code) => (clearTimeout(timer), reject(new Error(`${label} exited at start (code ${code})`))));
    });
    return host;
  }

  /** The host's process id. */
  get pid(): number {
    return this.child.pid ?? 0;
  }

  /** Runs a command in the host; rejects after `timeoutMs`. */
  call<T>(cmd: string, args?: unknown, timeoutMs = 120_000): Promise<T> {
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new Error(`${this.label}: ${cmd} took more than ${timeoutMs} ms`));
      }, timeoutMs);
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject, timer });
      this.child.send({ id, cmd, args });
    });
  }

  /** The fleet's counts (see {@link FleetStats}). */
  stats(): Promise<FleetStats> {
    return this.call<FleetStats>('fleet.stats');
  }

  /** Resident memory now and at its peak (VmRSS, VmHWM), in bytes. */
  memory(): { rss: number; peak: number } {
    return procMemory(this.pid);
  }

  /** Ends the host: it stops its nodes on disconnect; SIGKILL after `graceMs`. */
  async stop(graceMs = 10_000): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    this.child.disconnect();
    const t = setTimeout(() => this.child.kill('SIGKILL'), graceMs);
    await this.exited;
    clearTimeout(t);
  }
}

/** VmRSS and VmHWM of a process, in bytes (0 when unknown). */
export function procMemory(pid: number): { rss: number; peak: number } {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+)`, 'm').exec(status)?.[1] ?? 0) * 1024;
    return { rss: kb('VmRSS'), peak: kb('VmHWM') };
  } catch {
    return { rss: 0, peak: 0 };
  }
}
