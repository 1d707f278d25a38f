/**
 * TextLogging, CLICommandReply, ECHOReply: append the message's text to a
 * file named by the subject, in a folder named by the sending node, under the
 * receiver's data folder: `<dataFolder>/<fromNode>/<subject>.log`.
 */
import { join } from 'node:path';
import type { WireMessage } from '@steward/core';
import { appendAt, appendStart, type AppendProgress } from './fileAppend.js';
import type { MethodHandler } from './types.js';

/** The file a text message from `m.fromNode` on `subject` is appended to. */
export function textFileOf(dataFolder: string, m: WireMessage, subject: string): string {
  // Both parts are validated node names and method names: no separators, no "..".
  return join(dataFolder, m.fromNode, `${subject}.log`);
}

/** Appends the data, verbatim, to the subject's file. */
export const textLogging: MethodHandler = {
  idempotent: true,
  prepare: ({ services, message, subject }) => appendStart(textFileOf(services.config.dataFolder, message, subject)),
  async run({ message, progress }) {
    await appendAt(progress as AppendProgress, message.data.join(''));
    return { ok: true, output: '' };
  },
};
