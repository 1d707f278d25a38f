import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createActor } from 'xstate';
import { executionMachine, executionWith, type ExecutionResult, type MethodOutcome } from '../src/executionMachine.js';
import { runUntil, TestClock } from './testClock.js';

/** Runs the machine on simulated time; `method` gets the clock to take time of its own. */
function run(
  methodTimeoutMs: number,
  method: (signal: AbortSignal, clock: TestClock) => Promise<MethodOutcome>,
  reply: (result: ExecutionResult) => Promise<void> = async () => {},
) {
  const replies: ExecutionResult[] = [];
  const clock = new TestClock();
  const start = clock.now();
  let aborted = false;
  let abortedAt: number | undefined;
  const logic = executionMachine.provide({
    actions: executionWith({
      method: (_id, signal) => {
        signal.addEventListener('abort', () => {
          aborted = true;
          abortedAt = clock.now() - start;
        });
        return method(signal, clock);
      },
      reply: async (input) => {
        replies.push(input);
        await reply(input);
      },
    }),
  });
  const actor = createActor(logic, { input: { id: 'x', methodTimeoutMs }, clock });
  const errors: unknown[] = [];
  actor.subscribe({ error: (err) => errors.push(err) });
  actor.start();
  /** Moves simulated time until the execution is over; resolves with the simulated milliseconds it took. */
  const finished = async (): Promise<number> => {
    await runUntil(clock, () => actor.getSnapshot().status === 'done', 'the execution to finish', { limitMs: 30 * 24 * 3_600_000 });
    return clock.now() - start;
  };
  return { actor, clock, replies, errors, finished, aborted: () => aborted, abortedAt: () => abortedAt };
}

describe('execution machine', () => {
  it('succeeds and replies with the output', async () => {
    const { replies, finished } = run(1000, async () => ({ ok: true, output: 'hi' }));
    await finished();
    assert.deepEqual(replies, [{ id: 'x', status: 'succeeded', output: 'hi' }]);
  });

  it('fails with the exit code and output when the method says not ok', async () => {
    const { replies, finished } = run(1000, async () => ({ ok: false, output: 'out', exitCode: 3, error: 'exit code 3' }));
    await finished();
    assert.deepEqual(replies, [{ id: 'x', status: 'failed', output: 'out', exitCode: 3, error: 'exit code 3' }]);
  });

  it('fails when the method throws, and the machine itself does not', async () => {
    const { actor, replies, finished } = run(1000, () => Promise.reject(new Error('EISDIR')));
    await finished();
    assert.equal(actor.getSnapshot().status, 'done');
    assert.equal(replies[0]?.status, 'failed');
    assert.equal(replies[0]?.error, 'EISDIR');
  });

  it('times out, aborts the method, and replies timedOut', async () => {
    const { replies, finished, aborted, abortedAt } = run(
      30,
      (signal) => new Promise((resolve) => signal.addEventListener('abort', () => resolve({ ok: false, output: '' }))),
    );
    await finished();
    assert.equal(replies[0]?.status, 'timedOut');
    assert.match(replies[0]?.error ?? '', /methodTimeout/);
    assert.equal(aborted(), true);
    assert.equal(abortedAt(), 30, 'aborted when methodTimeout ran out, not earlier or later');
  });

  it('has no time limit with methodTimeout -1', async () => {
    // Ten simulated days: far beyond any real methodTimeout.
    const tenDays = 10 * 24 * 3_600_000;
    const { replies, finished } = run(
      -1,
      (_signal, clock) => new Promise((r) => clock.setTimeout(() => r({ ok: true, output: 'late' }), tenDays)),
    );
    assert.equal(await finished(), tenDays);
    assert.equal(replies[0]?.status, 'succeeded');
  });

  it('fails the actor itself when the reply cannot be stored, so its owner reports it', async () => {
    const lost = new Error('journal update failed');
    const { actor, clock, errors, replies } = run(
      1000,
      async () => ({ ok: true, output: 'ran' }),
      () => Promise.reject(lost),
    );
    await runUntil(clock, () => actor.getSnapshot().status === 'error', 'the execution actor to fail');
    assert.equal(replies[0]?.status, 'succeeded');
    assert.deepEqual(errors, [lost]);
  });

  it('stopMethod aborts a method still under way: stopping the actor alone runs no exit action', async () => {
    let aborted = false;
    const actions = executionWith({
      method: (_id, signal) =>
        new Promise<MethodOutcome>(() => {
          signal.addEventListener('abort', () => (aborted = true));
        }),
      reply: async () => {},
    });
    const actor = createActor(executionMachine.provide({ actions }), { input: { id: 'x', methodTimeoutMs: 60_000 } });
    actor.start();
    assert.equal(actor.getSnapshot().value, 'running');
    actor.stop();
    assert.equal(aborted, false, "XState's stop runs no exit action: the owner must stop the method itself");
    actions.stopMethod({ self: actor });
    assert.equal(aborted, true);
  });
});
