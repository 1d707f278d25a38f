/**
 * The fleet simulator: many steward node runtimes in one process, each with
 * its own folder, journal and broker connection, as separate machines would
 * have. Nodes run without the Prometheus endpoint and SayHello, with a silent
 * logger, so the figures are the runtime's, not the terminal's.
 *
 * A {@link FleetTracker} listens to every node's event stream and counts
 * deliveries (sending side) and executions (receiving side), and checks that
 * numbered TextLogging messages run in order per sender and subject.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import winston from 'winston';
import { defaultConfig, StewardNode, type DeliveryEvent, type ExecutionEvent, type NodeConfig } from '@steward/node';

/** Options of {@link Fleet.start}. */
export interface FleetOptions {
  /** Node names, one runtime each. */
  names: string[];
  /** `host:port` of the broker. */
  brokerHostPort: string;
  /** Folder under which each node gets `<root>/<name>`. */
  root: string;
  /** Changes to each node's configuration (after the bench defaults). */
  config?: Partial<NodeConfig>;
  /** Nodes started at once. @defaultValue 16 */
  startConcurrency?: number;
}

/** A logger that writes nothing (winston still formats nothing when silent). */
export function silentLogger(): winston.Logger {
  return winston.createLogger({ silent: true, transports: [new winston.transports.Console({ silent: true })] });
}

/** The configuration the bench gives every node. */
export function benchConfig(name: string, folder: string, brokerHostPort: string, extra: Partial<NodeConfig> = {}): NodeConfig {
  return {
    ...defaultConfig(name, folder),
    brokerAddresses: [brokerHostPort],
    promHostAndPort: 'off',
    sayHelloInterval: 0,
    // Operator-facing listeners, like the Prometheus endpoint: off in the simulator.
    ...({ socketPath: 'off', inspect: '' } as Partial<NodeConfig>),
    embeddedBroker: false,
    // Compared with plain NATS, which checks nothing: messages are signed, but not checked (as before the secure default).
    enableSignatureCheck: false,
    enableAclCheck: false,
    // Nobody runs "central" in the bench: failures stay local instead of queuing ErrorLogs.
    centralNodeName: 'bench-no-central',
    // BENCH_JOURNAL_SYNC=normal measures the runtime without an fsync per commit.
    ...(process.env.BENCH_JOURNAL_SYNC === 'normal' ? { journalSync: 'normal' as const } : {}),
    ...extra,
  };
}

/** Counts what a set of nodes does; see module doc. */
export class FleetTracker {
  delivered = 0;
  expired = 0;
  /** Executions that finished and replied (receiving side), by method. */
  replied = new Map<string, number>();
  repliedTotal = 0;
  duplicates = 0;
  failures = 0;
  /** Failures by kind, with the text of the first of each (to tell what the failures were). */
  failureKinds: Record<string, { count: number; first: string }> = {};
  firstDeliveredAt = 0;
  lastDeliveredAt = 0;
  firstRepliedAt = 0;
  lastRepliedAt = 0;
  /** Numbered messages that ran out of order (see {@link numberedText}). */
  orderViolations = 0;
  private readonly lastIndex = new Map<string, number>();
  private readonly waiters: (() => void)[] = [];
  /** Called with every finished delivery (sending side). */
  onDelivered?: (e: DeliveryEvent) => void;

  /** Starts counting the events of `node`. */
  watch(node: StewardNode): void {
    const events = node.services!.events;
    events.on('delivery', (e) => {
      if (e.state === 'delivered') this.onFinished(e, true);
      else if (e.state === 'expired') this.onFinished(e, false);
    });
    events.on('execution', (e) => this.onExecution(e));
    events.on('failure', (f) => {
      this.failures++;
      const why = f.error instanceof Error ? `: ${f.error.message}` : '';
      const k = (this.failureKinds[f.kind] ??= { count: 0, first: f.text + why });
      k.count++;
    });
  }

  /** Forgets the counts (not the order state). */
  reset(): void {
    this.delivered = this.expired = this.repliedTotal = this.duplicates = this.failures = 0;
    this.firstDeliveredAt = this.lastDeliveredAt = this.firstRepliedAt = this.lastRepliedAt = 0;
    this.replied.clear();
    this.failureKinds = {};
    this.orderViolations = 0;
  }

  /** Resolves once `done()` holds, checked after every event; rejects after `timeoutMs`. */
  until(done: () => boolean, timeoutMs: number): Promise<boolean> {
    if (done()) return Promise.resolve(true);
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        const i = this.waiters.indexOf(check);
        if (i >= 0) this.waiters.splice(i, 1);
        resolve(false);
      }, timeoutMs);
      const check = () => {
        if (!done()) return;
        clearTimeout(timer);
        this.waiters.splice(this.waiters.indexOf(check), 1);
        resolve(true);
      };
      this.waiters.push(check);
    });
  }

  private onFinished(e: DeliveryEvent, ok: boolean): void {
    const now = Date.now();
    if (ok) {
      this.delivered++;
      this.firstDeliveredAt ||= now;
      this.lastDeliveredAt = now;
    } else this.expired++;
    this.onDelivered?.(e);
    this.notify();
  }

  private onExecution(e: ExecutionEvent): void {
    if (e.state === 'duplicate') {
      this.duplicates++;
      return;
    }
    // 'replied' comes twice: from the subscriber with the result, and from the actor's final state without it.
    if (e.state !== 'replied' || !e.result) return;
    const now = Date.now();
    this.repliedTotal++;
    this.firstRepliedAt ||= now;
    this.lastRepliedAt = now;
    this.replied.set(e.message.method, (this.replied.get(e.message.method) ?? 0) + 1);
    const index = numberOf(e.message.data);
    if (index !== undefined) {
      const key = `${e.message.fromNode} ${e.subject}`;
      const last = this.lastIndex.get(key) ?? -1;
      if (index !== last + 1) this.orderViolations++;
      this.lastIndex.set(key, index);
    }
    this.notify();
  }

  private notify(): void {
    for (const w of [...this.waiters]) w();
  }
}

/** The text of the `index`th numbered message: `#<index> ` and padding up to `bytes`. */
export function numberedText(index: number, bytes = 64): string {
  const head = `#${index} `;
  return head + 'x'.repeat(Math.max(0, bytes - head.length - 1)) + '\n';
}

function numberOf(data: string[]): number | undefined {
  const first = data[0];
  if (!first?.startsWith('#')) return undefined;
  const n = Number.parseInt(first.slice(1), 10);
  return Number.isFinite(n) ? n : undefined;
}

/** Many node runtimes in this process; see module doc. */
export class Fleet {
  readonly nodes = new Map<string, StewardNode>();
  readonly tracker = new FleetTracker();
  /** Milliseconds the whole fleet took to start. */
  startMs = 0;

  private constructor(private readonly opts: FleetOptions) {}

  /** Starts every node (a few at a time) and resolves once all receive messages. */
  static async start(opts: FleetOptions): Promise<Fleet> {
    const fleet = new Fleet(opts);
    const t0 = performance.now();
    const queue = [...opts.names];
    const worker = async () => {
      for (let name = queue.shift(); name !== undefined; name = queue.shift()) await fleet.startNode(name);
    };
    await Promise.all(Array.from({ length: Math.min(opts.startConcurrency ?? 16, queue.length) }, worker));
    fleet.startMs = performance.now() - t0;
    return fleet;
  }

  private async startNode(name: string): Promise<void> {
    const folder = join(this.opts.root, name);
    mkdirSync(folder, { recursive: true });
    const node = new StewardNode(benchConfig(name, folder, this.opts.brokerHostPort, this.opts.config), { logger: silentLogger() });
    this.nodes.set(name, node);
    await node.start();
    this.tracker.watch(node);
  }

  /** The node named `name`. */
  node(name: string): StewardNode {
    const n = this.nodes.get(name);
    if (!n) throw new Error(`no node ${name} in this fleet`);
    return n;
  }

  /** Journal commits and milliseconds spent committing, and WAL syncs and their milliseconds, summed over the nodes. */
  journalTotals(): { journalCommits: number; journalCommitMs: number; journalSyncs: number; journalSyncMs: number } {
    let journalCommits = 0;
    let journalCommitMs = 0;
    let journalSyncs = 0;
    let journalSyncMs = 0;
    for (const n of this.nodes.values()) {
      journalCommits += n.services?.journal.commits ?? 0;
      journalCommitMs += n.services?.journal.commitMs ?? 0;
      journalSyncs += n.services?.journal.syncs ?? 0;
      journalSyncMs += n.services?.journal.syncMs ?? 0;
    }
    return { journalCommits, journalCommitMs, journalSyncs, journalSyncMs };
  }

  /** Stops every node. */
  async stop(): Promise<void> {
    await Promise.all([...this.nodes.values()].map((n) => n.stop().catch(() => undefined)));
    this.nodes.clear();
  }
}
