/**
 * Messages named by the operator: by a whole id, or by its first or last
 * {@link minIdPart} or more characters (the last 8 are the short id that
 * `watch`, `jobs` and the inspector show; see newMessageId).
 */
import type { Journal, OutboxRecord } from '@steward/core';

/** Shortest part of a message id (its first or last characters) that a request resolves. */
export const minIdPart = 6;

/**
 * The outbox message `given` names. `several`: the ids of the messages a part
 * of an id matches when it matches more than one (at most 5).
 */
export function outboxNamed(j: Journal, given: string): { rec?: OutboxRecord; several?: string[] } {
  const rec = j.getOutbox(given);
  if (rec || given.length < minIdPart) return rec ? { rec } : {};
  const found = j
    .findIdsByPart(given, 5)
    .map((id) => j.getOutbox(id))
    .filter((r): r is OutboxRecord => r !== undefined);
  if (found.length > 1) return { several: found.map((r) => r.id) };
  return found.length === 1 ? { rec: found[0] } : {};
}
