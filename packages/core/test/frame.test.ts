/** Frames (frame.ts): packing messages into frames, and a frame's signature. */
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { describe, it } from 'node:test';
import { encodeFrame, frameRuns, frameSignatureValid, MESSAGE_FRAME_TAG, parseMessageFrame, splitFrame } from '../src/frame.js';

describe('frames', () => {
  it('packs in order, within the byte and entry limits, and a large item alone in its place', () => {
    const items = ['a', 'b', 'BIG', 'c', 'd', 'e'];
    const runs = frameRuns(
      items,
      (s) => (s === 'BIG' ? 100 : 10),
      25,
      2,
      (s) => s === 'BIG',
    );
    assert.deepEqual(runs, [['a', 'b'], ['BIG'], ['c', 'd'], ['e']]);
    assert.deepEqual(
      frameRuns(['x', 'y', 'z'], () => 10, 25),
      [['x', 'y'], ['z']],
    );
    assert.deepEqual(
      frameRuns([], () => 1, 10),
      [],
    );
  });

  it('verifies against its signer only, and not once a byte changed', () => {
    const signer = generateKeyPairSync('ed25519');
    const other = generateKeyPairSync('ed25519');
    const json = JSON.stringify({ fromNode: 'central', toNode: 'ship1', expiresAt: 1, messages: [{ id: 'm1' }] });
    const wire = encodeFrame(MESSAGE_FRAME_TAG, json, signer.privateKey);
    const frame = splitFrame(wire, MESSAGE_FRAME_TAG);
    assert.equal(parseMessageFrame(frame).fromNode, 'central');
    assert.equal(frameSignatureValid(frame, signer.publicKey), true);
    assert.equal(frameSignatureValid(frame, other.publicKey), false);
    const altered = Buffer.from(wire.toString('utf8').replace('ship1', 'ship2'), 'utf8');
    assert.equal(frameSignatureValid(splitFrame(altered, MESSAGE_FRAME_TAG), signer.publicKey), false);
    assert.equal(
      frameSignatureValid(splitFrame(encodeFrame(MESSAGE_FRAME_TAG, json, undefined), MESSAGE_FRAME_TAG), signer.publicKey),
      false,
    );
  });
});
