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
  | { event: 'delivered' | 'expired'; id: string; subject: string; attempts: number; status?: string; error?: string };

/** Appends audit entries to a JSON-lines file. */
export class AuditLog {
  constructor(readonly path: string) {
    mkdirSync(dirname(path), { recursive: true });
  }

  /** Appends entries, one line each, in one write. */
  append(entries: AuditEntry[]): void {
    if (entries.length === 0) return;
    const time = new Date().toISOString();
    // A synchronous append: the line is on disk before the message can be delivered.
    appendFileSync(this.path, entries.map((e) => JSON.stringify({ time, ...e })).join('\n') + '\n');
  }
}
