/**
 * Chunked payloads (chunkedPayload.ts): splitting, reassembly, the hash
 * check, the header and reference checks, and how message and ACK decoding
 * take a chunked field.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import {
  chunkData,
  ChunksMissing,
  decodeMessageFields,
  joinChunks,
  parseAckReply,
  parseChunkHeader,
  parseChunkRef,
  splitText,
  ValidationError,
  type ChunkRef,
} from '../src/index.js';

const problemsOf = (fn: () => unknown): string => {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof ValidationError, `a ValidationError, not ${String(err)}`);
    return err.problems.map((p) => `${p.field}: ${p.reason}`).join('; ');
  }
  assert.fail('no error');
};

describe('splitText and joinChunks', () => {
  it('round-trips text that gzip does not shrink in raw slices', () => {
    const text = randomBytes(20).toString('hex');
    const { ref, slices } = splitText(text, 10);
    assert.equal(ref.gzip, undefined);
    assert.equal(ref.count, 4);
    assert.equal(ref.bytes, 40);
    assert.equal(Buffer.from(slices[1]!, 'base64').toString(), text.slice(10, 20));
    assert.equal(joinChunks(ref, slices, 'output'), text);
  });

  it('round-trips 300 kB of random base64 (gzipped: base64 shrinks by a quarter)', () => {
    const text = randomBytes(300_000).toString('base64');
    const { ref, slices } = splitText(text, 100_000);
    assert.equal(ref.bytes, Buffer.byteLength(text));
    assert.equal(ref.count, 4);
    assert.equal(joinChunks(ref, slices, 'output'), text);
  });

  it('gzips compressible text first, and round-trips multi-byte UTF-8', () => {
    const text = 'ligne répétée, 日本語\n'.repeat(50_000);
    const { ref, slices } = splitText(text, 10_000);
    assert.equal(ref.gzip, true);
    assert.ok(ref.count < Buffer.byteLength(text) / 10_000 / 10, `${ref.count} chunks`);
    assert.equal(joinChunks(ref, slices, 'output'), text);
  });

  it('makes one chunk of an empty text', () => {
    const { ref, slices } = splitText('', 1000);
    assert.equal(ref.count, 1);
    assert.equal(joinChunks(ref, slices, 'output'), '');
  });

  it('is undefined while a slice is missing', () => {
    const { ref, slices } = splitText(randomBytes(5000).toString('hex'), 1000);
    const some = [...slices];
    some[3] = undefined as unknown as string;
    assert.equal(joinChunks(ref, some, 'output'), undefined);
    assert.equal(joinChunks(ref, slices.slice(0, -1), 'output'), undefined);
  });

  it('refuses slices that do not make the whole named, naming the field', () => {
    const text = randomBytes(20).toString('hex');
    const { ref, slices } = splitText(text, 10);
    const altered = [...slices];
    altered[2] = Buffer.from('x'.repeat(10)).toString('base64');
    assert.match(
      problemsOf(() => joinChunks(ref, altered, 'output')),
      /^output: chunks do not make the whole named/,
    );
    // Slices of another whole of the same shape do not pass either.
    const other = splitText(randomBytes(20).toString('hex'), 10);
    assert.match(
      problemsOf(() => joinChunks(ref, other.slices, 'data')),
      /^data: chunks do not make/,
    );
    // Nor altered gzip slices.
    const zipped = splitText('a'.repeat(100_000), 50);
    const bad = [...zipped.slices];
    bad[1] = Buffer.from('x'.repeat(50)).toString('base64');
    assert.match(
      problemsOf(() => joinChunks(zipped.ref, bad, 'output')),
      /^output: chunks are not valid gzip/,
    );
  });

  it('refuses gzip slices that inflate past the size named', () => {
    const { ref, slices } = splitText('a'.repeat(100_000), 1000);
    const lying: ChunkRef = { ...ref, bytes: 1000 };
    assert.match(
      problemsOf(() => joinChunks(lying, slices, 'output')),
      /^output: chunks are not valid gzip of 1000 bytes/,
    );
  });
});

describe('chunk references and headers', () => {
  const { ref, slices } = splitText(randomBytes(3000).toString('hex'), 1000);

  it('checks every field of a reference, naming it', () => {
    assert.deepEqual(parseChunkRef(JSON.parse(JSON.stringify(ref)), 'output', 1e9), ref);
    assert.match(
      problemsOf(() => parseChunkRef({ ...ref, sha256: 'abc' }, 'output', 1e9)),
      /^output: chunk reference: sha256/,
    );
    assert.match(
      problemsOf(() => parseChunkRef({ ...ref, count: 0 }, 'data', 1e9)),
      /^data: chunk reference: count/,
    );
    assert.match(
      problemsOf(() => parseChunkRef({ ...ref, bytes: -1 }, 'data', 1e9)),
      /^data: chunk reference: bytes/,
    );
    assert.match(
      problemsOf(() => parseChunkRef(ref, 'data', 100)),
      /more than the limit of 100/,
    );
  });

  it('a Chunk message data is [header, slice]; its header names the whole, the field and the index', () => {
    const data = chunkData({ ref, slices }, 'msg-1', 'output', 2);
    const h = parseChunkHeader(data);
    assert.equal(h.of, 'msg-1');
    assert.equal(h.field, 'output');
    assert.equal(h.index, 2);
    assert.equal(h.sha256, ref.sha256);
    assert.equal(data[1], slices[2]);
  });

  it('refuses a bad header, naming the field', () => {
    const [header, slice] = chunkData({ ref, slices }, 'msg-1', 'output', 0);
    const h = JSON.parse(header!) as Record<string, unknown>;
    assert.match(
      problemsOf(() => parseChunkHeader([header!])),
      /^data: a Chunk must be/,
    );
    assert.match(
      problemsOf(() => parseChunkHeader(['{', slice!])),
      /^data\[0\]: chunk header is not JSON/,
    );
    assert.match(
      problemsOf(() => parseChunkHeader([JSON.stringify({ ...h, index: ref.count }), slice!])),
      /data\[0\]\.index: must be/,
    );
    assert.match(
      problemsOf(() => parseChunkHeader([JSON.stringify({ ...h, of: 'a b' }), slice!])),
      /data\[0\]\.of: must be/,
    );
    assert.match(
      problemsOf(() => parseChunkHeader([JSON.stringify({ ...h, field: 'x' }), slice!])),
      /data\[0\]\.field/,
    );
    assert.match(
      problemsOf(() => parseChunkHeader([header!, 'not base64!'])),
      /data\[1\]: must be base64/,
    );
  });
});

describe('decoding a chunked field', () => {
  const inner = { data: ['line\n'.repeat(10)], previousOutput: 'out' };
  const { ref, slices } = splitText(JSON.stringify(inner), 20);
  const message = { id: 'm1', fromNode: 'ship1', data: JSON.parse(JSON.stringify(ref)) as unknown };

  it('a message takes the whole its resolver gives, in place of data and previousOutput', () => {
    const decoded = decodeMessageFields(message, undefined, (r) => joinChunks(r, slices, 'data')!) as Record<string, unknown>;
    assert.deepEqual(decoded.data, inner.data);
    assert.equal(decoded.previousOutput, 'out');
  });

  it('passes on ChunksMissing from its resolver, and refuses a chunked data without one', () => {
    assert.throws(
      () =>
        decodeMessageFields(message, undefined, (r) => {
          throw new ChunksMissing('m1', r);
        }),
      (e: unknown) => e instanceof ChunksMissing && e.of === 'm1',
    );
    assert.match(
      problemsOf(() => decodeMessageFields(message)),
      /^data: is chunked, which is not taken here/,
    );
  });

  it('an ACK with a chunked output says so in outputChunks, without an output', () => {
    const ack = parseAckReply({ id: 'm1', node: 'ship1', status: 'succeeded', output: JSON.parse(JSON.stringify(ref)) as unknown });
    assert.deepEqual(ack.outputChunks, ref);
    assert.equal(ack.output, undefined);
    assert.match(
      problemsOf(() => parseAckReply({ id: 'm1', node: 'ship1', status: 'succeeded', output: { ...ref, count: -1 } })),
      /^output: chunk reference: count/,
    );
  });
});
