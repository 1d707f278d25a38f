/**
 * The node's logger (winston): one line per event, with the message id,
 * subject and node as fields wherever a line is about a message.
 */
import winston from 'winston';

/** The logger type used across the runtime. */
export type Logger = winston.Logger;

/** Options of {@link createLogger}. */
export interface LoggerOptions {
  /** @defaultValue 'info' */
  level?: string;
  /** `text` for people, `json` for machines. @defaultValue 'text' */
  format?: 'text' | 'json';
  /** Name of the node, added to every line. */
  node: string;
}

/** Creates the node's logger, writing to stdout (errors and warnings too, so one stream holds the story). */
export function createLogger(opts: LoggerOptions): Logger {
  const text = winston.format.printf((info) => {
    const { level, message, timestamp, node: _node, ...rest } = info as Record<string, unknown>;
    const fields = Object.entries(rest)
      .filter(([k, v]) => v !== undefined && typeof k === 'string')
      .map(([k, v]) => `${k}=${typeof v === 'string' ? (/[\s"=]/.test(v) ? JSON.stringify(v) : v) : JSON.stringify(v)}`)
      .join(' ');
    return `${String(timestamp)} ${String(level).toUpperCase().padEnd(5)} ${String(message)}${fields ? ' ' + fields : ''}`;
  });
  return winston.createLogger({
    level: opts.level ?? 'info',
    defaultMeta: { node: opts.node },
    format: winston.format.combine(
      winston.format.timestamp(),
      winston.format.errors({ stack: false }),
      opts.format === 'json' ? winston.format.json() : text,
    ),
    transports: [new winston.transports.Console({ stderrLevels: [] })],
  });
}
