/**
 * Pipelined ordered delivery, receiver side: a message that overtakes the
 * one it follows is held (not journaled, not ACKed) until that one is taken;
 * a resend keeps only its newest copy; beyond the bound the oldest is dropped.
 */
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { describe, it } from 'node:test';
import type { WireMessage } from '@steward/core';
import { HeldMessages } from '../src/execution/heldMessages.js';
import type { Arrival } from '../src/execution/inboundMessage.js';
import { createLogger } from '../src/observability/logger.js';

/** A HeldMessages whose log lines are kept in memory. */
function held(): { h: HeldMessages; lines: () => Promise<string[]> } {
  const stream = new PassThrough();
  let text = '';
  stream.on('data', (c: Buffer) => (text += c.toString()));
  const h = new HeldMessages(createLogger({ node: 'held-test', format: 'json', stream }));
  return {
    h,
    lines: async () => {
      await new Promise((r) => setImmediate(r));
      return text.split('\n').filter(Boolean);
    },
  };
}

/** The parsed message `id`, following `follows`. */
function wire(id: string, follows: string): WireMessage {
  return {
    id,
    follows,
    fromNode: 'central',
    toNode: 'ship1',
    method: 'CLICommand',
    commandOrEvent: 'CommandACK',
    data: ['true'],
    createdAt: 1,
    timeout: 10,
    retries: 1,
    methodTimeout: 10,
  };
}

/** The raw NATS message `id` arrived as (pure data: only its identity matters here). */
function raw(id: string): Arrival {
  return { subject: 'ship1.CommandACK.CLICommand', data: new TextEncoder().encode(id) };
}

const idOf = (msg: Arrival | undefined): string | undefined => (msg?.data ? new TextDecoder().decode(msg.data) : undefined);

describe('HeldMessages', () => {
  it('holds a message that overtook its predecessor and releases it when the predecessor is taken', async () => {
    const { h, lines } = held();
    h.hold(wire('m2', 'm1'), raw('m2'));
    assert.equal(h.size, 1);
    // Something unrelated taken releases nothing.
    assert.equal(h.followerOf('other'), undefined);
    assert.equal(h.size, 1);
    assert.equal(idOf(h.followerOf('m1')), 'm2');
    assert.equal(h.size, 0);
    // Taken once only.
    assert.equal(h.followerOf('m1'), undefined);
    const logged = (await lines()).map((l) => JSON.parse(l) as { message: string; id?: string });
    assert.ok(
      logged.some((l) => l.id === 'm2' && l.message.includes('arrived before m1')),
      JSON.stringify(logged),
    );
  });

  it('releases a chain one link at a time, in order', () => {
    const { h } = held();
    h.hold(wire('m4', 'm3'), raw('m4'));
    h.hold(wire('m3', 'm2'), raw('m3'));
    h.hold(wire('m2', 'm1'), raw('m2'));
    assert.equal(h.size, 3);
    const order: string[] = [];
    let next = 'm1';
    for (let msg = h.followerOf(next); msg; msg = h.followerOf(next)) order.push((next = idOf(msg)!));
    assert.deepEqual(order, ['m2', 'm3', 'm4']);
    assert.equal(h.size, 0);
  });

  it('keeps only the newest copy of a resend that names another predecessor', () => {
    const { h } = held();
    h.hold(wire('m3', 'm1'), raw('m3 first'));
    h.hold(wire('m3', 'm2'), raw('m3 resent'));
    assert.equal(h.size, 1);
    assert.equal(h.followerOf('m1'), undefined, 'the copy waiting for m1 was replaced');
    assert.equal(idOf(h.followerOf('m2')), 'm3 resent');
  });

  it('a second message naming the same predecessor displaces the first', () => {
    const { h } = held();
    h.hold(wire('a', 'm1'), raw('a'));
    h.hold(wire('b', 'm1'), raw('b'));
    assert.equal(h.size, 1);
    assert.equal(idOf(h.followerOf('m1')), 'b');
  });

  it('drops the oldest beyond 4096 held messages (its sender resends it)', () => {
    const { h } = held();
    for (let i = 0; i < 4096; i++) h.hold(wire(`m${i + 1}`, `p${i}`), raw(`m${i + 1}`));
    assert.equal(h.size, 4096);
    h.hold(wire('late', 'pLate'), raw('late'));
    assert.equal(h.size, 4096);
    assert.equal(h.followerOf('p0'), undefined, 'the oldest was dropped');
    assert.equal(idOf(h.followerOf('p1')), 'm2', 'the next oldest is still held');
    assert.equal(idOf(h.followerOf('pLate')), 'late');
  });

  it('unhold and clear forget held messages', () => {
    const { h } = held();
    h.hold(wire('m2', 'm1'), raw('m2'));
    h.hold(wire('x2', 'x1'), raw('x2'));
    h.unhold('m2');
    h.unhold('never-held');
    assert.equal(h.size, 1);
    assert.equal(h.followerOf('m1'), undefined);
    h.clear();
    assert.equal(h.size, 0);
    assert.equal(h.followerOf('x1'), undefined);
  });

  it('remembers refused ids, at most 1024, oldest forgotten first', () => {
    const { h } = held();
    assert.equal(h.wasRefused('r0'), false);
    for (let i = 0; i < 1025; i++) h.refuse(`r${i}`);
    assert.equal(h.wasRefused('r0'), false, 'the oldest was forgotten');
    assert.equal(h.wasRefused('r1'), true);
    assert.equal(h.wasRefused('r1024'), true);
  });
});
