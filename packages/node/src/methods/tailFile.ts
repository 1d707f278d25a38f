/**
 * REQTailFile: follow a file from its current end, like `tail -f`, and send
 * each new line back as its own reply, until `methodTimeout` (the normal
 * end). A file that shrinks (truncated or rotated in place) is followed from
 * its new start; one that does not exist yet is waited for. A relative path
 * is relative to the node folder.
 */
import { watch, type FSWatcher } from 'node:fs';
import { open, stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import { lineSplitter, streamTimeLimit } from './lineStream.js';
import type { MethodHandler } from './types.js';

const pollMs = 250;
const readBytes = 256 * 1024;

/** Follows the file named by `methodArgs[0]`. */
export const tailFile: MethodHandler = {
  replyOnSuccess: false,
  timeLimitMs: streamTimeLimit,
  async run({ services, message, signal, emit }) {
    const file = resolve(services.config.nodeFolder, message.data[0]!);
    const lines = lineSplitter(emit);
    const size = async () => (await stat(file).catch(() => undefined))?.size;
    let position = (await size()) ?? 0;
    const deadline = message.methodTimeout < 0 ? Infinity : Date.now() + message.methodTimeout * 1000;
    let wake: () => void = () => undefined;
    let watcher: FSWatcher | undefined;
    try {
      watcher = watch(file, () => wake());
      watcher.on('error', () => undefined);
    } catch {
      // Not there yet, or not watchable: polling finds it.
    }
    const onAbort = () => wake();
    signal.addEventListener('abort', onAbort, { once: true });
    const decoder = new TextDecoder();
    try {
      while (!signal.aborted && Date.now() < deadline) {
        const now = await size();
        if (now !== undefined && now < position) position = 0;
        if (now !== undefined && now > position) {
          const fh = await open(file, 'r');
          try {
            const buf = Buffer.alloc(Math.min(readBytes, now - position));
            const { bytesRead } = await fh.read(buf, 0, buf.length, position);
            position += bytesRead;
            lines.push(decoder.decode(buf.subarray(0, bytesRead), { stream: true }));
          } finally {
            await fh.close();
          }
          continue;
        }
        await new Promise<void>((r) => {
          const t = setTimeout(r, Math.min(pollMs, Math.max(0, deadline - Date.now())));
          wake = () => (clearTimeout(t), r());
        });
      }
    } finally {
      watcher?.close();
      signal.removeEventListener('abort', onAbort);
    }
    await lines.end();
    return { ok: true, output: '' };
  },
};
