/**
 * Idempotent appends: the file's size is recorded before the append, and a
 * re-run after a crash first cuts the file back to that size, so the text is
 * in the file exactly once however often the append is repeated.
 */
import { mkdir, open, stat } from 'node:fs/promises';
import { dirname } from 'node:path';
import { appendNoFollow } from './writePath.js';

/** Where an append starts. */
export interface AppendProgress {
  file: string;
  size: number;
}

/** Records where an append to `file` will start. */
export async function appendStart(file: string): Promise<AppendProgress> {
  try {
    return { file, size: (await stat(file)).size };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { file, size: 0 };
    throw err;
  }
}

/** Appends `text` at the recorded position (see module doc). */
export async function appendAt(progress: AppendProgress, text: string | Uint8Array): Promise<void> {
  await mkdir(dirname(progress.file), { recursive: true });
  // Never through a symbolic link: a link planted at the file's place could point anywhere.
  const fh = await open(progress.file, appendNoFollow);
  try {
    const { size } = await fh.stat();
    // Longer than recorded: a previous run of this same append got (partly) in before a crash.
    if (size > progress.size) await fh.truncate(progress.size);
    await fh.appendFile(text);
    await fh.datasync();
  } finally {
    await fh.close();
  }
}
