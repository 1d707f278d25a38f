/**
 * The baseline: plain nats.js request/reply, with no journal, no actors and no
 * retries. Responders answer at once (`ack`) or after running `true`
 * (`spawn`); requesters keep a fixed number of requests in flight.
 */
import { execFile } from 'node:child_process';
import { connect, type NatsConnection } from '@nats-io/transport-node';

/** How a plain responder answers. */
export const ResponderMode = {
  /** Reply with a fixed ACK-sized payload straight away. */
  Ack: 'ack',
  /** Run `true` (execFile, output captured), then reply. */
  Spawn: 'spawn',
  /** Reply with the request's own payload. */
  Echo: 'echo',
} as const;
/** How a plain responder answers. */
export type ResponderMode = (typeof ResponderMode)[keyof typeof ResponderMode];

/** Runs `true` the plain way; resolves when it exited and its output is read. */
export function spawnTrue(): Promise<void> {
  return new Promise((resolve, reject) => execFile('true', (err) => (err ? reject(new Error('true failed', { cause: err })) : resolve())));
}

/** A payload of `bytes` bytes. */
export function payloadOf(bytes: number): Uint8Array {
  return new TextEncoder().encode('p'.repeat(bytes));
}

/** Plain responders: one connection per group of subjects, as separate machines would have. */
export class PlainResponders {
  private readonly conns: NatsConnection[] = [];

  /** Subscribes each group of subjects on a connection of its own. */
  static async start(url: string, groups: string[][], mode: ResponderMode, replyBytes: number): Promise<PlainResponders> {
    const r = new PlainResponders();
    const reply = payloadOf(replyBytes);
    const open = async (subjects: string[]) => {
      const nc = await connect({ servers: url });
      r.conns.push(nc);
      for (const subject of subjects) {
        nc.subscribe(subject, {
          callback: (err, msg) => {
            if (err) return;
            if (mode === ResponderMode.Ack) msg.respond(reply);
            else if (mode === ResponderMode.Echo) msg.respond(msg.data);
            else
              spawnTrue().then(
                () => msg.respond(reply),
                () => msg.respond(reply),
              );
          },
        });
      }
      await nc.flush();
    };
    const queue = [...groups];
    const worker = async () => {
      for (let g = queue.shift(); g; g = queue.shift()) await open(g);
    };
    await Promise.all(Array.from({ length: Math.min(16, groups.length) }, worker));
    return r;
  }

  /** Closes every connection. */
  async stop(): Promise<void> {
    await Promise.all(this.conns.map((nc) => nc.close().catch(() => undefined)));
    this.conns.length = 0;
  }
}

/** What a request run measured. */
export interface RequestRunResult {
  count: number;
  ms: number;
  perSecond: number;
  errors: number;
}

/**
 * Sends `total` requests with `concurrency` in flight: worker i sends on
 * `subjects[i % subjects.length]`, one request after another (stop-and-wait per
 * worker), as an ordered steward subject does.
 */
export async function requestLoop(
  nc: NatsConnection,
  subjects: string[],
  total: number,
  concurrency: number,
  payload: Uint8Array,
  timeoutMs = 10_000,
): Promise<RequestRunResult> {
  let started = 0;
  let errors = 0;
  const t0 = performance.now();
  const worker = async (i: number) => {
    const subject = subjects[i % subjects.length]!;
    while (started < total) {
      started++;
      try {
        await nc.request(subject, payload, { timeout: timeoutMs });
      } catch {
        errors++;
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, (_, i) => worker(i)));
  const ms = performance.now() - t0;
  return { count: total, ms, perSecond: (total / ms) * 1000, errors };
}

/** Sends one request on every subject at once and resolves when every reply is in. */
export async function burst(nc: NatsConnection, subjects: string[], payload: Uint8Array, timeoutMs = 30_000): Promise<RequestRunResult> {
  let errors = 0;
  const t0 = performance.now();
  await Promise.all(subjects.map((s) => nc.request(s, payload, { timeout: timeoutMs }).catch(() => errors++)));
  const ms = performance.now() - t0;
  return { count: subjects.length, ms, perSecond: (subjects.length / ms) * 1000, errors };
}
