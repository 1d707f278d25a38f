/**
 * Sends journaled late. A message's delivery state changes to `sending` and
 * `awaitingAck` at every attempt, and most are ACKed within milliseconds:
 * journaling each of those states costs a row write per message for a state
 * that is gone before anyone could read it. So a publisher hands them here
 * instead, and only those still unanswered at the next tick (at most
 * {@link inFlightRecordMs} later) are written; the end of a delivery, a
 * retry wait and a withdrawal are journaled at once, as before.
 *
 * What a crash loses is only how far an attempt got: a message sent less
 * than a second before the crash is `queued` in the journal (its attempts
 * one lower), so the next start sends it again, as it would have anyway, and
 * the receiver answers the copy from its inbox. `steward status` shows such a
 * message `queued` for up to a second after its send.
 */
import type { OutboxPatch } from '@steward/core';

/** How long a send may stay unjournaled. */
export const inFlightRecordMs = 1000;

/** @internal */
export class InFlightRecords {
  private readonly pending = new Map<string, OutboxPatch>();
  private timer?: NodeJS.Timeout;

  constructor(private readonly write: (id: string, patch: OutboxPatch) => void) {}

  /** Delivery `id` is in flight, as `patch` says: journaled at the next tick unless it ends or changes first. */
  note(id: string, patch: OutboxPatch): void {
    this.pending.set(id, patch);
    if (!this.timer) {
      this.timer = setTimeout(() => this.flush(), inFlightRecordMs);
      this.timer.unref();
    }
  }

  /** Delivery `id` is journaled otherwise now (ended, waiting to retry, withdrawn): its send is not written. */
  forget(id: string): void {
    this.pending.delete(id);
  }

  /** Drops what is pending (the publisher stopped: the journal keeps the last written state). */
  clear(): void {
    this.pending.clear();
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  private flush(): void {
    this.timer = undefined;
    const due = [...this.pending];
    this.pending.clear();
    for (const [id, patch] of due) this.write(id, patch);
  }
}
