import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createActor, fromPromise, waitFor } from 'xstate';
import { executionMachine, type ExecutionResult, type MethodOutcome } from '../src/executionMachine.js';

function run(methodTimeoutMs: number, method: (signal: AbortSignal) => Promise<MethodOutcome>, rejectReason?: string) {
  const replies: ExecutionResult[] = [];
  let aborted = false;
  const logic = executionMachine.provide({
    actors: {
      method: fromPromise<MethodOutcome, { id: string }>(({ signal }) => {
        signal.addEventListener('abort', () => (aborted = true));
        return method(signal);
      }),
      reply: fromPromise<void, ExecutionResult>(async ({ input }) => {
        replies.push(input);
      }),
    },
  });
  const actor = createActor(logic, { input: { id: 'x', methodTimeoutMs, ...(rejectReason ? { rejectReason } : {}) } }).start();
  return { actor, replies, aborted: () => aborted };
}

describe('execution machine', () => {
  it('succeeds and replies with the output', async () => {
    const { actor, replies } = run(1000, async () => ({ ok: true, output: 'hi' }));
    await waitFor(actor, (s) => s.status === 'done', { timeout: 5000 });
    assert.deepEqual(replies, [{ id: 'x', status: 'succeeded', output: 'hi' }]);
  });

  it('fails with the exit code and output when the method says not ok', async () => {
    const { actor, replies } = run(1000, async () => ({ ok: false, output: 'out', exitCode: 3, error: 'exit code 3' }));
    await waitFor(actor, (s) => s.status === 'done', { timeout: 5000 });
    assert.deepEqual(replies, [{ id: 'x', status: 'failed', output: 'out', exitCode: 3, error: 'exit code 3' }]);
  });

  it('fails when the method throws, and the machine itself does not', async () => {
    const { actor, replies } = run(1000, () => Promise.reject(new Error('EISDIR')));
    const snap = await waitFor(actor, (s) => s.status === 'done', { timeout: 5000 });
    assert.equal(snap.status, 'done');
    assert.equal(replies[0]?.status, 'failed');
    assert.equal(replies[0]?.error, 'EISDIR');
  });

  it('times out, aborts the method, and replies timedOut', async () => {
    const { actor, replies, aborted } = run(
      30,
      (signal) => new Promise((resolve) => signal.addEventListener('abort', () => resolve({ ok: false, output: '' }))),
    );
    await waitFor(actor, (s) => s.status === 'done', { timeout: 5000 });
    assert.equal(replies[0]?.status, 'timedOut');
    assert.match(replies[0]?.error ?? '', /methodTimeout/);
    assert.equal(aborted(), true);
  });

  it('has no time limit with methodTimeout -1', async () => {
    const { actor, replies } = run(-1, () => new Promise((r) => setTimeout(() => r({ ok: true, output: 'late' }), 50)));
    await waitFor(actor, (s) => s.status === 'done', { timeout: 5000 });
    assert.equal(replies[0]?.status, 'succeeded');
  });

  it('rejects without running', async () => {
    let ran = false;
    const { actor, replies } = run(1000, async () => ((ran = true), { ok: true, output: '' }), 'not allowed');
    await waitFor(actor, (s) => s.status === 'done', { timeout: 5000 });
    assert.equal(ran, false);
    assert.deepEqual(replies, [{ id: 'x', status: 'rejected', output: '', error: 'not allowed' }]);
  });
});
