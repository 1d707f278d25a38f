/**
 * The node's logger: one line per event, with the message id, subject and
 * node as fields wherever a line is about a message.
 *
 * Two formats:
 * - `text`, for people: `<ISO time> LEVEL message key=value ...`
 * - `json`, for machines: one JSON object per line,
 *   `{"time","level","node","message",...fields}`.
 *
 * `auto` picks `text` when stdout is a terminal and `json` otherwise. The
 * message text is the same in both formats, so a phrase searched in a text
 * log (`node ship1 ready`) is found as a substring of the JSON line too.
 *
 * Lines are formatted and written synchronously, in the order they are
 * logged. (The node used winston before: its stream pipeline, formats and
 * their dependencies took ~30 ms and several MB of every node's start; the
 * {@link Logger} interface is the part of winston's the runtime uses, so a
 * winston logger can still be passed in.)
 */

/** Log levels, most severe first: a logger writes the lines at its level and above. */
const levels = { error: 0, warn: 1, info: 2, http: 3, verbose: 4, debug: 5, silly: 6 } as const;

/** Logs `message` with the fields of `meta`. */
export type LogMethod = (message: string, meta?: Record<string, unknown>) => unknown;

/** The logger type used across the runtime. */
export interface Logger {
  error: LogMethod;
  warn: LogMethod;
  info: LogMethod;
  debug: LogMethod;
  /** Logs at `level` (`error`, `warn`, `info`, `debug`). */
  log(level: string, message: string, meta?: Record<string, unknown>): unknown;
}

/** How log lines are written. */
export const LogFormat = { Text: 'text', Json: 'json', Auto: 'auto' } as const;
/** How log lines are written: `auto` = text on a terminal, JSON otherwise. */
export type LogFormat = (typeof LogFormat)[keyof typeof LogFormat];

/** Options of {@link createLogger}. */
export interface LoggerOptions {
  /** @defaultValue 'info' */
  level?: string;
  /** `text` for people, `json` for machines, `auto` for text on a terminal only. @defaultValue 'text' */
  format?: LogFormat;
  /** Name of the node, added to every JSON line and to every text line about a message. */
  node: string;
  /**
   * Where lines go; a stream (for tests) instead of stdout.
   * @defaultValue stdout, errors and warnings included, so one stream holds the story
   */
  stream?: NodeJS.WritableStream;
  /**
   * Whether the output is a terminal, for `auto`.
   * @defaultValue `process.stdout.isTTY`
   */
  isTTY?: boolean;
}

/** The concrete format `format` means for an output that is (or is not) a terminal. */
export function resolveLogFormat(format: LogFormat | undefined, isTTY: boolean = process.stdout.isTTY === true): 'text' | 'json' {
  if (format === LogFormat.Json) return 'json';
  if (format === LogFormat.Auto) return isTTY ? 'text' : 'json';
  return 'text';
}

/** Looks up the subject of a message by id, for lines that name only the id. */
export type SubjectResolver = (id: string) => string | undefined;

const resolvers = new WeakMap<Logger, { fn?: SubjectResolver }>();

/**
 * Lets `logger` fill in the subject of lines that carry a message `id` but no
 * `subject` (the node resolves it from its live actors and its journal), so
 * every line about a message names both.
 */
export function setSubjectResolver(logger: Logger, fn: SubjectResolver): void {
  const slot = resolvers.get(logger);
  if (slot) slot.fn = fn;
}

/** Fields every format puts first, in this order; the rest follow as given. */
const leading = new Set(['timestamp', 'level', 'message', 'node']);

function fieldsOf(info: Record<string, unknown>): [string, unknown][] {
  return Object.entries(info).filter(([k, v]) => v !== undefined && !leading.has(k));
}

function textValue(v: unknown): string {
  if (typeof v === 'string') return /[\s"=]/.test(v) || v === '' ? JSON.stringify(v) : v;
  if (v instanceof Error) return JSON.stringify(v.message);
  return JSON.stringify(v) ?? String(v);
}

/** JSON.stringify that survives what log fields may hold: errors, bigints, cycles. */
function safeJson(value: unknown): string {
  const seen = new WeakSet<object>();
  return JSON.stringify(value, (_key, v: unknown) => {
    if (typeof v === 'bigint') return v.toString();
    if (v instanceof Error) return { name: v.name, message: v.message };
    if (typeof v === 'object' && v !== null) {
      if (seen.has(v)) return '[circular]';
      seen.add(v);
    }
    return v;
  });
}

/** Creates the node's logger. */
export function createLogger(opts: LoggerOptions): Logger {
  const slot: { fn?: SubjectResolver } = {};
  const format = resolveLogFormat(opts.format, opts.isTTY);
  const threshold = levels[(opts.level ?? 'info') as keyof typeof levels] ?? levels.info;
  const out = opts.stream ?? process.stdout;

  // A line about a message names its subject even where the caller knew only the id.
  const addSubject = (info: Record<string, unknown>): void => {
    const id = info.id;
    if (typeof id === 'string' && id !== '' && info.subject === undefined && slot.fn) {
      try {
        const subject = slot.fn(id);
        if (subject) info.subject = subject;
      } catch {
        // a lookup that fails leaves the line as it was
      }
    }
  };

  const text = (info: Record<string, unknown>): string => {
    const fields = fieldsOf(info);
    // One process is one node, so the node is named only where a line is about a message.
    if (fields.some(([k]) => k === 'id' || k === 'subject')) fields.push(['node', info.node]);
    const rest = fields.map(([k, v]) => `${k}=${textValue(v)}`).join(' ');
    return `${String(info.timestamp)} ${String(info.level).toUpperCase().padEnd(5)} ${String(info.message)}${rest ? ' ' + rest : ''}`;
  };

  const json = (info: Record<string, unknown>): string =>
    safeJson({ time: info.timestamp, level: info.level, node: info.node, message: info.message, ...Object.fromEntries(fieldsOf(info)) });

  const log = (level: string, message: unknown, meta?: Record<string, unknown>): void => {
    if ((levels[level as keyof typeof levels] ?? levels.info) > threshold) return;
    // As winston did: the meta's fields follow the default ones, a meta message is appended to the line's.
    const info: Record<string, unknown> = { node: opts.node, ...meta, level, message };
    if (meta && typeof meta.message === 'string' && meta.message !== '') info.message = `${String(message)} ${meta.message}`;
    if (info.message instanceof Error) info.message = info.message.message;
    info.timestamp = new Date().toISOString();
    addSubject(info);
    out.write(`${format === 'json' ? json(info) : text(info)}\n`);
  };

  const logger: Logger = {
    error: (m, meta) => log('error', m, meta),
    warn: (m, meta) => log('warn', m, meta),
    info: (m, meta) => log('info', m, meta),
    debug: (m, meta) => log('debug', m, meta),
    log: (level, m, meta) => log(level, m, meta),
  };
  resolvers.set(logger, slot);
  return logger;
}
