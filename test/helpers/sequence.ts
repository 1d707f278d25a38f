/**
 * Checks of numbered sequences: the end-to-end tests stream numbered messages and
 * compare what arrived with what was sent, counting lost, duplicated and
 * out-of-order numbers.
 */
import assert from 'node:assert/strict';

/** What is wrong with a file of numbered lines compared to the numbers expected, in that order. */
export interface SequenceReport {
  /** Expected numbers that are not in the file. */
  lost: number[];
  /** Numbers found more than once (listed once per extra copy). */
  duplicated: number[];
  /** Numbers whose first copy comes after a number that should follow it. */
  outOfOrder: number[];
  /** Lines that are not one of the expected numbers. */
  unexpected: string[];
}

/** Compares the lines of a file (one number per line) with the numbers expected, in the order expected. */
export function sequenceReport(lines: string[], expected: number[]): SequenceReport {
  const position = new Map(expected.map((n, i) => [n, i]));
  const seen = new Set<number>();
  const report: SequenceReport = { lost: [], duplicated: [], outOfOrder: [], unexpected: [] };
  let furthest = -1;
  for (const line of lines) {
    const n = /^\d+$/.test(line.trim()) ? Number(line.trim()) : NaN;
    const at = position.get(n);
    if (at === undefined) {
      report.unexpected.push(line);
      continue;
    }
    if (seen.has(n)) {
      report.duplicated.push(n);
      continue;
    }
    seen.add(n);
    if (at < furthest) report.outOfOrder.push(n);
    furthest = Math.max(furthest, at);
  }
  report.lost = expected.filter((n) => !seen.has(n));
  return report;
}

/** Asserts the lines are exactly `expected`, each once, in order; the message names what went wrong. */
export function assertSequence(lines: string[], expected: number[], what: string): void {
  assert.deepEqual(
    sequenceReport(lines, expected),
    { lost: [], duplicated: [], outOfOrder: [], unexpected: [] },
    `${what}:\n${lines.join(' ')}`,
  );
}

export function range(from: number, to: number): number[] {
  return Array.from({ length: to - from + 1 }, (_, i) => from + i);
}
