/**
 * Idempotent appends: the file's size is recorded before the append, and a
 * re-run after a crash first cuts the file back to that size, so the text is
 * in the file exactly once however often the append is repeated.
 */
import { mkdirSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import type { MethodHandler, PrepareContext } from './types.js';
import { appendNoFollow, openInPlace } from './writePath.js';

/** Where an append starts. */
export interface AppendProgress {
  file: string;
  size: number;
}

/** Records where an append to `file` will start. */
export function appendStart(file: string): Promise<AppendProgress> {
  // A stat of a local file takes microseconds; through the thread pool it costs ten times that in CPU, once per message.
  return new Promise((ok) => ok({ file, size: statSync(file, { throwIfNoEntry: false })?.size ?? 0 }));
}

/**
 * Appends `text`. When `resumed` (a re-run after a crash), first cuts the
 * file back to the recorded size, undoing what the cut run wrote (see module
 * doc). A normal run never cuts: bytes past the recorded size can only be a
 * cut run's own (appends to one file take turns, see MethodHandler.appendsTo),
 * or another program's.
 */
export async function appendAt(progress: AppendProgress, text: string | Uint8Array, resumed = false): Promise<void> {
  // Made already (see replyFile) but for a crash or removal since: synchronous, as it then only finds it there.
  mkdirSync(dirname(progress.file), { recursive: true });
  // Never through a symbolic link or a second hard link: a link planted at the file's place could point anywhere.
  const { fh, st } = await openInPlace(progress.file, appendNoFollow);
  try {
    const { size } = st;
    // Resumed and longer than recorded: the cut run of this same append got (partly) in before the crash.
    if (resumed && size > progress.size) await fh.truncate(progress.size);
    await fh.appendFile(text);
    await fh.datasync();
  } finally {
    await fh.close();
  }
}

/** The file a message appends to, if its handler names one (see MethodHandler.appendsTo). */
export function appendTargetOf(handler: MethodHandler, ctx: PrepareContext): string | undefined {
  try {
    return handler.appendsTo?.(ctx);
  } catch {
    return undefined; // the run reports what is wrong with the message
  }
}
