/**
 * REQToFile: write the text to `<dataFolder>/<directory>/<fromNode>/<fileName>`,
 * replacing the file. The new content is written to a temporary file beside
 * it and renamed over it, so a reader sees the old or the new file, never
 * half of one, and a re-run after a crash gives the same file.
 *
 * The target's links do not matter here: `rename` replaces the directory
 * entry, it never writes into the file that was there. A symbolic link or a
 * second hard link planted at the target's name is replaced; the file it
 * pointed to is left as it was. The temporary file is new (`O_EXCL`), so it
 * has no other link.
 */
import { constants } from 'node:fs';
import { open, rename, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { textOf } from '../execution/replyMessage.js';
import type { MethodHandler } from './types.js';
import { replyFile } from './writePath.js';

/** Replaces the message's file with its text. */
export const toFile: MethodHandler = {
  idempotent: true,
  async run({ services, message, subject }) {
    const file = await replyFile(services.config, message, subject);
    const tmp = join(dirname(file), `.${basename(file)}.steward-${message.id}.tmp`);
    await unlink(tmp).catch(() => undefined);
    const fh = await open(tmp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o644);
    try {
      await fh.writeFile(textOf(message));
      await fh.datasync();
    } finally {
      await fh.close();
    }
    // rename replaces a (symbolic or hard) link at the target itself; it never writes through it.
    await rename(tmp, file);
    return { ok: true, output: '' };
  },
};
