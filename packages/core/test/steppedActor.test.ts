import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it, mock } from 'node:test';
import { assign, createActor, createMachine, log, setup } from 'xstate';
import { deliveryMachine, type DeliveryInput, type DeliveryEvent } from '../src/deliveryMachine.js';
import { executionMachine, executionWith } from '../src/executionMachine.js';
import { SteppedActor } from '../src/steppedActor.js';

const input: DeliveryInput = { id: 'm1', wantsAck: true, ackTimeoutMs: 1000, retries: 2, retryWaitMs: 0, errorBackoffMs: 500 };
const reply = { id: 'm1', node: 'ship1', status: 'succeeded' as const, output: 'ok' };

/** A delivery machine whose `publish` action only counts its calls. */
function counting() {
  const published: number[] = [];
  const logic = deliveryMachine.provide({
    actions: { publish: ({ context }) => void published.push(context.attempts) },
  });
  return { logic, published };
}

function stateOf(value: unknown): string {
  return typeof value === 'string' ? value : Object.keys(value as object)[0]!;
}

describe('stepped actor', () => {
  beforeEach(() => mock.timers.enable({ apis: ['setTimeout'] }));
  afterEach(() => mock.timers.reset());

  it('goes through the same states, context, output and persisted snapshot as an interpreted actor', () => {
    const events: DeliveryEvent[] = [{ type: 'SEND' }, { type: 'PUBLISHED', attempt: 1 }, { type: 'ACK', reply }];
    const a = counting();
    const interpreted = createActor(a.logic, { input });
    const seenInterpreted: unknown[] = [];
    interpreted.subscribe((s) => seenInterpreted.push([stateOf(s.value), s.context.attempts]));
    interpreted.start();
    const persistedInterpreted: unknown[] = [];
    for (const e of events) {
      interpreted.send(e);
      persistedInterpreted.push(interpreted.getPersistedSnapshot());
    }

    const b = counting();
    const seen: unknown[] = [];
    let completed = 0;
    const stepped = new SteppedActor(
      b.logic,
      { id: 'message-m1', input },
      {
        next: (s) => seen.push([stateOf(s.value), s.context.attempts]),
        complete: () => completed++,
      },
    ).start();
    const persisted: unknown[] = [];
    for (const e of events) {
      stepped.send(e);
      persisted.push(stepped.getPersistedSnapshot());
    }
    assert.deepEqual(seen, seenInterpreted);
    assert.deepEqual(persisted, persistedInterpreted);
    assert.deepEqual(stepped.getSnapshot().output, interpreted.getSnapshot().output);
    assert.equal(stepped.getSnapshot().status, 'done');
    assert.equal(completed, 1);
    assert.deepEqual(b.published, a.published);
  });

  it("runs the machine's `after` timers: an ACK timeout resends, and an ACK clears the timer", () => {
    const { logic, published } = counting();
    const actor = new SteppedActor(logic, { id: 'm1', input }).start();
    actor.send({ type: 'SEND' });
    actor.send({ type: 'PUBLISHED', attempt: 1 });
    assert.equal(stateOf(actor.getSnapshot().value), 'awaitingAck');
    mock.timers.tick(999);
    assert.deepEqual(published, [1], 'no resend before the ACK timeout');
    mock.timers.tick(1);
    assert.deepEqual(published, [1, 2], 'resent once the ACK timeout passed (retryWait 0)');
    actor.send({ type: 'PUBLISHED', attempt: 2 });
    actor.send({ type: 'ACK', reply });
    assert.equal(actor.getSnapshot().value, 'delivered');
    mock.timers.tick(10_000);
    assert.deepEqual(published, [1, 2], 'no timer left after the ACK');
  });

  it('expires once the retries are used up, by its own timers alone', () => {
    const { logic, published } = counting();
    const actor = new SteppedActor(logic, { id: 'm1', input: { ...input, retries: 1 } }).start();
    actor.send({ type: 'SEND' });
    for (let attempt = 1; attempt <= 2; attempt++) {
      actor.send({ type: 'PUBLISHED', attempt });
      mock.timers.tick(1000);
    }
    assert.equal(actor.getSnapshot().value, 'expired');
    assert.deepEqual(published, [1, 2]);
    assert.match(actor.getSnapshot().output?.lastError ?? '', /no ACK within 1s/);
  });

  it('processes an event sent from inside an action after the event under way, in order', () => {
    const order: string[] = [];
    const machine = setup({
      types: { context: {} as { log: string[] }, events: {} as { type: 'A' } | { type: 'B' } | { type: 'C' } },
      actions: {
        onA: ({ self }) => {
          self.send({ type: 'B' });
          self.send({ type: 'C' });
          order.push('A done');
        },
      },
    }).createMachine({
      context: { log: [] },
      on: {
        A: { actions: 'onA' },
        B: { actions: assign({ log: ({ context }) => [...context.log, 'B'] }) },
        C: { actions: assign({ log: ({ context }) => [...context.log, 'C'] }) },
      },
    });
    const actor = new SteppedActor(machine, { id: 'x', input: undefined }, { next: (s) => order.push(s.context.log.join('') || '-') });
    actor.send({ type: 'A' }); // before start: waits for it
    assert.deepEqual(order, []);
    actor.start();
    assert.deepEqual(order, ['-', 'A done', '-', 'B', 'BC']);
  });

  it('fails on a throwing action: the owner is told, later events and timers do nothing', () => {
    const errors: unknown[] = [];
    const published: number[] = [];
    const logic = deliveryMachine.provide({
      actions: {
        publish: ({ context }) => {
          published.push(context.attempts);
          if (context.attempts === 2) throw new Error('broken publish');
        },
      },
    });
    const actor = new SteppedActor(logic, { id: 'm1', input }, { error: (e) => errors.push(e) }).start();
    actor.send({ type: 'SEND' });
    actor.send({ type: 'PUBLISHED', attempt: 1 });
    mock.timers.tick(1000);
    assert.equal(errors.length, 1);
    assert.match(String(errors[0]), /broken publish/);
    actor.send({ type: 'PUBLISHED', attempt: 2 });
    mock.timers.tick(10_000);
    assert.deepEqual(published, [1, 2]);
    assert.equal(errors.length, 1);
  });

  it('stops: no exit actions, no events, no timers', () => {
    const { logic, published } = counting();
    let nexts = 0;
    const actor = new SteppedActor(logic, { id: 'm1', input }, { next: () => nexts++ }).start();
    actor.send({ type: 'SEND' });
    actor.send({ type: 'PUBLISHED', attempt: 1 });
    const before = nexts;
    actor.stop();
    mock.timers.tick(10_000);
    actor.send({ type: 'ACK', reply });
    assert.equal(nexts, before);
    assert.deepEqual(published, [1]);
    assert.equal(stateOf(actor.getSnapshot().value), 'awaitingAck');
  });

  it('refuses built-in actions it cannot carry out, loudly', () => {
    const logging = setup({}).createMachine({ entry: log('hello') });
    const invoking = createMachine({ invoke: { src: createMachine({}) } });
    for (const [machine, what] of [
      [logging, /xstate\.log is not supported in a stepped actor/],
      [invoking, /child actors \(invoke, spawn\) are not supported in a stepped actor/],
    ] as const) {
      const errors: unknown[] = [];
      new SteppedActor(machine, { id: 'x', input: undefined }, { error: (e) => errors.push(e) }).start();
      assert.equal(errors.length, 1);
      assert.match(String(errors[0]), what);
    }
  });

  it('runs an execution: the method, its reply with the result of the state it ended in, then done', async () => {
    mock.timers.reset();
    const replies: unknown[] = [];
    const logic = executionMachine.provide({
      actions: executionWith({
        method: () => Promise.resolve({ ok: true, output: 'hello' }),
        reply: (result) => {
          replies.push(result);
          return Promise.resolve();
        },
      }),
    });
    const done = new Promise<void>((resolve) => {
      new SteppedActor(logic, { id: 'e1', input: { id: 'e1', methodTimeoutMs: 5000 } }, { complete: resolve }).start();
    });
    await done;
    assert.deepEqual(replies, [{ id: 'e1', status: 'succeeded', output: 'hello' }]);
  });
});
