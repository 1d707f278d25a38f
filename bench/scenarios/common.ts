/**
 * Helpers the scenarios share: submitting numbered messages from an
 * in-process sender node and waiting until they are delivered.
 */
import type { MessageSpec } from '@steward/core';
import type { StewardNode } from '@steward/node';
import { numberedText, type Fleet } from '../lib/fleet.js';
import type { FleetStats } from '../lib/host.js';
import { PUBLISH_WINDOW, type JetStreamRunResult } from '../lib/jetstream.js';
import { reached, type PeerFigure } from '../lib/scenario.js';

/** Bytes of the wire message `spec` becomes (what travels on NATS). */
export function wireSize(
  node: StewardNode,
  spec: Omit<MessageSpec, 'commandOrEvent'> & { commandOrEvent?: MessageSpec['commandOrEvent'] },
): number {
  const full = { commandOrEvent: 'EventACK' as const, ...spec };
  return Buffer.byteLength(JSON.stringify(node.services!.toWire(full)));
}

/** What {@link sendNumbered} measured. */
export interface SendRun {
  submitted: number;
  delivered: number;
  expired: number;
  /** Date.now() at the submit call, to compare with times from other processes. */
  wallStart: number;
  /** From the submit call to the last delivery. */
  ms: number;
  /** Of which the submit call (journal commit of the outbox rows). */
  submitMs: number;
  perSecond: number;
  complete: boolean;
  /** Journal transactions the sender committed meanwhile, and the milliseconds they blocked its event loop. */
  senderCommits: number;
  senderCommitMs: number;
}

/** Next number per subject, so receivers can check order across runs. */
const counters = new Map<string, number>();

/**
 * Submits `total` numbered EventACK messages from `node`, spread round-robin
 * over `subjects` (`<toNode>.EventACK.<method>`), and waits (at most
 * `timeoutMs`) until each is delivered or expired.
 */
export async function sendNumbered(
  fleet: Fleet,
  node: StewardNode,
  subjects: string[],
  total: number,
  timeoutMs: number,
  bytes = 64,
): Promise<SendRun> {
  const specs: MessageSpec[] = [];
  for (let i = 0; i < total; i++) {
    const subject = subjects[i % subjects.length]!;
    const [toNode, , method] = subject.split('.') as [string, string, string];
    const index = counters.get(subject) ?? 0;
    counters.set(subject, index + 1);
    specs.push({ toNode, method, commandOrEvent: 'EventACK', data: [numberedText(index, bytes)], retries: -1, timeout: 10 });
  }
  const t = fleet.tracker;
  t.reset();
  const j0 = fleet.journalTotals();
  const wallStart = Date.now();
  const t0 = performance.now();
  await node.services!.submit(specs.map((spec) => ({ spec })));
  const submitMs = performance.now() - t0;
  const complete = await t.until(() => t.delivered + t.expired >= total, timeoutMs);
  const ms = performance.now() - t0;
  const j1 = fleet.journalTotals();
  return {
    senderCommits: j1.journalCommits - j0.journalCommits,
    senderCommitMs: j1.journalCommitMs - j0.journalCommitMs,
    submitted: total,
    delivered: t.delivered,
    expired: t.expired,
    wallStart,
    ms,
    submitMs,
    perSecond: (t.delivered / ms) * 1000,
    complete,
  };
}

/** What {@link waitExecuted} measured on the receiving side. */
export interface ExecutedRun {
  executed: number;
  /** From the submit call to the last execution that replied. */
  ms: number;
  perSecond: number;
  complete: boolean;
  stats: FleetStats;
}

/**
 * Waits (at most `timeoutMs`) until the receivers ran `total` messages since
 * their last reset: an EventACK is ACKed on durable receipt, so the
 * executions (the file appends) can trail the ACKs.
 */
export async function waitExecuted(
  receivers: { stats(): Promise<FleetStats> },
  total: number,
  wallStart: number,
  timeoutMs: number,
): Promise<ExecutedRun> {
  let stats = await receivers.stats();
  await reached(async () => (stats = await receivers.stats()).repliedTotal >= total, timeoutMs);
  const ms = stats.repliedTotal >= total ? stats.lastRepliedAt - wallStart : Date.now() - wallStart;
  return { executed: stats.repliedTotal, ms, perSecond: (stats.repliedTotal / ms) * 1000, complete: stats.repliedTotal >= total, stats };
}

/** Non-empty notes joined with "; ", or undefined. */
export function joinNotes(...notes: string[]): string | undefined {
  return notes.filter(Boolean).join('; ') || undefined;
}

/** A note when the baseline (or `what`) measured before and after differ by more than 1.5×: the box was noisy. */
export function noiseNote(before: number, after: number, what = 'baseline'): string {
  const r = Math.max(before, after) / Math.max(1e-9, Math.min(before, after));
  return r > 1.5 ? `noisy box: ${what} ${Math.round(before)} before, ${Math.round(after)} after (mean used)` : '';
}

/**
 * The publish, consume+ack and end-to-end figures of JetStream runs (keys
 * `<key>.publish`, `<key>.consume`, `<key>.endToEnd`), each the mean of the
 * runs (before and after steward), noted when they differ by more than 1.5×,
 * when a message came out of order or when one was left unacked.
 */
export function jetStreamPeers(scenario: string, key: string, subjects: string, runs: JetStreamRunResult[]): PeerFigure[] {
  const mean = (f: (r: JetStreamRunResult) => number) => runs.reduce((sum, r) => sum + f(r), 0) / runs.length;
  const noise = (f: (r: JetStreamRunResult) => number) => (runs.length === 2 ? noiseNote(f(runs[0]!), f(runs[1]!), 'JetStream') : '');
  const violations = runs.reduce((sum, r) => sum + r.orderViolations, 0);
  const redelivered = runs.reduce((sum, r) => sum + r.redelivered, 0);
  const check = [
    violations ? `${violations} out of order` : '',
    redelivered ? `${redelivered} redelivered` : '',
    runs.every((r) => r.allAcked) ? '' : 'some messages left unacked',
  ];
  const first = runs[0]!;
  const consumers = first.consumers === 1 ? '1 consumer' : `${first.consumers} consumers`;
  return [
    {
      key: `${key}.publish`,
      scenario,
      figure: `acked publish msgs/s, ${subjects}, ${PUBLISH_WINDOW} in flight`,
      value: mean((r) => r.publishPerSecond),
      unit: 'msg/s',
      label: `JetStream acked publish, ${subjects}`,
      note: joinNotes(
        `${first.messages.toLocaleString('en-US')} msgs`,
        noise((r) => r.publishPerSecond),
      ),
    },
    {
      key: `${key}.consume`,
      scenario,
      figure: `pull consume + explicit ack msgs/s, ${subjects}`,
      value: mean((r) => r.consumePerSecond),
      unit: 'msg/s',
      label: `JetStream consume+ack, ${subjects}`,
      note: joinNotes(
        consumers,
        ...check,
        noise((r) => r.consumePerSecond),
      ),
    },
    {
      key: `${key}.endToEnd`,
      scenario,
      figure: `end to end msgs/s, ${subjects} (publish start → last ack)`,
      value: mean((r) => r.endToEndPerSecond),
      unit: 'msg/s',
      label: 'JetStream end to end',
      note: joinNotes(
        ...check,
        noise((r) => r.endToEndPerSecond),
      ),
    },
  ];
}
