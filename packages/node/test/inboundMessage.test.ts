/**
 * A message as it arrives on a subscriber's subject: parsed from untrusted
 * bytes, checked against the subject it came on (each mismatch named by its
 * field), and a reply taken only as the answer to a request of ours.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Msg } from '@nats-io/transport-node';
import { subjectOf, type WireMessage } from '@steward/core';
import { defaultConfig } from '../src/node/config.js';
import { parseInbound, verifyInbound } from '../src/execution/inboundMessage.js';
import { servicesKit, type ServicesKit } from './servicesKit.js';

/** A wire message from `central` to `ship1`, with `extra` fields. */
function wire(extra: Partial<WireMessage> = {}): WireMessage {
  return {
    id: 'msg-1',
    fromNode: 'central',
    toNode: 'ship1',
    method: 'CLICommand',
    commandOrEvent: 'CommandACK',
    data: ['true'],
    createdAt: Date.now(),
    timeout: 10,
    retries: 1,
    methodTimeout: 10,
    ...extra,
  };
}

/** What arrived on `subject` with body `body` (pure data: parseInbound reads only these two fields). */
function arrived(subject: string, body: string | Uint8Array): Msg {
  return { subject, data: typeof body === 'string' ? new TextEncoder().encode(body) : body } as unknown as Msg;
}

const config = defaultConfig('ship1', '/nonexistent-steward-unit-test');
const subject = 'ship1.CommandACK.CLICommand';

describe('parseInbound', () => {
  it('takes a message that matches its subject', () => {
    const r = parseInbound(arrived(subject, JSON.stringify(wire())), 'CommandACK', 'CLICommand', config);
    assert.ok(r.ok, JSON.stringify(r));
    assert.equal(r.m.id, 'msg-1');
    assert.equal(r.raw.fromNode, 'central');
  });

  it('refuses a payload larger than the limit before parsing it', () => {
    const body = JSON.stringify(wire({ data: ['x'.repeat(2000)] }));
    const r = parseInbound(arrived(subject, body), 'CommandACK', 'CLICommand', { ...config, maxPayloadBytes: 1024 });
    assert.equal(r.ok, false);
    assert.ok(!r.ok);
    assert.match(r.text, /field "\(payload\)": larger than 1024 bytes/);
    assert.equal(r.rawId, '', 'not parsed, so no id');
  });

  it('refuses what is not JSON', () => {
    const r = parseInbound(arrived(subject, '{"id": "abc", oops'), 'CommandACK', 'CLICommand', config);
    assert.ok(!r.ok);
    assert.match(r.text, /^not JSON: /);
  });

  for (const [field, extra, kind, method] of [
    ['toNode', { toNode: 'ship2' }, 'CommandACK', 'CLICommand'],
    ['method', {}, 'CommandACK', 'REQHello'],
    ['commandOrEvent', {}, 'EventACK', 'CLICommand'],
  ] as const) {
    it(`refuses a message whose ${field} does not match the subject it came on, naming the field and keeping its id`, () => {
      const r = parseInbound(arrived(subject, JSON.stringify(wire(extra))), kind, method, config);
      assert.ok(!r.ok);
      assert.match(r.text, new RegExp(`field "${field}": is "`));
      assert.equal(r.rawId, 'msg-1', 'the sender can match the refusal to its message');
    });
  }

  it('names every problem of a message that does not parse, and keeps no id that is not one', () => {
    const body = JSON.stringify({ ...wire(), id: 'bad id!', createdAt: 'yesterday' });
    const r = parseInbound(arrived(subject, body), 'CommandACK', 'CLICommand', config);
    assert.ok(!r.ok);
    assert.match(r.text, /field "id"/);
    assert.match(r.text, /field "createdAt"/);
    assert.equal(r.rawId, '');
  });
});

describe('verifyInbound (real journal)', () => {
  let kit: ServicesKit;
  before(async () => (kit = await servicesKit('central')));
  after(async () => kit?.close());

  const noClaims = (): string | undefined => undefined;

  it('passes an ordinary message through unchanged (no security: nothing to refuse)', () => {
    const m = wire({ toNode: 'central', fromNode: 'ship1' });
    const v = verifyInbound(kit.s, undefined, { m, raw: { ...m } }, noClaims);
    assert.equal(v.refusal, undefined);
    assert.equal(v.answers, undefined);
    assert.deepEqual(v.m, m);
  });

  it('refuses as unsolicited a reply to a request this node never sent', () => {
    const m = wire({
      toNode: 'central',
      fromNode: 'ship1',
      method: 'CLICommandReply',
      commandOrEvent: 'EventACK',
      previousMessageId: 'never-sent',
    });
    const v = verifyInbound(kit.s, undefined, { m, raw: { ...m } }, noClaims);
    assert.equal(v.refusal?.code, 'unsolicited');
    assert.match(v.refusal!.reason, /never sent/);
  });

  it('takes a reply to its own request, rebuilt from the request; refuses one from another node and a second one', async () => {
    const request: WireMessage = {
      ...wire({ id: 'req-1', fromNode: 'central', toNode: 'ship1', method: 'CLICommandRequest', commandOrEvent: 'EventACK' }),
      directory: 'from-request',
      fileName: 'out.txt',
    };
    await kit.s.journal.submit([{ message: request, subject: subjectOf(request) }]);
    // The reply tries to choose where its output goes: the request decides.
    const reply = wire({
      id: 'rep-1',
      toNode: 'central',
      fromNode: 'ship1',
      method: 'CLICommandReply',
      commandOrEvent: 'EventACK',
      previousMessageId: 'req-1',
      data: ['output'],
      directory: '/etc',
      fileName: 'passwd',
    });
    const v = verifyInbound(kit.s, undefined, { m: reply, raw: { ...reply } }, noClaims);
    assert.equal(v.refusal, undefined, JSON.stringify(v.refusal));
    assert.equal(v.answers, 'req-1');
    assert.equal(v.m.directory, 'from-request');
    assert.equal(v.m.fileName, 'out.txt');
    assert.deepEqual(v.m.data, ['output']);

    const impostor = { ...reply, id: 'rep-2', fromNode: 'ship9' };
    const vi = verifyInbound(kit.s, undefined, { m: impostor, raw: { ...impostor } }, noClaims);
    assert.equal(vi.refusal?.code, 'unsolicited');
    assert.match(vi.refusal!.reason, /not to "ship9"/);

    // Another reply while the first one is being taken (claimed, not journaled yet).
    const second = { ...reply, id: 'rep-3' };
    const vs = verifyInbound(kit.s, undefined, { m: second, raw: { ...second } }, (id) => (id === 'req-1' ? 'rep-1' : undefined));
    assert.equal(vs.refusal?.code, 'unsolicited');
    assert.match(vs.refusal!.reason, /answered already \(by rep-1\)/);
  });
});
