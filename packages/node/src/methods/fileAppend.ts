/**
 * Idempotent appends: the file's size is recorded before the append, and a
 * re-run after a crash first cuts the file back to that size, so the text is
 * in the file exactly once however often the append is repeated.
 */
import { closeSync, fdatasync, ftruncateSync, mkdirSync, statSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import type { MethodHandler, PrepareContext } from './types.js';
import { appendNoFollow, openInPlaceSync } from './writePath.js';

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
  // Opening, writing and closing a local file take microseconds: done here, not through the thread pool, whose
  // round trips cost tens of microseconds of CPU each (a fan-out's replies append to a file per node). Only the
  // wait for the disk leaves the event loop.
  const { fd, st } = openInPlaceSync(progress.file, appendNoFollow);
  try {
    // Resumed and longer than recorded: the cut run of this same append got (partly) in before the crash.
    if (resumed && st.size > progress.size) ftruncateSync(fd, progress.size);
    const bytes = typeof text === 'string' ? Buffer.from(text) : text;
    for (let at = 0; at < bytes.length;) at += writeSync(fd, bytes, at);
    await new Promise<void>((ok, fail) => fdatasync(fd, (err) => (err ? fail(err) : ok())));
  } finally {
    closeSync(fd);
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
