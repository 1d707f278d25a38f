/** The `CANCEL` event of the delivery and execution machines (steward cancel), on simulated time. */
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { createActor } from 'xstate';
import type { AckReply } from '../src/ack.js';
import { deliveryMachine, type DeliveryInput, publishWith } from '../src/deliveryMachine.js';
import { executionMachine, executionWith, type ExecutionResult, type MethodOutcome } from '../src/executionMachine.js';
import { Journal } from '../src/journal.js';
import { silentDelivery } from './silentDelivery.js';
import { runUntil, TestClock } from './testClock.js';

/** A delivery whose receiver never answers (every publish succeeds, no ACK), retrying a second after each timeout. */
const silent = (input: Partial<DeliveryInput> = {}) => silentDelivery({ retryWaitMs: 1000, ...input });

const cancelledAck: AckReply = { id: 'm1', node: 'ship', status: 'cancelled', error: 'cancelled by central' };

describe('delivery machine: cancel', () => {
  it('a queued message is cancelled without a send', () => {
    const { actor, attempts } = silent();
    actor.send({ type: 'CANCEL' });
    const snap = actor.getSnapshot();
    assert.equal(snap.value, 'cancelled');
    assert.equal(snap.status, 'done');
    assert.deepEqual(snap.output, { status: 'cancelled', attempts: 0 });
    assert.deepEqual(attempts, []);
  });

  it('a message waiting to resend is cancelled at once, and never sent again', async () => {
    const { actor, attempts, state, until, clock } = silent();
    actor.send({ type: 'SEND' });
    await until('the first ACK timeout', () => state() === 'retryWait');
    actor.send({ type: 'CANCEL' });
    assert.equal(state(), 'cancelled');
    assert.equal(actor.getSnapshot().output?.status, 'cancelled');
    clock.increment(10_000);
    assert.deepEqual(attempts, [1]);
  });

  it('an attempt on its way waits for the receiver: its "cancelled" ACK ends the delivery cancelled', async () => {
    const { actor, state, until } = silent();
    actor.send({ type: 'SEND' });
    await until('the send', () => state() === 'awaitingAck');
    actor.send({ type: 'CANCEL' });
    assert.equal(state(), 'awaitingAck', 'the receiver may run it: its answer decides');
    actor.send({ type: 'ACK', reply: cancelledAck });
    const snap = actor.getSnapshot();
    assert.equal(snap.value, 'cancelled');
    assert.deepEqual(snap.output, { status: 'cancelled', attempts: 1, reply: cancelledAck });
  });

  it('an attempt on its way that finished first ends delivered', async () => {
    const { actor, state, until } = silent();
    actor.send({ type: 'SEND' });
    await until('the send', () => state() === 'awaitingAck');
    actor.send({ type: 'CANCEL' });
    actor.send({ type: 'ACK', reply: { id: 'm1', node: 'ship', status: 'succeeded' } });
    assert.equal(actor.getSnapshot().output?.status, 'delivered');
  });

  it('an unanswered attempt after a cancel is not resent', async () => {
    const { actor, attempts, state, until } = silent({ retryWaitMs: 0 });
    actor.send({ type: 'SEND' });
    await until('the send', () => state() === 'awaitingAck');
    actor.send({ type: 'CANCEL' });
    await until('the end', () => actor.getSnapshot().status === 'done');
    assert.equal(state(), 'cancelled');
    assert.deepEqual(attempts, [1]);
  });

  it('an attempt the publisher withdrew before publishing is not counted', async () => {
    const clock = new TestClock();
    let release: () => void = () => undefined;
    const logic = deliveryMachine.provide({
      actions: publishWith(() => new Promise<void>((r) => (release = r))),
    });
    const actor = createActor(logic, {
      input: { id: 'm1', wantsAck: true, ackTimeoutMs: 30, retries: -1, retryWaitMs: 0, errorBackoffMs: 20 },
      clock,
    });
    actor.start();
    actor.send({ type: 'SEND' });
    actor.send({ type: 'CANCEL', unsent: true });
    release();
    assert.deepEqual(actor.getSnapshot().output, { status: 'cancelled', attempts: 0 });
  });

  it('cancel of a finished delivery changes nothing', async () => {
    const { actor, state, until } = silent();
    actor.send({ type: 'SEND' });
    await until('the send', () => state() === 'awaitingAck');
    actor.send({ type: 'ACK', reply: { id: 'm1', node: 'ship', status: 'succeeded' } });
    actor.send({ type: 'CANCEL' });
    assert.equal(state(), 'delivered');
  });
});

describe('execution machine: cancel', () => {
  function execution(cancelReason?: string) {
    const clock = new TestClock();
    const replies: ExecutionResult[] = [];
    let aborted = false;
    const logic = executionMachine.provide({
      actions: executionWith({
        method: (_id, signal) =>
          new Promise<MethodOutcome>((_resolve, reject) => {
            signal.addEventListener('abort', () => {
              aborted = true;
              reject(new Error('aborted'));
            });
          }),
        reply: async (input) => {
          replies.push(input);
        },
      }),
    });
    const actor = createActor(logic, {
      input: { id: 'x1', methodTimeoutMs: 60_000, ...(cancelReason ? { cancelReason } : {}) },
      clock,
    });
    actor.start();
    return { actor, clock, replies, aborted: () => aborted };
  }

  it('a running method is stopped (its abort signal fires) and the result is cancelled', async () => {
    const { actor, clock, replies, aborted } = execution();
    assert.equal(actor.getSnapshot().value, 'running');
    actor.send({ type: 'CANCEL', reason: 'cancelled by central' });
    await runUntil(clock, () => actor.getSnapshot().status === 'done', 'the reply');
    assert.equal(aborted(), true);
    assert.deepEqual(replies, [{ id: 'x1', status: 'cancelled', output: '', error: 'cancelled by central' }]);
    assert.equal(actor.getSnapshot().output?.status, 'cancelled');
  });

  it('a message cancelled while it waited its turn never runs', async () => {
    const { actor, clock, replies, aborted } = execution('cancelled by central');
    await runUntil(clock, () => actor.getSnapshot().status === 'done', 'the reply');
    assert.equal(aborted(), false);
    assert.equal(replies[0]?.status, 'cancelled');
  });
});

describe('journal: cancels of messages not received yet', () => {
  it('are remembered across a reopen, and forgotten once the message is stored cancelled', async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'steward-cancels-')), 'journal.db');
    let j = Journal.open(path);
    assert.equal(j.cancelOf('m1'), undefined);
    await j.rememberCancel('m1', 'central');
    assert.equal(j.cancelOf('m1'), 'central');
    j.close();
    j = Journal.open(path);
    assert.equal(j.cancelOf('m1'), 'central', 'durable');
    const message = {
      id: 'm1',
      toNode: 'ship',
      fromNode: 'central',
      method: 'CLICommand',
      commandOrEvent: 'CommandACK' as const,
      data: ['true'],
      createdAt: 1,
      timeout: 1,
      retries: 0,
      methodTimeout: 1,
    };
    await j.insertInboxCancelled(message, 'ship.CommandACK.CLICommand', { id: 'm1', node: 'ship', status: 'cancelled' });
    assert.equal(j.cancelOf('m1'), undefined);
    assert.equal(j.getInbox('m1')?.state, 'cancelled');
    j.close();
  });
});
