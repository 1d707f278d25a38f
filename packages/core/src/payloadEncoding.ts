/**
 * Compression of large payloads on the wire: a transport detail. Above
 * {@link COMPRESS_THRESHOLD_BYTES} a message's `data` (with `previousOutput`)
 * and an ACK's `output` travel gzipped, as an object in place of the field:
 * `{"encoding":"gzip+base64","value":"<base64 of gzip>"}`. Below it nothing
 * changes on the wire.
 *
 * The object takes the place of the field, not a side field next to it, so a
 * node that does not know the encoding refuses the message ("data must be an
 * array of strings") or drops the ACK as malformed, loudly, instead of running
 * or printing the base64 text. Signatures cover the wire form (the compressed
 * value), so a tampered compressed payload is refused. A received payload is
 * inflated to be validated before its signature is checked (the checks read
 * the parsed message): inflating is bounded by {@link MAX_DECODED_BYTES}, so
 * any broker client can cost a node at most that much memory per message.
 *
 * Node's zlib has gzip and brotli; zstd only from Node 22.15/23.8, so gzip is
 * the one every supported runtime reads.
 *
 * A payload still too big for one broker message once compressed travels in
 * chunks instead (chunkedPayload.ts): the same place, another encoding.
 */
import { gunzipSync, gzipSync } from 'node:zlib';
import { isChunkRef, parseChunkRef, type ChunkRef } from './chunkedPayload.js';
import { ValidationError } from './errors.js';

/** The only encoding defined: gzip, then base64 (the envelope is JSON text). */
export const GZIP_BASE64 = 'gzip+base64';

/**
 * Payloads (UTF-8 bytes of the text fields) at or below this size travel as
 * they are: compressing them would save little and cost a gzip per send.
 */
export const COMPRESS_THRESHOLD_BYTES = 32 * 1024;

/**
 * Largest text an encoded field may inflate to. A few kilobytes of gzip can
 * inflate to gigabytes; past this the payload is refused, not inflated.
 */
export const MAX_DECODED_BYTES = 64 * 1024 * 1024;

/** A field's value on the wire when it is encoded. */
export interface EncodedValue {
  encoding: typeof GZIP_BASE64;
  value: string;
}

// One entry: the ACK path sizes the output (fitOutput) then sends it, so the
// same text is compressed twice in a row without this.
let last: { text: string; encoded: EncodedValue } | undefined;

/** `text` gzipped and base64-encoded. */
export function encodeText(text: string): EncodedValue {
  if (last?.text === text) return last.encoded;
  const encoded: EncodedValue = { encoding: GZIP_BASE64, value: gzipSync(Buffer.from(text, 'utf8')).toString('base64') };
  last = { text, encoded };
  return encoded;
}

/**
 * The text of an encoded field value `v`, found in field `field`.
 *
 * @throws {@link ValidationError} when `v` is not a known encoding, is not
 *   valid gzip, or inflates past `maxBytes`.
 */
export function decodeValue(v: unknown, field: string, maxBytes = MAX_DECODED_BYTES): string {
  const o = v as Partial<EncodedValue> | null;
  if (typeof o !== 'object' || o === null || o.encoding !== GZIP_BASE64 || typeof o.value !== 'string')
    throw new ValidationError([{ field, reason: `must be a string or {"encoding":"${GZIP_BASE64}","value":"..."}` }]);
  try {
    return gunzipSync(Buffer.from(o.value, 'base64'), { maxOutputLength: maxBytes }).toString('utf8');
  } catch (err) {
    throw new ValidationError([{ field, reason: `is not valid ${GZIP_BASE64} within ${maxBytes} bytes: ${(err as Error).message}` }]);
  }
}

/** Whether a text of `bytes` UTF-8 bytes travels compressed. */
export function shouldCompress(bytes: number): boolean {
  return bytes > COMPRESS_THRESHOLD_BYTES;
}

/** Sum of the UTF-8 sizes of `texts`, stopping early once past the threshold (the common small case costs one pass over short strings). */
function sizeOver(texts: readonly string[]): boolean {
  let n = 0;
  for (const t of texts) {
    // length is a lower bound of the UTF-8 size; exact size only when it matters.
    n += t.length;
    if (n > COMPRESS_THRESHOLD_BYTES) return true;
  }
  return texts.reduce((a, t) => a + Buffer.byteLength(t), 0) > COMPRESS_THRESHOLD_BYTES;
}

/**
 * The wire form of a message: `m` itself when its text is small, else a copy
 * whose `data` is the encoded JSON `{"data":[...],"previousOutput":...}`.
 */
export function encodeMessageFields<T extends { data: string[]; previousOutput?: string }>(m: T): T | Omit<T, 'data'> {
  const texts = m.previousOutput === undefined ? m.data : [...m.data, m.previousOutput];
  if (!sizeOver(texts)) return m;
  const inner: { data: string[]; previousOutput?: string } = { data: m.data };
  if (m.previousOutput !== undefined) inner.previousOutput = m.previousOutput;
  const json = JSON.stringify(inner);
  const encoded = encodeText(json);
  // Random text grows by a third in base64: sent as it is when encoding does not make it smaller.
  if (encoded.value.length >= json.length) return m;
  const out = { ...m, data: encoded } as unknown as T;
  delete out.previousOutput;
  return out;
}

/**
 * A received message object with an encoded `data` inflated back to its
 * `data` and `previousOutput`; `raw` itself when it is not encoded.
 * `chunks` gives the whole of a chunked `data` (see chunkedPayload.ts): it
 * throws `ChunksMissing` while chunks are still to come; without it a
 * chunked `data` is refused.
 *
 * @throws {@link ValidationError} when the encoding is bad or inflates too far.
 */
export function decodeMessageFields(raw: unknown, maxBytes = MAX_DECODED_BYTES, chunks?: (ref: ChunkRef) => string): unknown {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return raw;
  const o = raw as Record<string, unknown>;
  if (typeof o.data !== 'object' || o.data === null || Array.isArray(o.data)) return raw;
  if (o.previousOutput !== undefined)
    throw new ValidationError([{ field: 'previousOutput', reason: 'must not be set beside an encoded data (it travels inside it)' }]);
  let inner: unknown;
  try {
    if (isChunkRef(o.data)) {
      // The whole's bound is the receiver's own (--maxChunkedBytes), checked by `chunks`.
      const ref = parseChunkRef(o.data, 'data', Number.MAX_SAFE_INTEGER);
      if (!chunks) throw new ValidationError([{ field: 'data', reason: 'is chunked, which is not taken here' }]);
      inner = JSON.parse(chunks(ref));
    } else inner = JSON.parse(decodeValue(o.data, 'data', maxBytes));
  } catch (err) {
    if (!(err instanceof SyntaxError)) throw err;
    throw new ValidationError([{ field: 'data', reason: `encoded value is not JSON: ${(err as Error).message}` }]);
  }
  if (typeof inner !== 'object' || inner === null || Array.isArray(inner))
    throw new ValidationError([{ field: 'data', reason: 'encoded value must be {"data":[...]}' }]);
  const { data, previousOutput } = inner as Record<string, unknown>;
  const decoded: Record<string, unknown> = { ...o, data };
  if (previousOutput !== undefined) decoded.previousOutput = previousOutput;
  return decoded;
}
