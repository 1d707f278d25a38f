/**
 * The append sinks: TextLogging, CLICommandReply, ECHOReply (seed) and
 * REQToFileAppend, REQPong (mature). The text is appended, verbatim, to
 * `<dataFolder>/<directory>/<fromNode>/<fileName>`; without `directory` and
 * `fileName` that is the seed's `<dataFolder>/<fromNode>/<subject>.log`.
 */
import { textOf } from '../execution/replyMessage.js';
import { appendAt, appendStart, type AppendProgress } from './fileAppend.js';
import type { MethodHandler } from './types.js';
import { replyFile, replyFilePath } from './writePath.js';

/** Appends the text (the request's output for a reply) to the message's file. */
export const textLogging: MethodHandler = {
  idempotent: true,
  // The file is always under <fromNode>/ (see replyFile).
  perSender: true,
  appendsTo: ({ services, message, subject }) => replyFilePath(services.config, message, subject),
  prepare: async ({ services, message, subject }) => appendStart(await replyFile(services.config, message, subject)),
  async run({ message, progress, resumed }) {
    await appendAt(progress as AppendProgress, textOf(message), resumed);
    return { ok: true, output: '' };
  },
  batch: {
    // The file itself: messages to one file share a batch (a refused one has none and runs alone).
    key: ({ services, message, subject }) => replyFilePath(services.config, message, subject),
    async prepare(ctxs) {
      const head = ctxs[0]!;
      const file = await replyFile(head.services.config, head.message, head.subject);
      let size = (await appendStart(file)).size;
      // Each message starts where the one before it ends: re-run alone after a crash, it cuts back to there.
      return ctxs.map(({ message }) => {
        const progress: AppendProgress = { file, size };
        size += Buffer.byteLength(textOf(message));
        return progress;
      });
    },
    async run(items) {
      // Each text encoded alone, so the bytes are exactly those prepare() counted.
      await appendAt(items[0]!.progress as AppendProgress, Buffer.concat(items.map(({ ctx }) => Buffer.from(textOf(ctx.message)))));
      return items.map(() => ({ ok: true, output: '' }));
    },
  },
};
