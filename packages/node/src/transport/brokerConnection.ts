/**
 * The connection to the NATS broker (one server, or a cluster given as a
 * list of addresses).
 */
import { connect, type NatsConnection, type NodeConnectionOptions } from '@nats-io/transport-node';
import type { Logger } from '../observability/logger.js';

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
