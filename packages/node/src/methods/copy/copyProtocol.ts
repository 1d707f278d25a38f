/**
 * What REQCopySrc sends to REQCopyDst: the chunks of one file, then a final
 * `commit`. Every message's `data[0]` is a JSON header; a chunk's `data[1]`
 * is its bytes in base64. The messages of one copy share one ordered
 * subject, `<dstNode>.EventACK.REQCopyDst`, so they are written in order and
 * the commit runs after the last chunk, across restarts of either node.
 */
import { UnrecoverableError } from '@steward/core';

/** One chunk of the file. */
export interface ChunkHeader {
  op: 'chunk';
  /** The id of the REQCopySrc message: names the copy. */
  copy: string;
  /** Destination path as given (relative to the destination's node folder, or absolute). */
  path: string;
  index: number;
  count: number;
  offset: number;
  size: number;
  /** SHA-256 of this chunk's bytes, hex. */
  sha256: string;
  /** Mode of folders the copy creates. */
  folderMode: number;
}

/** The end of a copy: check the whole file, set its mode, put it in place. */
export interface CommitHeader {
  op: 'commit';
  copy: string;
  path: string;
  count: number;
  size: number;
  /** SHA-256 of the whole file, hex. */
  sha256: string;
  /** Permission bits of the source file. */
  mode: number;
  folderMode: number;
  /** `<node>:<path>` of the source, for the report. */
  source: string;
}

/** Either header. */
export type CopyHeader = ChunkHeader | CommitHeader;

/** Largest chunk: its base64 and the message around it must fit nats-server's default 1 MiB max_payload. */
export const maxChunkBytes = 700_000;
/** Chunk size when the message gives none. */
export const defaultChunkBytes = 500_000;

/**
 * Parses `data[0]` of a REQCopyDst message.
 *
 * @throws {@link UnrecoverableError} when it is not a copy header.
 */
export function parseCopyHeader(text: string | undefined): CopyHeader {
  let h: Record<string, unknown>;
  try {
    h = JSON.parse(text ?? '') as Record<string, unknown>;
    if (typeof h !== 'object' || h === null) throw new Error('not an object');
  } catch {
    throw new UnrecoverableError('REQCopyDst: data[0] is not a copy header (REQCopyDst messages are sent by REQCopySrc)');
  }
  const isInt = (v: unknown) => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
  const ok =
    (h.op === 'chunk' || h.op === 'commit') &&
    typeof h.copy === 'string' &&
    /^[A-Za-z0-9_-]{1,128}$/.test(h.copy) &&
    typeof h.path === 'string' &&
    h.path !== '' &&
    typeof h.sha256 === 'string' &&
    /^[0-9a-f]{64}$/.test(h.sha256) &&
    isInt(h.count) &&
    isInt(h.size) &&
    isInt(h.folderMode) &&
    (h.op === 'chunk' ? isInt(h.index) && isInt(h.offset) : isInt(h.mode) && typeof h.source === 'string');
  if (!ok) throw new UnrecoverableError('REQCopyDst: malformed copy header');
  return h as unknown as CopyHeader;
}
