import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createActor, fromPromise, waitFor } from 'xstate';
import { canRetry, deliveryMachine, type DeliveryInput, type PublishInput } from '../src/deliveryMachine.js';
import { RETRY_FOREVER } from '../src/message.js';

function run(
  input: Partial<DeliveryInput>,
  onPublish: (attempt: number, send: (e: { type: 'ACK' | 'NO_RESPONDERS' }) => void) => void | Promise<void>,
) {
  const attempts: number[] = [];
  const states: string[] = [];
  const logic = deliveryMachine.provide({
    actors: {
      publish: fromPromise<void, PublishInput>(async ({ input: p }) => {
        attempts.push(p.attempt);
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
    },
  });
  const actor = createActor(logic, {
    input: { id: 'm1', wantsAck: true, ackTimeoutMs: 30, retries: 2, retryWaitMs: 0, errorBackoffMs: 20, ...input },
  });
  actor.subscribe((s) => states.push(typeof s.value === 'string' ? s.value : Object.keys(s.value)[0]!));
  actor.start();
  actor.send({ type: 'SEND' });
  return { actor, attempts, states };
}

describe('delivery machine', () => {
  it('is delivered on the first ACK', async () => {
    const { actor, attempts } = run({}, (_a, send) => send({ type: 'ACK' }));
    const snap = await waitFor(actor, (s) => s.status === 'done', { timeout: 5000 });
    assert.equal(snap.value, 'delivered');
    assert.deepEqual(attempts, [1]);
    assert.equal(snap.output?.reply?.output, 'ok');
  });

  it('resends after an ACK timeout and is delivered by the ACK of a later attempt', async () => {
    const { actor, attempts, states } = run({}, (a, send) => {
      if (a === 3) send({ type: 'ACK' });
    });
    const snap = await waitFor(actor, (s) => s.status === 'done', { timeout: 5000 });
    assert.equal(snap.value, 'delivered');
    assert.deepEqual(attempts, [1, 2, 3]);
    assert.ok(states.includes('retryWait'));
  });

  it('expires when the retries are used up, with the reason', async () => {
    const { actor, attempts } = run({ retries: 1 }, () => undefined);
    const snap = await waitFor(actor, (s) => s.status === 'done', { timeout: 5000 });
    assert.equal(snap.value, 'expired');
    assert.equal(snap.output?.status, 'expired');
    assert.deepEqual(attempts, [1, 2]);
    assert.match(snap.output?.lastError ?? '', /no ACK within/);
  });

  it('keeps resending without limit when retries is -1', async () => {
    const { actor, attempts } = run({ retries: RETRY_FOREVER }, (a, send) => {
      if (a === 8) send({ type: 'ACK' });
    });
    const snap = await waitFor(actor, (s) => s.status === 'done', { timeout: 10000 });
    assert.equal(snap.value, 'delivered');
    assert.equal(attempts.length, 8);
  });

  it('waits the error backoff after a publish error, then resends', async () => {
    const { actor, attempts } = run({}, (a, send) => {
      if (a === 1) throw new Error('connection closed');
      send({ type: 'ACK' });
    });
    const snap = await waitFor(actor, (s) => s.status === 'done', { timeout: 5000 });
    assert.equal(snap.value, 'delivered');
    assert.deepEqual(attempts, [1, 2]);
  });

  it('records "no responders" as the reason when the node is offline', async () => {
    const { actor } = run({ retries: 0 }, (_a, send) => send({ type: 'NO_RESPONDERS' }));
    const snap = await waitFor(actor, (s) => s.status === 'done', { timeout: 5000 });
    assert.equal(snap.value, 'expired');
    assert.match(snap.output?.lastError ?? '', /no responders/);
  });

  it('counts attempts made before a restart (resumed from the journal)', async () => {
    const { actor, attempts } = run({ attempts: 2, retries: 2 }, () => undefined);
    const snap = await waitFor(actor, (s) => s.status === 'done', { timeout: 5000 });
    assert.equal(snap.value, 'expired');
    assert.deepEqual(attempts, [3]);
  });

  it('is delivered at once for NACK kinds', async () => {
    const { actor } = run({ wantsAck: false }, () => undefined);
    const snap = await waitFor(actor, (s) => s.status === 'done', { timeout: 5000 });
    assert.equal(snap.value, 'delivered');
  });

  it('does not expire while the receiver answers resends with "still running"', async () => {
    const { actor, attempts } = run({ retries: 1 }, (a, send) => {
      if (a >= 2 && a < 6) setImmediate(() => actor.send({ type: 'RUNNING' }));
      if (a === 6) send({ type: 'ACK' });
    });
    const snap = await waitFor(actor, (s) => s.status === 'done', { timeout: 10000 });
    assert.equal(snap.value, 'delivered');
    assert.equal(attempts.length, 6, 'six sends, though retries is 1: four were answered');
  });

  it('canRetry follows the retries field', () => {
    assert.equal(canRetry(1, 0), false);
    assert.equal(canRetry(1, 1), true);
    assert.equal(canRetry(2, 1), false);
    assert.equal(canRetry(1000, RETRY_FOREVER), true);
  });
});
