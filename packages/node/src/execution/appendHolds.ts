/**
 * Appends to one file, from any subject or method, one after another: the
 * executions of a lane (or batch) hold the file their head appends to, in
 * the node's shared {@link KeyedLock} (`NodeServices.appendLocks`), until
 * their writes have ended.
 */
import type { MethodHandler } from '../methods/index.js';
import { appendTargetOf } from '../methods/fileAppend.js';
import type { NodeServices } from '../node/services.js';
import type { KeyedLock } from './keyedLock.js';
import type { LaneItem } from './lanes.js';

/** @internal */
export class AppendHolds {
  /** Writes of appends under way, by message id (see holding); settle, never reject. */
  private readonly writing = new Map<string, Promise<void>>();

  constructor(
    private readonly s: NodeServices,
    private readonly handlerFor: (m: LaneItem['m']) => MethodHandler,
  ) {}

  /** The append of message `id` writes until `settled` (which never rejects): its file stays taken until then. */
  writes(id: string, settled: Promise<void>): void {
    this.writing.set(id, settled);
  }

  /**
   * Runs `fn` (the executions of `items`, until they have replied) holding
   * the file the first item appends to, if any: appends to one file from
   * other subjects and methods wait (see MethodHandler.appendsTo). The file
   * is given up once their writes have ended too: an execution stopped by
   * methodTimeout or by the subscriber stopping replies at once, while its
   * write may still be under way.
   */
  async holding(items: readonly LaneItem[], fn: () => Promise<void>): Promise<void> {
    const head = items[0]!;
    const locks: KeyedLock = this.s.appendLocks;
    // An interrupted append reserved its file at start-up (see reserveInterruptedAppends).
    const reserved = head.progress !== undefined ? locks.claim(head.m.id) : undefined;
    const file = reserved
      ? undefined
      : appendTargetOf(this.handlerFor(head.m), { services: this.s, message: head.m, subject: head.subject });
    if (!reserved && file === undefined) return fn();
    const release = await (reserved ?? locks.acquire(file!));
    try {
      await fn();
      for (const { m } of items) await this.writing.get(m.id);
    } finally {
      for (const { m } of items) this.writing.delete(m.id);
      release();
    }
  }
}
