import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createActor } from 'xstate';
import { canRetry, deliveryMachine, type DeliveryInput, publishWith } from '../src/deliveryMachine.js';
import { RETRY_FOREVER } from '../src/message.js';
import { runUntil, TestClock } from './testClock.js';

function run(
  input: Partial<DeliveryInput>,
  onPublish: (attempt: number, send: (e: { type: 'ACK' | 'NO_RESPONDERS' }) => void) => void | Promise<void>,
) {
  const attempts: number[] = [];
  /** Simulated time of each publish, relative to the start. */
  const times: number[] = [];
  const states: string[] = [];
  const clock = new TestClock();
  const start = clock.now();
  const logic = deliveryMachine.provide({
    actions: publishWith(async (p) => {
      attempts.push(p.attempt);
      times.push(clock.now() - start);
      await onPublish(p.attempt, (e) =>
        setImmediate(() =>
          actor.send(
            e.type === 'ACK'
              ? { type: 'ACK', reply: { id: 'm1', node: 'ship1', status: 'succeeded', output: 'ok' } }
              : { type: 'NO_RESPONDERS' },
          ),
        ),
      );
    }),
  });
  const actor = createActor(logic, {
    input: { id: 'm1', wantsAck: true, ackTimeoutMs: 30, retries: 2, retryWaitMs: 0, errorBackoffMs: 20, ...input },
    clock,
  });
  actor.subscribe((s) => states.push(typeof s.value === 'string' ? s.value : Object.keys(s.value)[0]!));
  actor.start();
  actor.send({ type: 'SEND' });
  /** Moves simulated time until the delivery is over, and returns its final snapshot. */
  const finished = async () => {
    await runUntil(clock, () => actor.getSnapshot().status === 'done', 'the delivery to finish');
    return actor.getSnapshot();
  };
  /** Simulated milliseconds since the start. */
  const elapsed = () => clock.now() - start;
  return { actor, attempts, times, states, finished, elapsed };
}

describe('delivery machine', () => {
  it('is delivered on the first ACK', async () => {
    const { finished, attempts } = run({}, (_a, send) => send({ type: 'ACK' }));
    const snap = await finished();
    assert.equal(snap.value, 'delivered');
    assert.deepEqual(attempts, [1]);
    assert.equal(snap.output?.reply?.output, 'ok');
  });

  it('resends after an ACK timeout and is delivered by the ACK of a later attempt', async () => {
    const { finished, attempts, states, times } = run({}, (a, send) => {
      if (a === 3) send({ type: 'ACK' });
    });
    const snap = await finished();
    assert.equal(snap.value, 'delivered');
    assert.deepEqual(attempts, [1, 2, 3]);
    assert.deepEqual(times, [0, 30, 60], 'one ACK timeout between sends (retryWait 0)');
    assert.ok(states.includes('retryWait'));
  });

  it('expires when the retries are used up, with the reason', async () => {
    const { finished, attempts, elapsed } = run({ retries: 1 }, () => undefined);
    const snap = await finished();
    assert.equal(snap.value, 'expired');
    assert.equal(elapsed(), 60, "expired when the last attempt's ACK timeout ran out");
    assert.equal(snap.output?.status, 'expired');
    assert.deepEqual(attempts, [1, 2]);
    assert.match(snap.output?.lastError ?? '', /no ACK within/);
  });

  it('keeps resending without limit when retries is -1', async () => {
    const { finished, attempts, times } = run({ retries: RETRY_FOREVER }, (a, send) => {
      if (a === 8) send({ type: 'ACK' });
    });
    const snap = await finished();
    assert.equal(snap.value, 'delivered');
    assert.equal(attempts.length, 8);
    assert.deepEqual(times, [0, 30, 60, 90, 120, 150, 180, 210]);
  });

  it('waits the error backoff after a publish error, then resends', async () => {
    const { finished, attempts, times } = run({}, (a, send) => {
      if (a === 1) throw new Error('connection closed');
      send({ type: 'ACK' });
    });
    const snap = await finished();
    assert.equal(snap.value, 'delivered');
    assert.deepEqual(attempts, [1, 2]);
    assert.deepEqual(times, [0, 20], 'the error backoff (20 ms), not the ACK timeout');
  });

  it('records "no responders" as the reason when the node is offline', async () => {
    const { finished, elapsed } = run({ retries: 0 }, (_a, send) => send({ type: 'NO_RESPONDERS' }));
    const snap = await finished();
    assert.equal(snap.value, 'expired');
    assert.equal(elapsed(), 30, 'an offline node is given the full ACK timeout, like a slow one');
    assert.match(snap.output?.lastError ?? '', /no responders/);
  });

  it('counts attempts made before a restart (resumed from the journal)', async () => {
    const { finished, attempts } = run({ attempts: 2, retries: 2 }, () => undefined);
    const snap = await finished();
    assert.equal(snap.value, 'expired');
    assert.deepEqual(attempts, [3]);
  });

  it('is delivered at once for NACK kinds', async () => {
    const { finished } = run({ wantsAck: false }, () => undefined);
    const snap = await finished();
    assert.equal(snap.value, 'delivered');
  });

  it('does not expire while the receiver answers resends with "still running"', async () => {
    const { actor, finished, attempts, times } = run({ retries: 1 }, (a, send) => {
      if (a >= 2 && a < 6) setImmediate(() => actor.send({ type: 'RUNNING' }));
      if (a === 6) send({ type: 'ACK' });
    });
    const snap = await finished();
    assert.equal(snap.value, 'delivered');
    assert.deepEqual(times, [0, 30, 60, 90, 120, 150], '"still running" restarts a full ACK timeout');
    assert.equal(attempts.length, 6, 'six sends, though retries is 1: four were answered');
  });

  it('waits out an ACK timeout without a resend while the receiver answers the messages ahead, then resends once it stops', async () => {
    const clock = new TestClock();
    const attempts: number[] = [];
    /** Simulated time until which the receiver is answering other messages of the subject. */
    let othersAnsweredUntil = clock.now() + 100;
    const logic = deliveryMachine.provide({
      actions: publishWith(async (p) => {
        attempts.push(p.attempt);
      }),
      guards: { receiverAnsweringOthers: () => clock.now() < othersAnsweredUntil },
    });
    const actor = createActor(logic, {
      input: { id: 'm1', wantsAck: true, ackTimeoutMs: 30, retries: 1, retryWaitMs: 0, errorBackoffMs: 20 },
      clock,
    });
    actor.start();
    actor.send({ type: 'SEND' });
    const start = clock.now();
    // Three ACK timeouts (30, 60, 90 ms) pass while others are answered: still one send, still waiting.
    await runUntil(clock, () => clock.now() - start >= 90, '90 simulated ms');
    assert.deepEqual(attempts, [1], 'no resend while the receiver answers the messages ahead');
    assert.equal(actor.getSnapshot().value, 'awaitingAck');
    assert.equal(actor.getSnapshot().context.attempts, 1, 'no retry used up');
    // The answers stop (a lost message holds the ones behind it): the next ACK timeout resends.
    othersAnsweredUntil = 0;
    await runUntil(clock, () => attempts.length === 2, 'a resend once the answers stop');
    assert.equal(clock.now() - start, 120, 'resent at the first ACK timeout after the answers stopped');
    actor.send({ type: 'ACK', reply: { id: 'm1', node: 'ship1', status: 'received' } });
    assert.equal(actor.getSnapshot().value, 'delivered');
    assert.equal(actor.getSnapshot().output?.attempts, 2);
  });

  it('canRetry follows the retries field', () => {
    assert.equal(canRetry(1, 0), false);
    assert.equal(canRetry(1, 1), true);
    assert.equal(canRetry(2, 1), false);
    assert.equal(canRetry(1000, RETRY_FOREVER), true);
  });
});
