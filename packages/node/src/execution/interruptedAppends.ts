/**
 * Appends a crash cut: an append journaled `running` with its recorded size
 * is resumed by cutting its file back to that size and writing again. Until
 * then no other append may land on that file, so these take their files
 * first (see `KeyedLock.reserve`).
 */
import { InboxState, type InboxRecord } from '@steward/core';
import { appendTargetOf } from '../methods/fileAppend.js';
import { methodHandlers } from '../methods/index.js';
import type { NodeServices } from '../node/services.js';

/** The interrupted appends among `records` that will be resumed (not reported interrupted), with their files. */
export function resumedAppends(
  s: NodeServices,
  records: readonly InboxRecord[],
  methods: readonly string[],
): { id: string; file: string }[] {
  const found: { id: string; file: string }[] = [];
  for (const rec of records) {
    const m = rec.message;
    if (rec.state !== InboxState.Running || rec.progress === undefined || m.schedule || !methods.includes(m.method)) continue;
    const handler = methodHandlers.get(m.method);
    // As Subscriber.recover() decides: a non-idempotent run is reported, not resumed.
    if (!handler || (!handler.idempotent && !m.rerunInterrupted)) continue;
    const file = appendTargetOf(handler, { services: s, message: m, subject: rec.subject });
    if (file !== undefined) found.push({ id: rec.id, file });
  }
  return found;
}

/**
 * At start-up, before any subscriber runs: every append that a crash cut
 * (`running`, with its recorded size) takes its file first, in journal
 * order, so no new append lands after the recorded size before the resumed
 * run cuts the file back to it. Only for `methods` this node subscribes to:
 * their subscribers claim the places when they resume them.
 */
export function reserveInterruptedAppends(s: NodeServices, methods: readonly string[]): void {
  for (const { id, file } of resumedAppends(s, s.journal.openInbox(), methods)) s.appendLocks.reserve(file, id);
}
