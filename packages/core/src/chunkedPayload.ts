/**
 * Payloads too big for one broker message even when compressed (see
 * payloadEncoding.ts): the field travels as journaled, hashed `Chunk`
 * messages, and the message (or ACK) carries a reference in its place:
 * `{"encoding":"chunks","bytes":B,"sha256":H,"count":N,"gzip":true}`.
 *
 * The whole is the field's text (for a message: the JSON
 * `{"data":[...],"previousOutput":...}`, as with gzip; for an ACK: the
 * output). `bytes` and `sha256` are of its UTF-8 bytes; the chunks carry
 * base64 slices of those bytes, gzipped first when that makes them smaller
 * (`gzip`). Each `Chunk` message's `data` is `[header, slice]`, the header
 * being the JSON of {@link ChunkHeader}: the reference plus the id of the
 * message (or request) the whole belongs to and the slice's index.
 *
 * As with gzip, the reference takes the place of the field, so a node that
 * does not know it refuses the message loudly. The reference is covered by
 * the message's (or ACK's) signature, and the reassembled whole must have
 * its SHA-256: a chunk altered or made up by anyone cannot change what is
 * taken, only keep it from being complete.
 */
import { createHash } from 'node:crypto';
import { gunzipSync, gzipSync } from 'node:zlib';
import { ValidationError } from './errors.js';

/** The encoding name of a chunked field. */
export const CHUNKS = 'chunks';

/** A chunked field, in place of the field on the wire. */
export interface ChunkRef {
  encoding: typeof CHUNKS;
  /** UTF-8 bytes of the whole. */
  bytes: number;
  /** SHA-256 (hex) of the whole's UTF-8 bytes. */
  sha256: string;
  /** Number of chunks. */
  count: number;
  /** The chunks are slices of the gzipped whole. @defaultValue false */
  gzip?: true;
}

/** What a `Chunk` message's `data[0]` says (JSON). */
export interface ChunkHeader extends ChunkRef {
  /** Id of the message the whole belongs to (for an ACK output: the request's id). */
  of: string;
  /** Which field: `data` (a message's data and previousOutput) or `output` (an ACK's). */
  field: 'data' | 'output';
  /** Position of this slice, from 0. */
  index: number;
}

/** A whole split in slices, ready to be sent as `Chunk` messages. */
export interface SplitText {
  ref: ChunkRef;
  /** Base64 slices, in order. */
  slices: string[];
}

/**
 * Splits `text` in base64 slices of at most `sliceBytes` raw bytes each
 * (gzipped first when that makes it smaller).
 */
export function splitText(text: string, sliceBytes: number): SplitText {
  const raw = Buffer.from(text, 'utf8');
  const zipped = gzipSync(raw);
  const gzip = zipped.length < raw.length;
  const body = gzip ? zipped : raw;
  const size = Math.max(1, Math.floor(sliceBytes));
  const slices: string[] = [];
  for (let at = 0; at < body.length || slices.length === 0; at += size) slices.push(body.subarray(at, at + size).toString('base64'));
  const ref: ChunkRef = { encoding: CHUNKS, bytes: raw.length, sha256: sha256Hex(raw), count: slices.length };
  if (gzip) ref.gzip = true;
  return { ref, slices };
}

/** SHA-256 of `b`, hex. */
function sha256Hex(b: Buffer): string {
  return createHash('sha256').update(b).digest('hex');
}

/** Whether `v` claims to be a chunk reference (its fields are checked by {@link parseChunkRef}). */
export function isChunkRef(v: unknown): boolean {
  return typeof v === 'object' && v !== null && (v as { encoding?: unknown }).encoding === CHUNKS;
}

/**
 * `v` as a chunk reference found in field `field`, checked; a whole larger
 * than `maxBytes` is refused.
 *
 * @throws {@link ValidationError} naming `field` when it is not one.
 */
export function parseChunkRef(v: unknown, field: string, maxBytes: number): ChunkRef {
  const o = v as Partial<ChunkRef> | null;
  const bad = (reason: string) => new ValidationError([{ field, reason }]);
  if (typeof o !== 'object' || o === null || o.encoding !== CHUNKS) throw bad(`must be {"encoding":"${CHUNKS}",...}`);
  if (!Number.isSafeInteger(o.bytes) || o.bytes! < 0) throw bad('chunk reference: bytes must be a whole number');
  if (o.bytes! > maxBytes) throw bad(`chunk reference: ${o.bytes} bytes is more than the limit of ${maxBytes}`);
  if (typeof o.sha256 !== 'string' || !/^[0-9a-f]{64}$/.test(o.sha256)) throw bad('chunk reference: sha256 must be 64 hex digits');
  if (!Number.isSafeInteger(o.count) || o.count! < 1 || o.count! > 1_000_000) throw bad('chunk reference: count must be 1 to 1000000');
  if (o.gzip !== undefined && o.gzip !== true) throw bad('chunk reference: gzip must be true or absent');
  const ref: ChunkRef = { encoding: CHUNKS, bytes: o.bytes!, sha256: o.sha256, count: o.count! };
  if (o.gzip) ref.gzip = true;
  return ref;
}

/** The `data` of the `Chunk` message carrying slice `index` of `split`, a whole of `of`'s `field`. */
export function chunkData(split: SplitText, of: string, field: ChunkHeader['field'], index: number): string[] {
  const header: ChunkHeader = { ...split.ref, of, field, index };
  return [JSON.stringify(header), split.slices[index]!];
}

/**
 * The header of a `Chunk` message's `data`.
 *
 * @throws {@link ValidationError} naming the field when `data` is not `[header, slice]`.
 */
export function parseChunkHeader(data: readonly string[], maxBytes = Number.MAX_SAFE_INTEGER): ChunkHeader {
  if (data.length !== 2) throw new ValidationError([{ field: 'data', reason: 'a Chunk must be [header, base64 slice]' }]);
  let o: Partial<ChunkHeader>;
  try {
    o = JSON.parse(data[0]!) as Partial<ChunkHeader>;
  } catch (err) {
    throw new ValidationError([{ field: 'data[0]', reason: `chunk header is not JSON: ${(err as Error).message}` }]);
  }
  const ref = parseChunkRef(o, 'data[0]', maxBytes);
  const problems = [];
  if (typeof o.of !== 'string' || !/^[A-Za-z0-9_-]{1,128}$/.test(o.of))
    problems.push({ field: 'data[0].of', reason: 'must be a message id' });
  if (o.field !== 'data' && o.field !== 'output') problems.push({ field: 'data[0].field', reason: 'must be "data" or "output"' });
  if (!Number.isSafeInteger(o.index) || o.index! < 0 || o.index! >= ref.count)
    problems.push({ field: 'data[0].index', reason: `must be 0 to ${ref.count - 1}` });
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(data[1]!)) problems.push({ field: 'data[1]', reason: 'must be base64' });
  if (problems.length) throw new ValidationError(problems);
  return { ...ref, of: o.of!, field: o.field!, index: o.index! };
}

/**
 * The whole of `ref` from its slices (`slices[i]`: base64 of slice i), or
 * undefined while one is missing.
 *
 * @throws {@link ValidationError} naming `field` when the slices do not make
 *   the whole the reference names (size or SHA-256), or it inflates past the reference's size.
 */
export function joinChunks(ref: ChunkRef, slices: readonly (string | undefined)[], field: string): string | undefined {
  if (slices.length < ref.count) return undefined;
  const parts: Buffer[] = [];
  for (let i = 0; i < ref.count; i++) {
    const s = slices[i];
    if (s === undefined) return undefined;
    parts.push(Buffer.from(s, 'base64'));
  }
  let whole = Buffer.concat(parts);
  if (ref.gzip) {
    try {
      whole = gunzipSync(whole, { maxOutputLength: Math.max(1, ref.bytes) });
    } catch (err) {
      throw new ValidationError([{ field, reason: `chunks are not valid gzip of ${ref.bytes} bytes: ${(err as Error).message}` }]);
    }
  }
  if (whole.length !== ref.bytes || sha256Hex(whole) !== ref.sha256)
    throw new ValidationError([{ field, reason: `chunks do not make the whole named (${ref.bytes} bytes, sha256 ${ref.sha256})` }]);
  return whole.toString('utf8');
}

/** Thrown while decoding a chunked field whose chunks are not all here yet. */
export class ChunksMissing extends Error {
  constructor(
    /** Id of the message the whole belongs to. */
    readonly of: string,
    readonly ref: ChunkRef,
  ) {
    super(`waiting for the ${ref.count} chunks of ${of}`);
    this.name = 'ChunksMissing';
  }
}
