/**
 * Small text formatters shared by the client commands: times, ages and
 * aligned tables.
 */

/** An epoch-milliseconds time as ISO 8601 (UTC), the form of the node's log lines. */
export function formatTime(ms: number): string {
  return new Date(ms).toISOString();
}

/** A duration in seconds as "4s", "3m12s", "5h03m", "2d04h". */
export function formatDuration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  if (s < 86_400) return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
  return `${Math.floor(s / 86_400)}d${String(Math.floor((s % 86_400) / 3600)).padStart(2, '0')}h`;
}

/** Rows as columns padded to their widest cell; the last column is not padded. */
export function table(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const all = [header, ...rows];
  const widths = header.map((_, i) => Math.max(...all.map((r) => (r[i] ?? '').length)));
  return all.map((r) => r.map((cell, i) => (i === r.length - 1 ? cell : cell.padEnd(widths[i]!))).join('  ')).join('\n') + '\n';
}

/** One line of text at most `max` characters long, newlines shown as spaces. */
export function oneLine(text: string, max = 60): string {
  const t = text.replace(/\s+/g, ' ').trim();
  return t.length > max ? `${t.slice(0, max - 1)}…` : t;
}

/**
 * The short form of a message id that `watch` and `jobs` show: its last 8
 * characters. Ids are time-ordered (see newMessageId), so their first
 * characters are shared by every message of the same hours; the last ones
 * are random. Every command that takes an id takes this too.
 */
export function shortId(id: string): string {
  return id.slice(-8);
}
