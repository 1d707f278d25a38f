/**
 * Splitting the contents of `inmsg.txt` into message entries. Operators append
 * JSON to that file (`cat msg.json >> inmsg.txt`), so it holds several JSON
 * values one after another, and one broken value must not cost the others.
 * This module only finds and parses values; checking the fields of each entry
 * is the message validator's job.
 */

/** One message entry: an element of a top-level array, or a top-level object. */
export interface ParsedEntry {
  /**
   * The parsed JSON value. Not validated: an array element may be any JSON
   * value, and the caller reports it if it is not a message object.
   */
  value: unknown;
  /** Which top-level value the entry came from, counting from 0 (failures count too). */
  valueIndex: number;
  /** Position of the entry in its array, from 0; always 0 for a top-level object. */
  entryIndex: number;
  /** 1-based line on which the entry's text begins. */
  line: number;
  /** The entry's exact source text, so it can be reported as the operator wrote it. */
  text: string;
}

/** A top-level value (or stray text) that yields no entries. */
export interface ParseFailure {
  /** Which top-level value failed, counting from 0 together with the values that parsed. */
  valueIndex: number;
  /** 1-based line on which the failed text begins. */
  line: number;
  /**
   * The source text of the failed value, without trailing whitespace, so it can
   * be written verbatim to a rejected file.
   */
  text: string;
  /** Why the value was refused: JSON.parse's message, or what the scanner found. */
  reason: string;
}

/** Everything found in one read of `inmsg.txt`, in input order. */
export interface InmsgParseResult {
  /** Entries of every value that parsed. */
  entries: ParsedEntry[];
  /** Values and stray text that did not parse. */
  failures: ParseFailure[];
}

const BOM = '\uFEFF';
const NOT_A_CONTAINER = 'expected a JSON array of messages or a message object';

/**
 * Parses the contents of `inmsg.txt` into entries and failures. Pure: no I/O,
 * never throws on bad input.
 *
 * The content is a sequence of top-level JSON values, separated by optional
 * whitespace or by nothing at all (`[...][...]`, `{...}{...}`). A top-level
 * array gives one entry per element (an empty array gives none); a top-level
 * object gives one entry. Anything else is a failure. A UTF-8 BOM is ignored,
 * also where a second file with a BOM was appended, and CRLF line ends work.
 *
 * Value boundaries are found by matching brackets and braces outside strings,
 * not by JSON.parse, so a broken value is cut out and scanning resumes after
 * it. Rules that decide where a value ends when the input is broken:
 *
 * - **Resynchronisation:** a `[` or `{` at column 0 of a line (after an
 *   optional BOM), outside a string, starts a new top-level value even if the
 *   value before it is still unclosed or does not parse. The previous value
 *   then ends just before that line and is a failure with the reason
 *   "value not closed before line N, where a new value starts: <JSON.parse's
 *   message>". This works because pretty-printed values as the operator
 *   writes them start at column 0 and their nested arrays and objects are
 *   indented. One exception keeps unindented arrays working: when the text up
 *   to the matching bracket parses as a whole (`[` then `{...}` at column 0
 *   then `]`), it is one value. An unindented array that does not parse is
 *   split at its column-0 braces like any broken value.
 * - A string ends at the end of its line even without a closing quote, since
 *   JSON strings cannot hold a raw line break; an unbalanced quote therefore
 *   never hides the column-0 bracket that resynchronises the scan.
 * - Text outside any value that is not whitespace (`hello`, `42`, a stray `]`)
 *   is one failure that runs up to the next `[` or `{` outside a string; it
 *   takes a `valueIndex` like any value. Its reason is "expected a JSON array
 *   of messages or a message object", followed by ", found text that is not
 *   JSON: <JSON.parse's message>" when the text is not a JSON scalar.
 * - A value still open at the end of the input is a failure with the reason
 *   "unexpected end of input (value not closed): <JSON.parse's message>".
 * - A value whose brackets match but which does not parse is a failure with
 *   JSON.parse's message as the reason.
 *
 * Where JSON.parse's message names a position, which counts from the start of
 * the value, the line and column in the whole input are added:
 * "... at position 34 (input line 13, column 27)".
 *
 * @param content - The whole file content, as read.
 * @returns The entries of every value that parsed and one failure per value
 * that did not, each in input order.
 */
export function parseInmsg(content: string): InmsgParseResult {
  const src = content.startsWith(BOM) ? content.slice(1) : content;
  const layout = scanLayout(src);
  const { openers, closers, lineStartOpeners } = layout;
  const entries: ParsedEntry[] = [];
  const failures: ParseFailure[] = [];
  const fail = (valueIndex: number, start: number, end: number, reason: string): void => {
    failures.push({ valueIndex, line: lineOf(layout, start), text: src.slice(start, end), reason });
  };

  let valueIndex = 0;
  let pos = 0;
  // Cursors into the sorted opener lists; `pos` only grows, so they do too.
  let openerAt = 0;
  let resyncAt = 0;
  for (;;) {
    pos = skipWhitespace(src, pos);
    if (pos >= src.length) break;
    while (openerAt < openers.length && (openers[openerAt] as number) < pos) openerAt++;
    while (resyncAt < lineStartOpeners.length && (lineStartOpeners[resyncAt] as number) <= pos) {
      resyncAt++;
    }
    const nextOpener = openers[openerAt];

    if (nextOpener !== pos) {
      const end = trimEnd(src, pos, nextOpener ?? src.length);
      const parsed = tryParse(src.slice(pos, end));
      const reason = parsed.ok ? NOT_A_CONTAINER : `${NOT_A_CONTAINER}, found text that is not JSON: ${locate(layout, parsed, pos)}`;
      fail(valueIndex++, pos, end, reason);
      pos = nextOpener ?? src.length;
      continue;
    }

    const close = closers[openerAt] ?? -1;
    const resync = lineStartOpeners[resyncAt];
    if (close >= 0) {
      const text = src.slice(pos, close + 1);
      const parsed = tryParse(text);
      if (parsed.ok) {
        pushEntries(src, layout, pos, close, parsed.value, valueIndex++, entries);
        pos = close + 1;
        continue;
      }
      if (resync === undefined || resync > close) {
        fail(valueIndex++, pos, close + 1, locate(layout, parsed, pos));
        pos = close + 1;
        continue;
      }
    }

    // Unclosed, or closed but broken with a column-0 value start inside: the
    // value ends before that start (or at the end of the input).
    const end = trimEnd(src, pos, resync ?? src.length);
    const head =
      resync === undefined
        ? 'unexpected end of input (value not closed)'
        : `value not closed before line ${lineOf(layout, resync)}, where a new value starts`;
    // JSON.parse's view is kept too: it names what it expected where it stopped
    // ("Unterminated string", "Expected ',' or ']'"), which often is the actual slip.
    const parsed = tryParse(src.slice(pos, end));
    fail(valueIndex++, pos, end, parsed.ok ? head : `${head}: ${locate(layout, parsed, pos)}`);
    pos = resync ?? src.length;
  }
  return { entries, failures };
}

/** Where the structure of the input is: lines, and openers with their matches. */
interface Layout {
  /** Index of the first character of each line. */
  lineStarts: number[];
  /** Index of every `[` and `{` outside a string, ascending. */
  openers: number[];
  /** For each opener, the index of its matching closer, or -1 if it is never closed. */
  closers: number[];
  /** The openers at column 0 of a line (after an optional BOM), ascending. */
  lineStartOpeners: number[];
}

/**
 * One pass over the input that matches every opener with its closer. Matching
 * by a single stack for the whole input gives the same answer as counting
 * depth from each value start, because a string ends at the end of its line at
 * the latest, so whether a character is inside a string does not depend on
 * where scanning began. Doing it once keeps the scan linear: a value that
 * is never closed does not cost a rescan to the end of the input.
 */
function scanLayout(src: string): Layout {
  const lineStarts = [0];
  const openers: number[] = [];
  const closers: number[] = [];
  const lineStartOpeners: number[] = [];
  const open: number[] = []; // indexes into `openers` still waiting for a closer
  let inString = false;
  for (let i = 0; i < src.length; i++) {
    const ch = src[i];
    if (ch === '\n') {
      lineStarts.push(i + 1);
      inString = false;
      continue;
    }
    if (inString) {
      // An escape never swallows a line break, so the string still ends there.
      if (ch === '\\' && src[i + 1] !== '\n') i++;
      else if (ch === '"') inString = false;
      continue;
    }
    if (ch === '"') {
      inString = true;
    } else if (ch === '[' || ch === '{') {
      if (isLineStart(src, i)) lineStartOpeners.push(i);
      open.push(openers.length);
      openers.push(i);
      closers.push(-1);
    } else if (ch === ']' || ch === '}') {
      // A closer with nothing open is stray text; the top-level scan reports it.
      const match = open.pop();
      if (match !== undefined) closers[match] = i;
    }
  }
  return { lineStarts, openers, closers, lineStartOpeners };
}

/** Adds the entries of a value that parsed: one per array element, or the object itself. */
function pushEntries(
  src: string,
  layout: Layout,
  start: number,
  close: number,
  value: unknown,
  valueIndex: number,
  entries: ParsedEntry[],
): void {
  if (!Array.isArray(value)) {
    const line = lineOf(layout, start);
    entries.push({ value, valueIndex, entryIndex: 0, line, text: src.slice(start, close + 1) });
    return;
  }
  const spans = elementSpans(src, start, close);
  // The array parsed, so scanning its text must find exactly its elements.
  if (spans.length !== value.length) {
    throw new Error(`inmsgParser: found ${spans.length} elements, JSON.parse found ${value.length}`);
  }
  spans.forEach(([from, to], i) => {
    const element: unknown = value[i];
    // An array of objects inside the array (`[[{…}]]`, or a stray "[" left open on an earlier line in
    // front of a valid line): its messages are taken one by one, instead of the whole being refused.
    if (Array.isArray(element) && element.length > 0 && element.every(isPlainObject)) {
      const before = entries.length;
      pushEntries(src, layout, from, to - 1, element, valueIndex, entries);
      for (let k = before; k < entries.length; k++) entries[k]!.entryIndex = nextEntryIndex(entries, valueIndex, k);
      return;
    }
    entries.push({
      value: element,
      valueIndex,
      entryIndex: nextEntryIndex(entries, valueIndex, entries.length),
      line: lineOf(layout, from),
      text: src.slice(from, to),
    });
  });
}

function isPlainObject(v: unknown): boolean {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** The entry number of the entry at `at` among those of value `valueIndex` before it. */
function nextEntryIndex(entries: ParsedEntry[], valueIndex: number, at: number): number {
  let n = 0;
  for (let k = at - 1; k >= 0 && entries[k]!.valueIndex === valueIndex; k--) n++;
  return n;
}

/**
 * The `[from, to)` source span of each element of the valid array that opens
 * at `start` and closes at `close`: elements are split at commas at depth 1
 * outside strings, and trimmed of surrounding whitespace.
 */
function elementSpans(src: string, start: number, close: number): Array<[number, number]> {
  const spans: Array<[number, number]> = [];
  let from = -1;
  let depth = 0;
  let inString = false;
  for (let i = start + 1; i < close; i++) {
    const ch = src[i];
    if (inString) {
      if (ch === '\\') i++;
      else if (ch === '"') inString = false;
      continue;
    }
    if (isWhitespace(ch)) continue;
    if (ch === ',' && depth === 0) {
      spans.push([from, trimEnd(src, from, i)]);
      from = -1;
      continue;
    }
    if (from < 0) from = i;
    if (ch === '"') inString = true;
    else if (ch === '[' || ch === '{') depth++;
    else if (ch === ']' || ch === '}') depth--;
  }
  if (from >= 0) spans.push([from, trimEnd(src, from, close)]);
  return spans;
}

type ParseOutcome = { ok: true; value: unknown } | { ok: false; message: string; position: number | undefined };

function tryParse(text: string): ParseOutcome {
  try {
    return { ok: true, value: JSON.parse(text) as unknown };
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    // V8 names the offset in some messages ("... in JSON at position 12"), not in all.
    const at = /at position (\d+)/.exec(message)?.[1];
    return { ok: false, message, position: at === undefined ? undefined : Number(at) };
  }
}

/**
 * JSON.parse's message, with the line and column in the whole input added when
 * the message names a position: its own position counts from the start of the
 * value, which the operator cannot see in the file.
 */
function locate(layout: Layout, outcome: { message: string; position: number | undefined }, start: number): string {
  if (outcome.position === undefined) return outcome.message;
  const index = start + outcome.position;
  const line = lineOf(layout, index);
  const column = index - (layout.lineStarts[line - 1] ?? 0) + 1;
  return `${outcome.message} (input line ${line}, column ${column})`;
}

/** 1-based line of a character index, by binary search over the line starts. */
function lineOf(layout: Layout, index: number): number {
  const starts = layout.lineStarts;
  let lo = 0;
  let hi = starts.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if ((starts[mid] as number) <= index) lo = mid;
    else hi = mid - 1;
  }
  return lo + 1;
}

function isLineStart(src: string, i: number): boolean {
  const before = src[i - 1];
  if (i === 0 || before === '\n') return true;
  return before === BOM && (i === 1 || src[i - 2] === '\n');
}

/** JSON's whitespace, plus a BOM that an appended file may bring along. */
function isWhitespace(ch: string | undefined): boolean {
  return ch === ' ' || ch === '\n' || ch === '\r' || ch === '\t' || ch === BOM;
}

function skipWhitespace(src: string, pos: number): number {
  while (pos < src.length && isWhitespace(src[pos])) pos++;
  return pos;
}

/** The end of `src[start, end)` without its trailing whitespace. */
function trimEnd(src: string, start: number, end: number): number {
  while (end > start && isWhitespace(src[end - 1])) end--;
  return end;
}
