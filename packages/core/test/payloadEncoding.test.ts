/**
 * The wire encoding of large payloads (payloadEncoding.ts): round trips,
 * small payloads untouched (same object: no cost when unused), what a node
 * that does not decode makes of an encoded message, and the inflate bound.
 */
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { describe, it } from 'node:test';
import { gzipSync } from 'node:zlib';
import { ackSignatureValid, encodeAck, parseAckReply, signAck, type AckReply } from '../src/ack.js';
import { ValidationError } from '../src/errors.js';
import { parseWireMessage } from '../src/message.js';
import { COMPRESS_THRESHOLD_BYTES, decodeMessageFields, decodeValue, encodeMessageFields, GZIP_BASE64 } from '../src/payloadEncoding.js';

const wire = (data: string[], extra: Record<string, unknown> = {}) => ({
  id: 'm1',
  fromNode: 'central',
  toNode: 'ship1',
  method: 'CLICommandReply',
  commandOrEvent: 'EventACK',
  data,
  createdAt: 1,
  timeout: 10,
  retries: 1,
  methodTimeout: 10,
  ...extra,
});

describe('payload encoding', () => {
  it('leaves a message at or below the threshold as it is (the same object)', () => {
    const m = wire(['x'.repeat(COMPRESS_THRESHOLD_BYTES)]);
    assert.equal(encodeMessageFields(m), m);
  });

  it('a large message travels as {encoding, value} in data and comes back identical, previousOutput included', () => {
    const text = 'line of output é ✓\n'.repeat(100_000);
    const m = wire(['a', 'b'], { previousOutput: text });
    const sent = JSON.parse(JSON.stringify(encodeMessageFields(m))) as Record<string, unknown>;
    assert.equal((sent.data as { encoding: string }).encoding, GZIP_BASE64);
    assert.equal(sent.previousOutput, undefined);
    assert.ok(JSON.stringify(sent).length < text.length / 20, 'compressed');
    assert.deepEqual(parseWireMessage(decodeMessageFields(sent)), parseWireMessage(m));
  });

  it('a node that does not decode refuses an encoded message by its data field (never runs the base64)', () => {
    const sent = encodeMessageFields(wire(['y'.repeat(100_000)]));
    assert.throws(
      () => parseWireMessage(JSON.parse(JSON.stringify(sent))),
      (e: unknown) => e instanceof ValidationError && /data/.test(e.message) && /array of strings/.test(e.message),
    );
  });

  it('an ACK output above the threshold is encoded, signed in its wire form, and parsed back whole', () => {
    const { privateKey, publicKey } = generateKeyPairSync('ed25519');
    const reply: AckReply = { id: 'm1', node: 'ship1', status: 'succeeded', output: 'z'.repeat(200_000) };
    const body = JSON.parse(JSON.stringify(signAck(encodeAck(reply), privateKey))) as Record<string, unknown>;
    assert.equal((body.output as { encoding: string }).encoding, GZIP_BASE64);
    assert.ok(ackSignatureValid(body, publicKey));
    assert.equal(parseAckReply(body).output, reply.output);
    // Altered compressed output: the signature no longer verifies.
    const altered = { ...body, output: { encoding: GZIP_BASE64, value: gzipSync('forged').toString('base64') } };
    assert.equal(ackSignatureValid(altered, publicKey), false);
    const small: AckReply = { id: 'm2', node: 'ship1', status: 'succeeded', output: 'ok\n' };
    assert.equal(encodeAck(small), small);
  });

  it('refuses a value that inflates past the bound, or is not gzip', () => {
    const bomb = { encoding: GZIP_BASE64, value: gzipSync(Buffer.alloc(1024 * 1024)).toString('base64') };
    assert.throws(() => decodeValue(bomb, 'data', 64 * 1024), /within 65536 bytes/);
    assert.throws(() => decodeValue({ encoding: GZIP_BASE64, value: 'bm90IGd6aXA=' }, 'data'), ValidationError);
    assert.throws(() => decodeValue({ encoding: 'zstd+base64', value: '' }, 'data'), ValidationError);
    // An ACK with an output that is not valid gzip is malformed.
    assert.throws(
      () => parseAckReply({ id: 'a', node: 'b', status: 'succeeded', output: { encoding: GZIP_BASE64, value: 'bm90' } }),
      ValidationError,
    );
  });
});
