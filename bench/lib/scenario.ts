/**
 * What a scenario is given and what it gives back: rows of the result table,
 * each figure with the plain-NATS baseline measured in the same run.
 */
import { WaitForTimeoutError } from '../../test/helpers/errors.js';
import type { NatsServerHandle } from '../../test/helpers/natsServer.js';
import { waitFor } from '../../test/helpers/waitFor.js';

/** Whether a higher or a lower figure is better (decides how the ratio reads). */
export const Better = { Higher: 'higher', Lower: 'lower' } as const;
/** Whether a higher or a lower figure is better. */
export type Better = (typeof Better)[keyof typeof Better];

/** One row of the result table. */
export interface ResultRow {
  scenario: string;
  /** What is measured, e.g. `messages/s, 100 subjects`. */
  figure: string;
  value: number;
  unit: string;
  /** The plain-NATS figure measured in the same run, when there is one. */
  baseline?: number;
  /** What the baseline is, e.g. `nats.js request/reply, 100 in flight`. */
  baselineLabel?: string;
  /** value / baseline. */
  ratio?: number;
  better: Better;
  /** The goal, in words (e.g. `≥ 0.5× baseline`). */
  target?: string;
  /** Whether the goal is met; undefined when the row has no goal. */
  met?: boolean;
  note?: string;
}

/** What the runner hands every scenario. */
export interface BenchContext {
  quick: boolean;
  nats: NatsServerHandle;
  /** A temporary folder of this scenario's own. */
  dir: string;
  /** Milliseconds this scenario may take in all; it bounds its own waits by it. */
  budgetMs: number;
  /** Progress on stderr. */
  log: (text: string) => void;
}

/** A scenario's outcome. */
export interface ScenarioResult {
  rows: ResultRow[];
  /** Everything else worth keeping in latest.json. */
  details: Record<string, unknown>;
}

/** One benchmark scenario. */
export interface Scenario {
  name: string;
  /** One line for the help text and the report. */
  summary: string;
  run(ctx: BenchContext): Promise<ScenarioResult>;
}

/** Builds a row, computing the ratio. */
export function row(r: Omit<ResultRow, 'ratio'>): ResultRow {
  const ratio = r.baseline !== undefined && r.baseline > 0 && Number.isFinite(r.value) ? r.value / r.baseline : undefined;
  return ratio === undefined ? r : { ...r, ratio };
}

/** The `p`th percentile (0..100) of `values` (nearest rank). */
export function percentile(values: number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank]!;
}

/** The median of `values`. */
export function median(values: number[]): number {
  return percentile(values, 50);
}

/** Waits `ms` milliseconds. */
export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/**
 * Polls `check` with the test kit's {@link waitFor} until it holds or
 * `timeoutMs` passed; resolves with whether it held, since a scenario reports
 * an incomplete run as a figure instead of failing.
 */
export async function reached(check: () => boolean | Promise<boolean>, timeoutMs: number, intervalMs = 100): Promise<boolean> {
  try {
    await waitFor(check, { timeoutMs, intervalMs, message: 'bench condition' });
    return true;
  } catch (error) {
    if (error instanceof WaitForTimeoutError) return false;
    throw error;
  }
}

/** Bytes as MB (10^6), one decimal. */
export function mb(bytes: number): number {
  return Math.round(bytes / 1e5) / 10;
}
