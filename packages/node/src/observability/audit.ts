/**
 * The audit log: one JSON line for every message this node accepts to send
 * (with the whole wire message, enough to recreate it) and for how each
 * delivery ended. Append-only; never read by the node itself.
 */
import { appendFileSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import type { WireMessage } from '@steward/core';

/** One line of the audit log. */
export type AuditEntry =
  | { event: 'accepted'; message: WireMessage; subject: string; source?: string }
  | { event: 'delivered' | 'expired' | 'cancelled'; id: string; subject: string; attempts: number; status?: string; error?: string };

/** Appends audit entries to a JSON-lines file. */
export class AuditLog {
  /** Outcome lines waiting for the end of this event-loop turn (see {@link AuditLog.appendSoon}). */
  private pending: string[] = [];
  private flushScheduled = false;

  constructor(readonly path: string) {
    mkdirSync(dirname(path), { recursive: true });
  }

  /** Appends entries, one line each, in one write, now (after any lines waiting from {@link AuditLog.appendSoon}). */
  append(entries: AuditEntry[]): void {
    if (entries.length === 0) return;
    const time = new Date().toISOString();
    // A synchronous append: the line is on disk before the message can be delivered.
    this.write([...this.pending.splice(0), ...entries.map((e) => JSON.stringify({ time, ...e }))]);
  }

  /**
   * Appends entries at the end of this event-loop turn, together with the
   * others of the turn, in one write: for delivery outcomes, of which a busy
   * node has thousands per second. Lines keep their order.
   */
  appendSoon(entries: AuditEntry[]): void {
    if (entries.length === 0) return;
    const time = new Date().toISOString();
    for (const e of entries) this.pending.push(JSON.stringify({ time, ...e }));
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      setImmediate(() => this.flush());
    }
  }

  /** Writes the lines waiting from {@link AuditLog.appendSoon}. */
  flush(): void {
    this.flushScheduled = false;
    this.write(this.pending.splice(0));
  }

  private write(lines: string[]): void {
    if (lines.length > 0) appendFileSync(this.path, lines.join('\n') + '\n');
  }
}
