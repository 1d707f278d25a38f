/**
 * Chunks on a node (execution/chunks.ts, security/chunkGuard.ts), on real
 * services: a whole is read only from its own sender's chunks, what a
 * received chunk is taken as, and an ACK waiting for its chunked output.
 */
import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { chunkData, splitText, type OutboxRecord, type SplitText, type WireMessage } from '@steward/core';
import type { Msg } from '@nats-io/transport-node';
import { chunkArrived, chunkKey, holdUntilChunks, wholeFromInbox, wholeOfMessage, wholeReply } from '../src/execution/chunks.js';
import { parseInbound } from '../src/execution/inboundMessage.js';
import { chunkVerdict } from '../src/security/chunkGuard.js';
import { servicesKit, type ServicesKit } from './servicesKit.js';

function chunkMessage(from: string, whole: SplitText, of: string, index: number, slice?: string): WireMessage {
  const data = chunkData(whole, of, 'output', index);
  return {
    id: randomUUID(),
    fromNode: from,
    toNode: 'central',
    method: 'Chunk',
    commandOrEvent: 'EventACK',
    data: slice === undefined ? data : [data[0]!, slice],
    createdAt: Date.now(),
    timeout: 10,
    retries: 1,
    methodTimeout: 10,
    previousMessageId: of,
  };
}

describe('chunks on a node (real services)', () => {
  let kit: ServicesKit;
  before(async () => (kit = await servicesKit('central')));
  after(async () => kit?.close());

  const store = (m: WireMessage, of: string) => kit.s.journal.insertInbox(m, 'central.EventACK.Chunk', chunkKey(of));

  it('reads a whole only from its own sender: chunks another node stored first are never read', async () => {
    const of = randomUUID();
    const text = randomBytes(3000).toString('hex');
    const whole = splitText(text, 1000);
    // ship2 gets its made-up chunks stored first, naming the same whole and hash.
    for (let i = 0; i < whole.ref.count; i++) await store(chunkMessage('ship2', whole, of, i, Buffer.from('bogus').toString('base64')), of);
    assert.equal(wholeFromInbox(kit.s, of, 'ship1', whole.ref, 'output'), undefined, 'none of ship1 yet');
    for (let i = 0; i < whole.ref.count - 1; i++) await store(chunkMessage('ship1', whole, of, i), of);
    assert.equal(wholeFromInbox(kit.s, of, 'ship1', whole.ref, 'output'), undefined, 'one still missing');
    await store(chunkMessage('ship1', whole, of, whole.ref.count - 1), of);
    assert.equal(wholeFromInbox(kit.s, of, 'ship1', whole.ref, 'output'), text);
    assert.throws(
      () => wholeFromInbox(kit.s, of, 'ship2', whole.ref, 'output'),
      /output.*chunks (do not make the whole|are not valid gzip)/,
    );
  });

  it('refuses a whole larger than --maxChunkedBytes before reading a chunk', () => {
    const whole = splitText('x', 10);
    const big = { ...whole.ref, bytes: kit.s.config.maxChunkedBytes + 1 };
    assert.throws(() => wholeFromInbox(kit.s, randomUUID(), 'ship1', big, 'output'), /more than --maxChunkedBytes/);
  });

  it('a chunk naming a request of ours is taken as its answer only from the node the request went to', async () => {
    const request: WireMessage = {
      id: randomUUID(),
      fromNode: 'central',
      toNode: 'ship1',
      method: 'CLICommand',
      commandOrEvent: 'CommandACK',
      data: ['true'],
      createdAt: Date.now(),
      timeout: 10,
      retries: 1,
      methodTimeout: 10,
    };
    await kit.s.journal.submit([{ message: request, subject: 'ship1.CommandACK.CLICommand' }]);
    const whole = splitText('out', 10);
    assert.deepEqual(chunkVerdict(kit.s.journal, chunkMessage('ship1', whole, request.id, 0)), {
      kind: 'answer',
      key: chunkKey(request.id),
    });
    const forged = chunkVerdict(kit.s.journal, chunkMessage('ship2', whole, request.id, 0));
    assert.equal(forged.kind, 'refused');
    assert.match((forged as { reason: string }).reason, /went to "ship1", not to "ship2"/);
    // Naming no request of ours: an ordinary message of its sender (the ACL decides), still stored under its whole.
    const { previousMessageId: _p, ...unsolicited } = chunkMessage('ship2', whole, 'other-id', 0);
    assert.deepEqual(chunkVerdict(kit.s.journal, unsolicited), { kind: 'message', key: chunkKey('other-id') });
    assert.equal(chunkVerdict(kit.s.journal, { ...unsolicited, data: ['{}', 'AA=='] }).kind, 'refused');
  });

  it('an ACK with a chunked output is told once the last chunk is here, with the whole output', async () => {
    const of = randomUUID();
    const text = randomBytes(2000).toString('hex');
    const whole = splitText(text, 1000);
    const rec = {
      seq: 1,
      id: of,
      subject: 'ship1.CommandACK.CLICommand',
      message: { ...chunkMessage('central', whole, of, 0), id: of, toNode: 'ship1', method: 'CLICommand', commandOrEvent: 'CommandACK' },
      state: 'awaitingAck',
      attempts: 1,
      createdAt: Date.now(),
      updatedAt: Date.now(),
    } as OutboxRecord;
    const reply = { id: of, node: 'ship1', status: 'succeeded' as const, outputChunks: whole.ref };
    let told: string | undefined;
    const waiting = wholeReply(kit.s, rec, reply).then((r) => (told = r?.output));
    assert.equal(await wholeReply(kit.s, rec, reply), undefined, 'a second ACK of the same message leaves the telling to the first');
    for (let i = 0; i < whole.ref.count; i++) {
      assert.equal(told, undefined, `not told before chunk ${i}`);
      await store(chunkMessage('ship1', whole, of, i), of);
      chunkArrived(kit.s, of);
      await new Promise((r) => setImmediate(r));
    }
    await waiting;
    assert.equal(told, text);
  });

  it('a received message with a chunked data parses whole once the chunks of its sender are here, and waits until then', async () => {
    const id = randomUUID();
    const data = [randomBytes(2000).toString('hex')];
    const whole = splitText(JSON.stringify({ data }), 1000);
    const wire = {
      id,
      fromNode: 'ship1',
      toNode: 'central',
      method: 'TextLogging',
      commandOrEvent: 'EventACK',
      data: whole.ref,
      createdAt: Date.now(),
      timeout: 10,
      retries: 1,
      methodTimeout: 10,
    };
    const msg = { subject: 'central.EventACK.TextLogging', data: new TextEncoder().encode(JSON.stringify(wire)) } as unknown as Msg;
    const parse = () => parseInbound(msg, 'EventACK', 'TextLogging', kit.s.config, wholeOfMessage(kit.s));
    const chunk = (from: string, i: number): WireMessage => {
      const header = chunkData(whole, id, 'data', i);
      return { ...chunkMessage(from, whole, id, i), data: header };
    };
    const waiting = parse();
    assert.ok(!waiting.ok && waiting.missing?.of === id, JSON.stringify(waiting));
    // Held: taken again (once) when a chunk comes.
    let retries = 0;
    holdUntilChunks(kit.s, waiting.missing, () => retries++);
    for (let i = 0; i < whole.ref.count; i++) await store(chunk('ship2', i), id);
    chunkArrived(kit.s, id);
    chunkArrived(kit.s, id);
    assert.equal(retries, 1);
    assert.ok(!parse().ok, "another node's chunks do not complete it");
    for (let i = 0; i < whole.ref.count; i++) await store(chunk('ship1', i), id);
    const done = parse();
    assert.ok(done.ok, JSON.stringify(done));
    assert.deepEqual(done.m.data, data);
    // Without a resolver (an older caller), a chunked data is refused, naming the field.
    const refused = parseInbound(msg, 'EventACK', 'TextLogging', kit.s.config);
    assert.ok(!refused.ok && /data.*is chunked/.test(refused.text), JSON.stringify(refused));
  });
});
