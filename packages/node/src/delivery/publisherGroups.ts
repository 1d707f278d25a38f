/**
 * Publishers are spread over a fixed number of group supervisors under
 * `publishers` (`publishers/g00` … `publishers/g15`), by a hash of the
 * subject. XState copies a parent's list of children at every spawn and
 * stop, so one supervisor with thousands of publisher children (a fan-out
 * to thousands of nodes) would pay for it quadratically; sixteen groups
 * keep every list short.
 */

/** How many group supervisors hold the publishers. */
export const publisherGroupCount = 16;

/** The id of the group supervisor under `publishers` that holds the publisher of `subject`. */
export function publisherGroupOf(subject: string): string {
  // FNV-1a: stable across runs, so a subject's publisher is always in the same group.
  let h = 0x811c9dc5;
  for (let i = 0; i < subject.length; i++) {
    h ^= subject.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return `g${String((h >>> 0) % publisherGroupCount).padStart(2, '0')}`;
}

/** Ids of all group supervisors, in order. */
export function publisherGroupIds(): string[] {
  return Array.from({ length: publisherGroupCount }, (_, i) => `g${String(i).padStart(2, '0')}`);
}
