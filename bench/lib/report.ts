/**
 * The result file (`bench/results/latest.json`) and the table printed at the
 * end of a run (also pasted into BENCHMARKS.md).
 */
import { execFileSync } from 'node:child_process';
import { renameSync, writeFileSync, mkdirSync } from 'node:fs';
import os from 'node:os';
import { dirname } from 'node:path';
import { Better, type PeerFigure, type ResultRow } from './scenario.js';

/** The machine a run happened on. */
export interface MachineInfo {
  cpuModel: string;
  cores: number;
  memoryGB: number;
  os: string;
  node: string;
  natsServer: string;
  /** Load average (1, 5, 15 min) when the run started and ended: how noisy the box was. */
  loadStart: number[];
  loadEnd?: number[];
}

/** Everything a run writes. */
export interface BenchResults {
  mode: 'quick' | 'full';
  date: string;
  durationS?: number;
  machine: MachineInfo;
  /** The git commit the runtime was built from, with `+dirty` when the tree had changes. */
  commit: string;
  rows: ResultRow[];
  /** The JetStream peers measured in this run (issue 15). */
  peers: PeerFigure[];
  scenarios: Record<string, { ms: number; error?: string; details?: Record<string, unknown> }>;
}

/** Describes this machine. */
export function machineInfo(natsServer: string): MachineInfo {
  const cpus = os.cpus();
  return {
    cpuModel: cpus[0]?.model.trim() ?? 'unknown',
    cores: cpus.length,
    memoryGB: Math.round(os.totalmem() / 1e8) / 10,
    os: `${os.type()} ${os.release()} ${os.arch()}`,
    node: process.version,
    natsServer,
    loadStart: os.loadavg().map((l) => Math.round(l * 100) / 100),
  };
}

/** The current commit, `+dirty` when the work tree differs from it. */
export function gitCommit(cwd: string): string {
  try {
    const head = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd, encoding: 'utf8' }).trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--', 'packages'], { cwd, encoding: 'utf8' }).trim();
    return dirty ? `${head}+dirty` : head;
  } catch {
    return 'unknown';
  }
}

/** Writes `value` as JSON to `file` atomically (via a `.tmp` file). */
export function writeJson(file: string, value: unknown): void {
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(`${file}.tmp`, JSON.stringify(value, null, 2) + '\n');
  renameSync(`${file}.tmp`, file);
}

/** A figure in a few significant digits. */
export function fmt(v: number | null | undefined, unit = ''): string {
  // NaN (no figure) is written as null in JSON.
  if (v === undefined || v === null || Number.isNaN(v)) return '–';
  const abs = Math.abs(v);
  const text = abs >= 100 ? Math.round(v).toLocaleString('en-US') : abs >= 10 ? v.toFixed(1) : v.toFixed(2);
  return unit ? `${text} ${unit}` : text;
}

/** A ratio column: `0.42×`, with ↑/↓ saying which way is better. */
function ratioText(ratio: number | undefined | null, better: Better): string {
  if (ratio === undefined || ratio === null) return '–';
  return `${ratio >= 10 ? ratio.toFixed(0) : ratio.toFixed(2)}× ${better === Better.Higher ? '↑' : '↓'}`;
}

/** A Markdown table with padded columns (readable as plain text too). */
function table(header: string[], lines: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i]!.length)));
  const fmtLine = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`;
  return [fmtLine(header), `| ${widths.map((w) => '-'.repeat(w)).join(' | ')} |`, ...lines.map(fmtLine)].join('\n');
}

/** The result table in Markdown: each steward figure, its plain-NATS baseline and its JetStream peer, with ratios. */
export function markdownTable(rows: ResultRow[]): string {
  const header = ['scenario', 'figure', 'steward', 'plain NATS baseline', 'ratio', 'JetStream peer', 'ratio', 'target', 'met?'];
  const lines = rows.map((r) => [
    r.scenario,
    r.figure,
    fmt(r.value, r.unit),
    r.baseline === undefined ? '–' : `${fmt(r.baseline, r.unit)} (${r.baselineLabel ?? ''})`,
    ratioText(r.ratio, r.better),
    r.peer === undefined ? '–' : `${fmt(r.peer, r.unit)} (${r.peerLabel ?? ''})`,
    ratioText(r.peerRatio, r.better),
    r.target ?? '–',
    r.met === undefined ? '–' : r.met ? 'yes' : '**no**',
  ]);
  return table(header, lines);
}

/** The JetStream peers of the run in Markdown, or '' when none was measured. */
export function peerTable(peers: PeerFigure[]): string {
  if (peers.length === 0) return '';
  return table(
    ['scenario', 'JetStream figure', 'value', 'note'],
    peers.map((p) => [p.scenario, p.figure, fmt(p.value, p.unit), p.note ?? '']),
  );
}

/** Notes attached to rows, as a list under the table. */
export function notes(rows: ResultRow[]): string {
  return rows
    .filter((r) => r.note)
    .map((r) => `- ${r.scenario} / ${r.figure}: ${r.note}`)
    .join('\n');
}
