/**
 * Where a Cancel finds the execution it names: each subscriber is asked in
 * turn; the first that holds the message answers; an unregistered one is
 * no longer asked.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ReceiverCancels, type CancellableExecutions, type ExecutionCancel } from '../src/execution/receiverCancels.js';

/** A subscriber holding `held` (id → sender), recording what it was asked. */
function subscriber(held: Record<string, string>, asked: string[]): CancellableExecutions {
  return {
    cancelExecution: (id, byNode): ExecutionCancel | undefined => {
      asked.push(id);
      const sender = held[id];
      if (sender === undefined) return undefined;
      return sender === byNode ? { kind: 'queued' } : { kind: 'refused', sender };
    },
  };
}

describe('ReceiverCancels', () => {
  it('finds the subscriber that holds the message; none holding it means undefined', () => {
    const r = new ReceiverCancels();
    const askedA: string[] = [];
    const askedB: string[] = [];
    r.register(subscriber({ a1: 'central' }, askedA));
    r.register(subscriber({ b1: 'central' }, askedB));
    assert.deepEqual(r.cancel('b1', 'central', 'operator'), { kind: 'queued' });
    assert.deepEqual(askedA, ['b1']);
    assert.deepEqual(askedB, ['b1']);
    assert.deepEqual(r.cancel('a1', 'central', 'operator'), { kind: 'queued' });
    assert.deepEqual(askedB, ['b1'], 'not asked once the first one answered');
    assert.equal(r.cancel('nowhere', 'central', 'operator'), undefined);
  });

  it('passes on the refusal of a cancel by another node than the sender', () => {
    const r = new ReceiverCancels();
    r.register(subscriber({ a1: 'central' }, []));
    assert.deepEqual(r.cancel('a1', 'ship9', 'operator'), { kind: 'refused', sender: 'central' });
  });

  it('does not ask a subscriber that has unregistered', () => {
    const r = new ReceiverCancels();
    const asked: string[] = [];
    const unregister = r.register(subscriber({ a1: 'central' }, asked));
    unregister();
    assert.equal(r.cancel('a1', 'central', 'operator'), undefined);
    assert.deepEqual(asked, []);
  });
});
