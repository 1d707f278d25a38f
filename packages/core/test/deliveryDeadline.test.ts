/** The delivery machine's `DEADLINE` event (a message's ttl), on simulated time. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createActor } from 'xstate';
import { deliveryMachine, publishWith } from '../src/deliveryMachine.js';
import { parseMessageSpec, parseWireMessage, toWireMessage } from '../src/message.js';
import { silentDelivery } from './silentDelivery.js';
import { TestClock } from './testClock.js';

/** A delivery whose receiver never answers (every publish succeeds, no ACK). */
const silent = silentDelivery;

describe('delivery machine: deadline', () => {
  it('a queued message whose deadline passed expires without a send', () => {
    const { actor, attempts } = silent();
    actor.send({ type: 'DEADLINE' });
    const snap = actor.getSnapshot();
    assert.equal(snap.value, 'expired');
    assert.deepEqual(attempts, []);
    assert.deepEqual(snap.output, { status: 'expired', attempts: 0, deadlinePassed: true, lastError: 'deadline passed' });
  });

  it('a message waiting to resend expires at once, and is never sent again', async () => {
    const { actor, attempts, state, until } = silent({ retryWaitMs: 1000 });
    actor.send({ type: 'SEND' });
    await until('the first ACK timeout', () => state() === 'retryWait');
    actor.send({ type: 'DEADLINE' });
    const snap = actor.getSnapshot();
    assert.equal(snap.value, 'expired');
    assert.equal(snap.output?.deadlinePassed, true);
    assert.match(snap.output?.lastError ?? '', /^deadline passed \(last attempt: no ACK within 0.03s\)$/);
    assert.deepEqual(attempts, [1]);
  });

  it('an attempt on its way is still answered, then no resend follows', async () => {
    const { actor, attempts, state, until } = silent();
    actor.send({ type: 'SEND' });
    await until('the send', () => state() === 'awaitingAck');
    actor.send({ type: 'DEADLINE' });
    assert.equal(state(), 'awaitingAck', 'the receiver may have it: wait for its answer');
    await until('the delivery to end', () => actor.getSnapshot().status === 'done');
    assert.equal(actor.getSnapshot().value, 'expired');
    assert.equal(actor.getSnapshot().output?.deadlinePassed, true);
    assert.deepEqual(attempts, [1], 'retries -1, yet no resend after the deadline');
  });

  it('an ACK after the deadline still counts: the receiver ran it', async () => {
    const { actor, state, until } = silent();
    actor.send({ type: 'SEND' });
    await until('the send', () => state() === 'awaitingAck');
    actor.send({ type: 'DEADLINE' });
    actor.send({ type: 'ACK', reply: { id: 'm1', node: 'ship1', status: 'succeeded' } });
    assert.equal(actor.getSnapshot().value, 'delivered');
    assert.equal(actor.getSnapshot().output?.deadlinePassed, undefined);
  });

  it('nobody listening after the deadline: expired without waiting out the ACK timeout', async () => {
    const { actor, state, until } = silent({ ackTimeoutMs: 60_000 });
    actor.send({ type: 'SEND' });
    await until('the send', () => state() === 'awaitingAck');
    actor.send({ type: 'NO_RESPONDERS' });
    actor.send({ type: 'DEADLINE' });
    assert.equal(actor.getSnapshot().value, 'expired');
    assert.equal(actor.getSnapshot().output?.lastError, 'deadline passed (last attempt: no responders)');
  });

  it('an attempt the publisher did not publish (unsent) is not counted', async () => {
    const clock = new TestClock();
    let release: () => void = () => undefined;
    const logic = deliveryMachine.provide({
      actions: publishWith(() => new Promise<void>((r) => (release = r))),
    });
    const actor = createActor(logic, {
      input: { id: 'm1', wantsAck: false, ackTimeoutMs: 30, retries: 0, retryWaitMs: 0, errorBackoffMs: 20 },
      clock,
    });
    actor.start();
    actor.send({ type: 'SEND' });
    actor.send({ type: 'DEADLINE', unsent: true });
    release();
    const snap = actor.getSnapshot();
    assert.equal(snap.value, 'expired');
    assert.deepEqual(snap.output, { status: 'expired', attempts: 0, deadlinePassed: true, lastError: 'deadline passed' });
  });
});

describe('message: ttl and deadline', () => {
  it('ttl is validated, and resolved into deadline = createdAt + ttl at acceptance', () => {
    const { spec } = parseMessageSpec({ toNode: 'ship1', method: 'CLICommand', data: ['true'], ttl: 3 });
    assert.equal(spec.ttl, 3);
    const wire = toWireMessage(spec, { fromNode: 'central', id: 'i1', now: 1000 }, { timeout: 10, retries: 1, methodTimeout: 10 });
    assert.equal(wire.deadline, 4000);
    assert.equal(parseWireMessage(wire).deadline, 4000);
    assert.throws(() => parseMessageSpec({ toNode: 'ship1', method: 'CLICommand', data: ['true'], ttl: 'soon' }), /ttl/);
    assert.throws(() => parseMessageSpec({ toNode: 'ship1', method: 'CLICommand', data: ['true'], ttl: 0 }), /ttl/);
  });

  it('a deadline given on input is ignored (with a warning), and no ttl means no deadline', () => {
    const { spec, warnings } = parseMessageSpec({ toNode: 'ship1', method: 'CLICommand', data: ['true'], deadline: 1 });
    assert.deepEqual(warnings, ['unknown field "deadline" ignored']);
    const wire = toWireMessage(spec, { fromNode: 'central', id: 'i1', now: 1000 }, { timeout: 10, retries: 1, methodTimeout: 10 });
    assert.equal(wire.deadline, undefined);
    assert.equal('deadline' in wire, false);
  });

  it('the wire refuses a deadline that is not a number', () => {
    const base = { toNode: 'ship1', method: 'CLICommand', data: ['true'], id: 'i1', fromNode: 'central', createdAt: 1 };
    assert.throws(() => parseWireMessage({ ...base, timeout: 1, retries: 0, methodTimeout: 1, deadline: 'x' }), /deadline/);
  });
});
