/**
 * ErrorLog: on the central error logger, append one line per report to
 * `<dataFolder>/errorLog.log`: time of the failure, reporting node, text.
 */
import { join } from 'node:path';
import { appendAt, appendStart, type AppendProgress } from './fileAppend.js';
import type { MethodHandler } from './types.js';

function errorLogFile(dataFolder: string): string {
  return join(dataFolder, 'errorLog.log');
}

/** Appends the error report to the central error log (ErrorLog and REQErrorLog: one file, two subjects). */
export const errorLog: MethodHandler = {
  idempotent: true,
  appendsTo: ({ services }) => errorLogFile(services.config.dataFolder),
  prepare: ({ services }) => appendStart(errorLogFile(services.config.dataFolder)),
  async run({ message, progress, resumed }) {
    // The time is the report's, not the arrival's, so a re-run writes the same line.
    const text = message.data.join(' ').replace(/\s+$/, '');
    await appendAt(progress as AppendProgress, `${new Date(message.createdAt).toISOString()} ${message.fromNode}: ${text}\n`, resumed);
    return { ok: true, output: '' };
  },
};
