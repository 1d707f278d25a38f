/**
 * The order in which a subscriber runs what it received. Ordered methods run
 * one message after another per lane (a subject, or a subject and sender for
 * methods whose effects are the sender's own), a row of messages that may
 * run together (appends to one file) as one batch. NOSEQ methods run at
 * once, at most `noseqConcurrency` at a time.
 */
import type { WireMessage } from '@steward/core';

/** A received message waiting its turn. */
export interface LaneItem {
  m: WireMessage;
  subject: string;
  /** Progress stored before a crash (a resumed execution); such an item always runs alone. */
  progress: unknown;
}

/** Options of {@link Lanes}. @internal */
export interface LanesOptions {
  /** Whether the method is ordered (else NOSEQ: concurrent). */
  ordered: boolean;
  /** How many NOSEQ executions may run at once. */
  concurrency: () => number;
  /** The lane an ordered item waits in. */
  laneOf: (item: LaneItem) => string;
  /** What an item may be batched with (items of equal keys, in a row), or undefined when it runs alone. */
  batchKeyOf: (item: LaneItem) => string | undefined;
  /** Runs a group of items (one, or a batch) until each has replied. Never rejects. */
  run: (group: LaneItem[]) => Promise<void>;
  /** Whether the subscriber has stopped: lanes then stop draining. */
  stopped: () => boolean;
}

/** At most this many queued messages run as one batch. */
const maxBatch = 512;

/** @internal */
export class Lanes {
  /**
   * Ordered messages waiting their turn, per lane; a lane's key is in
   * `draining` while it runs.
   */
  private readonly lanes = new Map<string, LaneItem[]>();
  private readonly draining = new Set<string>();
  private running = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(private readonly opts: LanesOptions) {}

  /** Queues `item` for its turn. */
  enqueue(item: LaneItem): void {
    if (this.opts.ordered) {
      const key = this.opts.laneOf(item);
      let lane = this.lanes.get(key);
      if (!lane) this.lanes.set(key, (lane = []));
      lane.push(item);
      if (!this.draining.has(key)) void this.drain(key, lane);
    } else {
      void this.withSlot(() => this.opts.run([item]));
    }
  }

  /** Runs a lane's ordered messages one after another (a row of appends to one file as one batch). Never rejects. */
  private async drain(key: string, lane: LaneItem[]): Promise<void> {
    this.draining.add(key);
    try {
      while (lane.length > 0 && !this.opts.stopped()) await this.opts.run(this.takeBatch(lane));
    } finally {
      this.draining.delete(key);
      if (lane.length === 0 && this.lanes.get(key) === lane) this.lanes.delete(key);
    }
  }

  /** The head of `lane`, with the messages after it that may run in one batch with it. */
  private takeBatch(lane: LaneItem[]): LaneItem[] {
    const head = lane.shift()!;
    const key = this.opts.batchKeyOf(head);
    if (key === undefined) return [head];
    let n = 0;
    while (n < lane.length && n + 1 < maxBatch && this.opts.batchKeyOf(lane[n]!) === key) n++;
    return [head, ...lane.splice(0, n)];
  }

  private async withSlot(fn: () => Promise<void>): Promise<void> {
    if (this.running >= this.opts.concurrency()) await new Promise<void>((r) => this.waiting.push(r));
    this.running++;
    try {
      await fn();
    } finally {
      this.running--;
      this.waiting.shift()?.();
    }
  }
}
