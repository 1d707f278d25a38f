/**
 * The append sinks: TextLogging, CLICommandReply, ECHOReply (seed) and
 * REQToFileAppend, REQPong (mature). The text is appended, verbatim, to
 * `<dataFolder>/<directory>/<fromNode>/<fileName>`; without `directory` and
 * `fileName` that is the seed's `<dataFolder>/<fromNode>/<subject>.log`.
 */
import { join } from 'node:path';
import type { WireMessage } from '@steward/core';
import { textOf } from '../replyMessage.js';
import { appendAt, appendStart, type AppendProgress } from './fileAppend.js';
import type { MethodHandler } from './types.js';
import { replyFile } from './writePath.js';

/** The seed's file for a text message from `m.fromNode` on `subject` (no directory, no fileName). */
export function textFileOf(dataFolder: string, m: WireMessage, subject: string): string {
  // Both parts are validated node names and method names: no separators, no "..".
  return join(dataFolder, m.fromNode, `${subject}.log`);
}

/** Appends the text (the request's output for a reply) to the message's file. */
export const textLogging: MethodHandler = {
  idempotent: true,
  prepare: async ({ services, message, subject }) => appendStart(await replyFile(services.config, message, subject)),
  async run({ message, progress }) {
    await appendAt(progress as AppendProgress, textOf(message));
    return { ok: true, output: '' };
  },
};
