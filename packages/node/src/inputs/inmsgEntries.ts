/**
 * The `inmsg.txt` format, as every input that takes it reads it (the
 * `inmsg.txt` watcher, the `startup/` folder): one or more JSON values, each
 * a message or an array of messages, `#` lines as comments. Valid entries
 * become submissions with an idempotency key made of a prefix and the
 * entry's position; invalid ones are kept, with their reason, in
 * `inmsg.rejected.txt` and reported, so the fixed text can be appended to
 * `inmsg.txt` again.
 */
import { appendFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseInmsg, parseMessageSpec, ValidationError } from '@steward/core';
import { FailureKind } from '../node/errorKernel.js';
import type { NodeServices, SpecSubmission } from '../node/services.js';

/**
 * The largest input file read whole (64 MiB: some 200,000 messages), for
 * `inmsg.txt` and the read folder. A larger one is moved aside unread: read
 * whole it could exhaust the node's memory, or exceed the longest string V8
 * can hold, and fail its watcher again at every restart while it stayed.
 */
export const maxInputFileBytes = 64 * 1024 * 1024;

/** Where rejected entries are kept, in the node folder. */
export const rejectedFileName = 'inmsg.rejected.txt';

/** An entry that was not taken: where it was, why, and its text. */
export interface RejectedEntry {
  /** `value 2, entry 1 (line 7)`. */
  where: string;
  reason: string;
  text: string;
}

/** How the entries of one text are named. */
export interface InmsgTextSource {
  /** What the text is called in warnings, reasons and reports: `inmsg.txt`, `startup/hello.json`. */
  label: string;
  /** The idempotency key of each entry is `<keyPrefix>:<value>:<entry>` (see Journal). */
  keyPrefix: string;
  /** The source the audit log records. */
  source: string;
}

/** Reads a text in the inmsg.txt format into submissions and rejected entries. */
export function readInmsgText(s: NodeServices, raw: string, from: InmsgTextSource): { valid: SpecSubmission[]; rejected: RejectedEntry[] } {
  // Lines starting with '#' are comments (inmsg.rejected.txt uses them for the reasons).
  const content = raw.replace(/^#.*$/gm, '');
  const { entries, failures } = parseInmsg(content);
  const valid: SpecSubmission[] = [];
  const rejected: RejectedEntry[] = [];
  for (const f of failures) {
    rejected.push({ where: `value ${f.valueIndex + 1} (line ${f.line})`, reason: f.reason, text: f.text });
  }
  for (const e of entries) {
    const where = `value ${e.valueIndex + 1}, entry ${e.entryIndex + 1} (line ${e.line})`;
    try {
      const { spec, warnings } = parseMessageSpec(e.value);
      for (const w of warnings) s.log.warn(`${from.label} ${where}: ${w}`);
      valid.push({ spec, sourceKey: `${from.keyPrefix}:${e.valueIndex}:${e.entryIndex}`, source: from.source });
    } catch (err) {
      const reason = err instanceof ValidationError ? err.message : String(err);
      rejected.push({ where, reason, text: e.text });
    }
  }
  return { valid, rejected };
}

/** Keeps rejected entries in `inmsg.rejected.txt` (reason as a `#` line, then the text) and reports each one. */
export async function keepRejected(s: NodeServices, label: string, rejected: readonly RejectedEntry[]): Promise<void> {
  if (rejected.length === 0) return;
  const time = new Date().toISOString();
  const block = rejected.map((r) => `# ${time} ${label} ${r.where}: ${r.reason.replace(/\n/g, ' ')}\n${wrapAsArray(r.text)}\n`).join('');
  await appendFile(join(s.config.nodeFolder, rejectedFileName), block);
  for (const r of rejected) {
    s.errors.report({
      kind: FailureKind.BadInput,
      text: `${label} ${r.where} rejected: ${r.reason}; kept in ${rejectedFileName}`,
    });
  }
}

/** Rejected array elements are written as one-element arrays, so the fixed file can be appended to inmsg.txt again. */
function wrapAsArray(text: string): string {
  const t = text.trim();
  return t.startsWith('{') ? `[${t}]` : t;
}
