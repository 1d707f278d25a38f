/**
 * What a scenario is given and what it gives back: rows of the result table,
 * each figure with the plain-NATS baseline and, where there is one, the
 * JetStream peer measured in the same run.
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
  /** The JetStream figure measured in the same run, when there is one (see {@link PeerFigure}). */
  peer?: number;
  /** What the JetStream peer is, e.g. `JetStream end to end, 1 subject`. */
  peerLabel?: string;
  /** value / peer. */
  peerRatio?: number;
  /**
   * The {@link PeerFigure.key} of a peer measured by another scenario of the
   * run; the runner fills in `peer`, `peerLabel` and `peerRatio` at the end.
   */
  peerKey?: string;
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

/**
 * A figure of a JetStream peer (issue 15): listed in its own table and
 * referred to by rows of other scenarios through `key`.
 */
export interface PeerFigure {
  /** Stable name, e.g. `js.1.endToEnd`. */
  key: string;
  scenario: string;
  /** What is measured, e.g. `end to end msgs/s, 1 subject`. */
  figure: string;
  value: number;
  unit: string;
  /** The short label rows show next to the figure. */
  label: string;
  note?: string;
}

/** A scenario's outcome. */
export interface ScenarioResult {
  rows: ResultRow[];
  /** The JetStream peers it measured. */
  peers?: PeerFigure[];
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

/** value / reference, or undefined when either is missing or not a number. */
function ratioOf(value: number, reference: number | undefined): number | undefined {
  return reference !== undefined && reference > 0 && Number.isFinite(value) ? value / reference : undefined;
}

/** Builds a row, computing the ratios to the baseline and to the JetStream peer. */
export function row(r: Omit<ResultRow, 'ratio' | 'peerRatio'>): ResultRow {
  const out: ResultRow = { ...r };
  const ratio = ratioOf(r.value, r.baseline);
  if (ratio !== undefined) out.ratio = ratio;
  const peerRatio = ratioOf(r.value, r.peer);
  if (peerRatio !== undefined) out.peerRatio = peerRatio;
  return out;
}

/**
 * Fills in the JetStream peer of every row that names one by `peerKey` and
 * has none yet, from the peers the run measured; rows whose peer was not
 * measured (e.g. `--only backlog`) stay without.
 */
export function resolvePeers(rows: ResultRow[], peers: PeerFigure[]): ResultRow[] {
  const byKey = new Map(peers.map((p) => [p.key, p]));
  return rows.map((r) => {
    const p = r.peerKey === undefined || r.peer !== undefined ? undefined : byKey.get(r.peerKey);
    return p && Number.isFinite(p.value) ? row({ ...r, peer: p.value, peerLabel: p.label }) : r;
  });
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
