/**
 * The connection to the NATS broker, and the local nats-server a node starts
 * when it is given no broker and none runs on 127.0.0.1:4222.
 */
import { connect, type NatsConnection, type NodeConnectionOptions } from '@nats-io/transport-node';
import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, chmodSync, constants, mkdirSync, openSync, closeSync, writeFileSync } from 'node:fs';
import { createConnection } from 'node:net';
import { delimiter, dirname, join } from 'node:path';
import { BrokerExitedError, BrokerNotInstalledError } from '../errors.js';
import type { Logger } from '../observability/logger.js';

/** The address used when no broker is configured. */
export const defaultBrokerHostPort = '127.0.0.1:4222';

/** Whether something accepts TCP connections at host:port (within `timeoutMs`). */
export function isListening(hostPort: string, timeoutMs = 1000): Promise<boolean> {
  const [host, portText] = splitHostPort(hostPort);
  return new Promise((resolve) => {
    const socket = createConnection({ host, port: Number(portText) });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

/** Finds an executable named `name` on PATH (and the usual sbin folders), or undefined. */
export function findExecutable(name: string): string | undefined {
  const dirs = [...(process.env.PATH ?? '').split(delimiter), '/usr/sbin', '/usr/local/sbin', '/usr/local/bin'];
  for (const dir of dirs) {
    if (!dir) continue;
    const candidate = join(dir, name);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}

/** Turns `host:port`, `nats://host:port` or `port` into a NATS server URL. */
export function toServerUrl(address: string): string {
  const a = address.trim();
  if (/^(nats|tls|ws|wss):\/\//.test(a)) return a;
  if (/^\d+$/.test(a)) return `nats://127.0.0.1:${a}`;
  return `nats://${a.startsWith(':') ? '127.0.0.1' + a : a}`;
}

function splitHostPort(hostPort: string): [string, string] {
  const i = hostPort.lastIndexOf(':');
  return [hostPort.slice(0, i) || '127.0.0.1', hostPort.slice(i + 1)];
}

/**
 * A nats-server child process on 127.0.0.1:4222, run by this node. Its log
 * goes to `logFile`. `onExit` is called when it exits unexpectedly, so the
 * supervisor can restart it.
 */
export class EmbeddedBroker {
  private child?: ChildProcess;
  private stopping = false;

  /**
   * `configText`: the nats-server configuration, written next to the log
   * file (mode 0600: it holds the broker's password) and passed with `-c`.
   * @defaultValue none: `-a 127.0.0.1 -p 4222`, no authentication
   */
  constructor(
    private readonly logFile: string,
    private readonly log: Logger,
    private readonly configText?: string,
  ) {}

  /**
   * Starts nats-server and waits until it accepts connections.
   *
   * @throws {@link BrokerNotInstalledError} when nats-server is not installed.
   */
  async start(onExit: (err: Error) => void): Promise<void> {
    const bin = findExecutable('nats-server');
    if (!bin) throw new BrokerNotInstalledError();
    mkdirSync(dirname(this.logFile), { recursive: true });
    const fd = openSync(this.logFile, 'a');
    const [host, port] = splitHostPort(defaultBrokerHostPort);
    let args = ['-a', host, '-p', port];
    if (this.configText !== undefined) {
      const conf = join(dirname(this.logFile), 'nats-server.conf');
      writeFileSync(conf, this.configText, { mode: 0o600 });
      chmodSync(conf, 0o600);
      args = ['-c', conf];
    }
    const child = spawn(bin, args, { stdio: ['ignore', fd, fd] });
    closeSync(fd);
    this.child = child;
    child.once('exit', (code, signal) => {
      if (this.stopping) return;
      onExit(new BrokerExitedError(`local nats-server exited (code ${code}, signal ${signal}); see ${this.logFile}`));
    });
    child.once('error', (err) => onExit(new BrokerExitedError(`local nats-server failed: ${err.message}`, { cause: err })));
    const deadline = Date.now() + 10_000;
    while (!(await isListening(defaultBrokerHostPort, 500))) {
      if (child.exitCode !== null || Date.now() > deadline)
        throw new BrokerExitedError(`local nats-server did not start; see ${this.logFile}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    this.log.info(`started local nats-server on ${defaultBrokerHostPort}`, { pid: child.pid, logFile: this.logFile });
  }

  /** Stops the server. */
  async stop(): Promise<void> {
    this.stopping = true;
    const child = this.child;
    if (!child || child.exitCode !== null) return;
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(timer);
  }
}

/**
 * The node's NATS connection. It reconnects forever; `ready()` resolves with
 * the connection once it is up (immediately afterwards, even while it is
 * reconnecting: publishes are buffered by the client meanwhile).
 */
export class BrokerConnection {
  private nc?: NatsConnection;
  private readonly readyPromise: Promise<NatsConnection>;
  private resolveReady!: (nc: NatsConnection) => void;
  private closed = false;
  /** Whether the connection is up now (for metrics and status). */
  connected = false;

  constructor(
    readonly servers: string[],
    private readonly name: string,
    private readonly log: Logger,
    /** Authentication and TLS options (see security/brokerAuth.ts). They hold secrets: never log them. */
    private readonly auth: Partial<NodeConnectionOptions> = {},
    /** Removes secrets from error texts before they are logged. */
    private readonly redact: (text: string) => string = (t) => t,
  ) {
    this.readyPromise = new Promise((r) => (this.resolveReady = r));
  }

  /** Connects in the background, retrying until the broker answers. */
  start(): void {
    void this.connectLoop();
  }

  /** The connection, once it is up. */
  ready(): Promise<NatsConnection> {
    return this.readyPromise;
  }

  /** The connection if it was established, else undefined. */
  current(): NatsConnection | undefined {
    return this.nc;
  }

  private async connectLoop(): Promise<void> {
    let warned = 0;
    while (!this.closed) {
      try {
        const nc = await connect({
          ...this.auth,
          servers: this.servers,
          name: this.name,
          maxReconnectAttempts: -1,
          reconnectTimeWait: 500,
          pingInterval: 10_000,
          maxPingOut: 3,
        });
        if (this.closed) {
          await nc.close();
          return;
        }
        this.nc = nc;
        this.connected = true;
        this.log.info(`connected to broker ${nc.getServer()}`);
        void this.watchStatus(nc);
        this.resolveReady(nc);
        return;
      } catch (err) {
        const text = this.redact(String((err as Error).message));
        if (/authoriz|authenticat|permission/i.test(text) || /Authoriz|Authenticat/.test((err as Error).name ?? '')) {
          // Wrong credentials do not fix themselves, but an operator may fix the server: say it loudly, keep trying.
          if (Date.now() - warned > 10_000) {
            warned = Date.now();
            this.log.error(
              `broker at ${this.servers.join(', ')} refused this node's credentials (${text}); check the broker user/password, token, nkey or creds file; retrying`,
            );
          }
        } else if (Date.now() - warned > 10_000) {
          warned = Date.now();
          this.log.warn(`waiting for broker at ${this.servers.join(', ')}: ${text}`);
        }
        await new Promise((r) => setTimeout(r, 500));
      }
    }
  }

  private async watchStatus(nc: NatsConnection): Promise<void> {
    for await (const s of nc.status()) {
      if (s.type === 'disconnect') {
        this.connected = false;
        this.log.warn('disconnected from broker; reconnecting', { server: s.server });
      } else if (s.type === 'reconnect') {
        this.connected = true;
        this.log.info(`reconnected to broker ${s.server}`);
      } else if (s.type === 'error') {
        this.log.warn(`broker connection error: ${this.redact(String(s.error))}`);
      }
    }
  }

  /** Flushes and closes the connection. */
  async close(): Promise<void> {
    this.closed = true;
    const nc = this.nc;
    if (!nc) return;
    try {
      await nc.drain();
    } catch {
      await nc.close().catch(() => undefined);
    }
  }
}
