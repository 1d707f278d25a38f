/**
 * A throw-away `nats-server` for end-to-end tests and the benchmark (the one
 * launcher both use; bench/tsconfig.json compiles this file too): started
 * from PATH on free loopback ports with its own folder, and killable,
 * stoppable and restartable on the same port, so tests can take the broker
 * away from running nodes.
 */
import { accessSync, constants, statSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { connect } from 'node:net';
import { delimiter, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

import { ChildRun, describeExit, startBanner, type ExitInfo } from './childRun.js';
import { NatsServerNotFoundError, ProcessStartError, WaitForTimeoutError } from './errors.js';
import { freePort } from './freePort.js';
import { makeTempDir } from './tempDir.js';
import { tailLines, waitFor } from './waitFor.js';

/** How long a start or restart may take until the server accepts clients. */
const READY_TIMEOUT_MS = 20_000;
/** How long SIGTERM has before {@link NatsServerHandle.stop} sends SIGKILL. */
const STOP_GRACE_MS = 5_000;
/** Folders searched after PATH: Debian installs nats-server in /usr/sbin, which users' PATH often lacks. */
const FALLBACK_DIRS = ['/usr/sbin', '/usr/local/bin'];

/** Options of {@link startNatsServer}. */
export interface NatsServerOptions {
  /**
   * Client port. A fixed port is retried until the start deadline when busy.
   * @defaultValue a free port picked at start
   */
  port?: number;
  /**
   * Folder for the server's log (`nats-server.log`) and its store (`store/`,
   * used when `-js` is among `args`). Created when missing; not removed by
   * the harness unless it came from `makeTempDir`.
   * @defaultValue a new temporary folder, removed by `removeTempDirs`
   */
  dir?: string;
  /**
   * Extra `nats-server` arguments, e.g. `['-js']` or `['-c', configFile]`.
   * @defaultValue `[]`
   */
  args?: string[];
}

/** A running (or stopped) test nats-server. */
export interface NatsServerHandle {
  /** Client port on 127.0.0.1; the same across restarts. */
  readonly port: number;
  /** HTTP monitoring port on 127.0.0.1; may change on restart if it was taken meanwhile. */
  readonly monitorPort: number;
  /** `nats://127.0.0.1:<port>` */
  readonly url: string;
  /** `127.0.0.1:<port>`, the form steward's `--brokerAddress` takes. */
  readonly hostPort: string;
  /** Process id of the current run. */
  readonly pid: number;
  /** The server's version, from its `INFO` greeting (`unknown` when it sent none). */
  readonly version: string;
  /** Whether the current run is still alive. */
  readonly running: boolean;
  /** Resolves when the current run exits. */
  readonly exited: Promise<ExitInfo>;
  /** The server's folder. */
  readonly dir: string;
  /** The server's log, appended across restarts with `--- start <n> ---` lines. */
  readonly logFile: string;
  /** SIGTERM, wait for the exit, SIGKILL after 5 s. Does nothing when already stopped. */
  stop(): Promise<void>;
  /** SIGKILL and wait for the exit: the broker vanishes without a goodbye. */
  kill9(): Promise<void>;
  /** Stops the server if it runs, starts it again on the same port and waits until it is ready. */
  restart(): Promise<void>;
}

/** Options of {@link findNatsServer}. */
export interface FindNatsServerOptions {
  /**
   * Directories to search first, in PATH format.
   * @defaultValue `process.env.PATH`
   */
  path?: string;
  /**
   * Directories searched after `path`.
   * @defaultValue `['/usr/sbin', '/usr/local/bin']`
   */
  fallbackDirs?: string[];
}

/**
 * The path of the `nats-server` executable.
 * @throws {@link NatsServerNotFoundError} telling how to install it.
 */
export function findNatsServer(opts: FindNatsServerOptions = {}): string {
  const pathDirs = (opts.path ?? process.env['PATH'] ?? '').split(delimiter).filter(Boolean);
  const dirs = [...new Set([...pathDirs, ...(opts.fallbackDirs ?? FALLBACK_DIRS)])];
  for (const dir of dirs) {
    const candidate = join(dir, 'nats-server');
    if (isExecutableFile(candidate)) return candidate;
  }
  throw new NatsServerNotFoundError(dirs);
}

function isExecutableFile(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

const servers = new Set<NatsServer>();

/**
 * Starts `nats-server -a 127.0.0.1 -p <port> -m <monitorPort>` and resolves
 * once it accepts client connections (deadline 20 s). Stop it in `after`,
 * or call {@link stopAllNatsServers}.
 *
 * @throws {@link NatsServerNotFoundError} when nats-server is not installed.
 * @throws {@link ProcessStartError} when it exits or is not ready in time.
 */
export async function startNatsServer(opts: NatsServerOptions = {}): Promise<NatsServerHandle> {
  const bin = findNatsServer();
  let dir: string;
  if (opts.dir === undefined) {
    dir = await makeTempDir('steward-nats-');
  } else {
    dir = opts.dir;
    await mkdir(dir, { recursive: true });
  }
  const server = new NatsServer(bin, dir, opts.args ?? [], opts.port, await freePort());
  await server.launch();
  servers.add(server);
  return server;
}

/** Stops every server started by {@link startNatsServer} that still runs. */
export async function stopAllNatsServers(): Promise<void> {
  const all = [...servers];
  servers.clear();
  await Promise.all(all.map((server) => server.stop()));
}

/**
 * Connects to a NATS port and returns the server's `INFO` greeting, parsed,
 * or `undefined` when nothing NATS-like answers within `timeoutMs`.
 */
export function readNatsInfo(port: number, host = '127.0.0.1', timeoutMs = 2_000): Promise<Record<string, unknown> | undefined> {
  return new Promise((resolve) => {
    let received = '';
    const socket = connect({ port, host });
    const done = (info: Record<string, unknown> | undefined): void => {
      socket.destroy();
      resolve(info);
    };
    socket.setTimeout(timeoutMs, () => done(undefined));
    socket.on('error', () => done(undefined));
    socket.on('close', () => done(undefined));
    socket.on('data', (chunk: Buffer) => {
      received += chunk.toString('utf8');
      const end = received.indexOf('\r\n');
      if (end === -1) return;
      const line = received.slice(0, end);
      done(line.startsWith('INFO ') ? parseInfo(line.slice(5)) : undefined);
    });
  });
}

function parseInfo(json: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(json);
    return typeof value === 'object' && value !== null ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

class NatsServer implements NatsServerHandle {
  readonly dir: string;
  readonly logFile: string;
  private readonly bin: string;
  private readonly extraArgs: string[];
  private readonly storeDir: string;
  private clientPort: number | undefined;
  private monitor: number;
  private run: ChildRun | undefined;
  private serverVersion = 'unknown';

  constructor(bin: string, dir: string, extraArgs: string[], port: number | undefined, monitorPort: number) {
    this.bin = bin;
    this.extraArgs = extraArgs;
    this.dir = dir;
    this.logFile = join(dir, 'nats-server.log');
    this.storeDir = join(dir, 'store');
    this.clientPort = port;
    this.monitor = monitorPort;
  }

  get port(): number {
    return this.clientPort ?? 0;
  }
  get monitorPort(): number {
    return this.monitor;
  }
  get url(): string {
    return `nats://${this.hostPort}`;
  }
  get hostPort(): string {
    return `127.0.0.1:${this.port}`;
  }
  get pid(): number {
    return this.run?.pid ?? 0;
  }
  get version(): string {
    return this.serverVersion;
  }
  get running(): boolean {
    return this.run?.running ?? false;
  }
  get exited(): Promise<ExitInfo> {
    return this.run?.exited ?? Promise.resolve({ code: null, signal: null });
  }

  async stop(): Promise<void> {
    await this.run?.terminate(STOP_GRACE_MS);
  }

  async kill9(): Promise<void> {
    await this.run?.kill9();
  }

  async restart(): Promise<void> {
    await this.stop();
    servers.add(this);
    await this.launch();
  }

  /**
   * Starts a run and waits until it is ready. A port taken between picking
   * and binding is replaced by a fresh one, unless the client port is fixed
   * (given by the caller, or a restart): then it is retried until the
   * deadline, since a test expects the broker back where it was.
   */
  async launch(): Promise<void> {
    const deadline = Date.now() + READY_TIMEOUT_MS;
    const portFixed = this.clientPort !== undefined;
    this.clientPort ??= await freePort();
    for (;;) {
      const run = this.spawn();
      const exit = await this.waitReady(run, deadline);
      // Ready: from now on the port is the server's identity, kept by restarts.
      if (exit === undefined) return;
      const log = run.output();
      if (!log.includes('address already in use') || Date.now() >= deadline) {
        throw new ProcessStartError(
          `nats-server exited before it was ready (${describeExit(exit)}); ` + `log ${this.logFile}:\n${tailLines(log)}`,
          { cause: exit.error },
        );
      }
      if (log.includes('monitor port')) {
        this.monitor = await freePort();
      } else if (!portFixed) {
        this.clientPort = await freePort();
      } else {
        // A fixed port still held (by a dying earlier run, or someone else): wait and retry.
        await sleep(250);
      }
    }
  }

  private spawn(): ChildRun {
    const args = ['-a', '127.0.0.1', '-p', String(this.port), '-m', String(this.monitor), '-sd', this.storeDir, ...this.extraArgs];
    this.run = ChildRun.start({
      command: this.bin,
      args,
      logFile: this.logFile,
      banner: `${startBanner(this.logFile)} ${this.bin} ${args.join(' ')}`,
      cwd: this.dir,
    });
    return this.run;
  }

  /** `undefined` once ready; the exit when the run ended first. */
  private async waitReady(run: ChildRun, deadline: number): Promise<ExitInfo | undefined> {
    try {
      const outcome = await waitFor(
        async () => {
          if (run.exit) return run.exit;
          // The log line proves that our process listens, the greeting that it accepts clients.
          if (!run.output().includes('Server is ready')) return false;
          const info = await readNatsInfo(this.port);
          if (info === undefined) return false;
          if (typeof info['version'] === 'string') this.serverVersion = info['version'];
          return 'ready';
        },
        {
          timeoutMs: Math.max(deadline - Date.now(), 0),
          message: () =>
            `nats-server on port ${this.port} was not ready within ${READY_TIMEOUT_MS} ms; ` +
            `log ${this.logFile}:\n${tailLines(run.output())}`,
        },
      );
      return outcome === 'ready' ? undefined : outcome;
    } catch (error) {
      await run.kill9();
      if (error instanceof WaitForTimeoutError) {
        throw new ProcessStartError(error.message, { cause: error });
      }
      throw error;
    }
  }
}
