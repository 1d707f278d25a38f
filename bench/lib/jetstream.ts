/**
 * The JetStream peers: what a user would pick instead of steward for durable,
 * ordered delivery (issue 15). A nats-server of its own with `-js` on a temp
 * store, file-backed streams, the `@nats-io/jetstream` client:
 *
 * - {@link jetStreamRun}: acked publish with a window in flight, then pull
 *   consumers with explicit acks; publish rate, consume+ack rate and end to end
 *   (publish start → last ack confirmed). One subject, or many subjects spread
 *   over several consumers.
 * - {@link jetStreamStopAndWait}: publish one, await its ack, the next.
 *
 * Every run gets a stream of its own, created before and deleted after the
 * timed part, so each starts from an empty store.
 */
import { connect, type NatsConnection } from '@nats-io/transport-node';
import {
  AckPolicy,
  DeliverPolicy,
  jetstream,
  jetstreamManager,
  StorageType,
  type JetStreamClient,
  type JetStreamManager,
} from '@nats-io/jetstream';
import { startNatsServer, type NatsServerHandle } from '../../test/helpers/natsServer.js';

/**
 * Keys of the JetStream peer figures (see `PeerFigure`): the ordered scenario
 * measures `js.1.*` and `js.saw`, throughput `js.100.*`; rows of other
 * scenarios refer to them.
 */
export const PeerKey = {
  /** Prefix of the one-subject figures `.publish`, `.consume`, `.endToEnd`. */
  OneSubject: 'js.1',
  OneSubjectConsume: 'js.1.consume',
  OneSubjectEndToEnd: 'js.1.endToEnd',
  StopAndWait: 'js.saw',
  /** Prefix of the 100-subject figures `.publish`, `.consume`, `.endToEnd`. */
  HundredSubjects: 'js.100',
  HundredSubjectsConsume: 'js.100.consume',
  HundredSubjectsEndToEnd: 'js.100.endToEnd',
  SharedStreamEndToEnd: 'js.100.shared.endToEnd',
} as const;

/** Messages the publisher keeps unacknowledged, as in issue 15's measurement. */
export const PUBLISH_WINDOW = 256;
/** Messages each pull consumer asks for at once. */
export const PULL_BATCH = 256;
/** How long any one JetStream call may take before the run counts it as failed. */
const CALL_TIMEOUT_MS = 30_000;

/** How a many-subject run lays out its streams. */
export const StreamLayout = {
  /** One stream for all subjects, a filtered consumer per receiving node. */
  Shared: 'shared',
  /** A stream per receiving node (its subjects only), an unfiltered consumer on each. */
  PerConsumer: 'per-consumer',
} as const;
/** How a many-subject run lays out its streams. */
export type StreamLayout = (typeof StreamLayout)[keyof typeof StreamLayout];

/** One pull consumer of a run: its filter (after the run's prefix) and the subjects it covers. */
export interface ConsumerSpec {
  /** A subject, or a pattern such as `node1.>`. */
  filter: string;
  subjects: string[];
}

/** What one acked-publish-then-consume run measured. */
export interface JetStreamRunResult {
  messages: number;
  subjects: number;
  consumers: number;
  /** Publish start → last publish ack. */
  publishMs: number;
  publishPerSecond: number;
  /** Last publish ack → last ack confirmed by the server (the consumers existed already). */
  consumeMs: number;
  consumePerSecond: number;
  /** Publish start → last ack confirmed: publishing, then consuming. */
  endToEndMs: number;
  endToEndPerSecond: number;
  /** Messages a consumer saw with a lower number than one before it on the same subject. */
  orderViolations: number;
  /** Redeliveries seen (none expected: nothing is slow enough to reach the ack wait). */
  redelivered: number;
  /** Whether every consumer's ack floor reached its last message after the run. */
  allAcked: boolean;
}

/** What a stop-and-wait publish run measured. */
export interface StopAndWaitResult {
  messages: number;
  ms: number;
  perSecond: number;
}

/** A message of `bytes` bytes that starts with its number (`#<n> `), like the steward scenarios' payloads. */
function numbered(index: number, bytes: number): Uint8Array {
  const head = `#${index} `;
  return new TextEncoder().encode(head + 'x'.repeat(Math.max(0, bytes - head.length)));
}

function numberOf(data: Uint8Array): number {
  let n = 0;
  // '#' then ASCII digits up to the space.
  for (let i = 1; i < data.length && data[i] !== 0x20; i++) n = n * 10 + (data[i]! - 0x30);
  return n;
}

/** A JetStream-enabled nats-server of the bench's own, with a publishing connection. */
export class JetStreamPeer {
  private runs = 0;

  private constructor(
    readonly server: NatsServerHandle,
    private readonly nc: NatsConnection,
    private readonly js: JetStreamClient,
    private readonly jsm: JetStreamManager,
  ) {}

  /** Starts `nats-server -js` with its store in `dir/store` (file storage) and connects. */
  static async start(dir: string): Promise<JetStreamPeer> {
    const server = await startNatsServer({ dir, args: ['-js'] });
    try {
      const nc = await connect({ servers: server.url });
      const jsm = await jetstreamManager(nc, { timeout: CALL_TIMEOUT_MS });
      return new JetStreamPeer(server, nc, jetstream(nc, { timeout: CALL_TIMEOUT_MS }), jsm);
    } catch (error) {
      await server.stop();
      throw error;
    }
  }

  /** The server's version (from its greeting). */
  get version(): string {
    return this.server.version;
  }

  /**
   * Publishes `total` numbered messages of `bytes` bytes round-robin over
   * `subjects` with {@link PUBLISH_WINDOW} unacknowledged at most, then drains
   * them with one durable pull consumer per entry of `consumers`, each on a
   * connection of its own and filtered to its `filter` (a subject or a
   * `<token>.>` pattern covering its `subjects`: one consumer per receiving
   * node), acking every message explicitly. The consumers exist before the
   * clock starts and consume only after the last publish ack; the run ends
   * when every consumer's last ack is confirmed by the server (`ackAck`).
   */
  async run(
    subjects: string[],
    consumers: ConsumerSpec[],
    total: number,
    bytes: number,
    layout: StreamLayout = StreamLayout.Shared,
  ): Promise<JetStreamRunResult> {
    const run = ++this.runs;
    // The streams' subjects are the run's own, so streams of earlier runs never overlap.
    const prefix = `js${run}`;
    const streamOf = (g: number) => (layout === StreamLayout.Shared ? `BENCH${run}` : `BENCH${run}_${g}`);
    const streams = layout === StreamLayout.Shared ? [streamOf(0)] : consumers.map((_, g) => streamOf(g));
    for (const [g, name] of streams.entries()) {
      const subject = layout === StreamLayout.Shared ? `${prefix}.>` : `${prefix}.${consumers[g]!.filter}`;
      await this.jsm.streams.add({ name, subjects: [subject], storage: StorageType.File, num_replicas: 1 });
    }
    const conns = await Promise.all(consumers.map(() => connect({ servers: this.server.url })));
    try {
      const perSubject = new Map<string, number>();
      for (let i = 0; i < total; i++) {
        const s = subjects[i % subjects.length]!;
        perSubject.set(s, (perSubject.get(s) ?? 0) + 1);
      }
      const expected = consumers.map((c) => c.subjects.reduce((sum, s) => sum + (perSubject.get(s) ?? 0), 0));
      const names = consumers.map((_, g) => `c${g}`);
      // nats-server 2.9 takes one filter per consumer, hence a pattern per receiving node.
      await Promise.all(
        consumers.map((c, g) =>
          this.jsm.consumers.add(streamOf(g), {
            durable_name: names[g]!,
            ack_policy: AckPolicy.Explicit,
            deliver_policy: DeliverPolicy.All,
            filter_subject: `${prefix}.${c.filter}`,
          }),
        ),
      );
      const handles = await Promise.all(
        consumers.map((_, g) => jetstream(conns[g]!, { timeout: CALL_TIMEOUT_MS }).consumers.get(streamOf(g), names[g]!)),
      );
      const payloads = Array.from({ length: total }, (_, i) => numbered(i, bytes));

      const t0 = performance.now();
      let next = 0;
      const publisher = async () => {
        // Each call writes to the socket at once, so the stream keeps the order of the calls.
        while (next < total) {
          const i = next++;
          await this.js.publish(`${prefix}.${subjects[i % subjects.length]!}`, payloads[i]!);
        }
      };
      await Promise.all(Array.from({ length: Math.min(PUBLISH_WINDOW, total) }, publisher));
      const t1 = performance.now();

      let orderViolations = 0;
      let redelivered = 0;
      const consumeOne = async (g: number) => {
        if (expected[g] === 0) return;
        const messages = await handles[g]!.consume({ max_messages: PULL_BATCH });
        const last = new Map<string, number>();
        let seen = 0;
        for await (const m of messages) {
          if (m.redelivered) {
            redelivered++;
            m.ack();
            continue;
          }
          const n = numberOf(m.data);
          const before = last.get(m.subject);
          if (before !== undefined && n < before) orderViolations++;
          last.set(m.subject, n);
          if (++seen < expected[g]!) m.ack();
          else {
            // Acks of one connection reach the server in order: the last one confirmed means all are.
            await m.ackAck({ timeout: CALL_TIMEOUT_MS });
            break;
          }
        }
        await messages.close();
      };
      await Promise.all(consumers.map((_, g) => consumeOne(g)));
      const t2 = performance.now();

      let allAcked = true;
      for (const [g, name] of names.entries()) {
        const info = await this.jsm.consumers.info(streamOf(g), name);
        if (info.num_ack_pending !== 0 || info.num_pending !== 0) allAcked = false;
      }
      const publishMs = t1 - t0;
      const consumeMs = t2 - t1;
      const endToEndMs = t2 - t0;
      return {
        messages: total,
        subjects: subjects.length,
        consumers: consumers.length,
        publishMs,
        publishPerSecond: (total / publishMs) * 1000,
        consumeMs,
        consumePerSecond: (total / consumeMs) * 1000,
        endToEndMs,
        endToEndPerSecond: (total / endToEndMs) * 1000,
        orderViolations,
        redelivered,
        allAcked,
      };
    } finally {
      await Promise.all(conns.map((nc) => nc.close().catch(() => undefined)));
      for (const name of streams) await this.jsm.streams.delete(name).catch(() => undefined);
    }
  }

  /** Publishes `total` messages of `bytes` bytes on one subject, each after the previous one's ack. */
  async stopAndWait(total: number, bytes: number): Promise<StopAndWaitResult> {
    const stream = `BENCH${++this.runs}`;
    const subject = `js${this.runs}.saw`;
    await this.jsm.streams.add({ name: stream, subjects: [subject], storage: StorageType.File, num_replicas: 1 });
    try {
      const payloads = Array.from({ length: total }, (_, i) => numbered(i, bytes));
      const t0 = performance.now();
      for (const p of payloads) await this.js.publish(subject, p);
      const ms = performance.now() - t0;
      return { messages: total, ms, perSecond: (total / ms) * 1000 };
    } finally {
      await this.jsm.streams.delete(stream).catch(() => undefined);
    }
  }

  /** Closes the connection and stops the server (its store goes with the scenario's folder). */
  async stop(): Promise<void> {
    await this.nc.close().catch(() => undefined);
    await this.server.stop();
  }
}
