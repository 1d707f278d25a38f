/**
 * REQPing: the receiver records the ping in its data folder
 * (`<dataFolder>/<directory>/<fromNode>/<fileName>`, by default
 * `<dataFolder>/<fromNode>/<subject>.log`) and answers with REQPong, whose
 * text the pinging node appends to its own file the same way.
 */
import { appendAt, appendStart, type AppendProgress } from './fileAppend.js';
import type { MethodHandler } from './types.js';
import { replyFile, replyFilePath } from './writePath.js';

/** Records the ping; the output is the pong text. */
export const ping: MethodHandler = {
  idempotent: true,
  appendsTo: ({ services, message, subject }) => replyFilePath(services.config, message, subject),
  prepare: async ({ services, message, subject }) => appendStart(await replyFile(services.config, message, subject)),
  async run({ services, message, progress, resumed }) {
    // The times are the message's, so a re-run writes the same line.
    const sent = new Date(message.createdAt).toISOString();
    await appendAt(progress as AppendProgress, `${sent} ping from ${message.fromNode} (id ${message.id})\n`, resumed);
    return { ok: true, output: `${sent} pong from ${services.config.node} (ping id ${message.id})\n` };
  },
};
