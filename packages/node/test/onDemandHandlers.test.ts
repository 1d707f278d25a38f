/**
 * Handlers loaded at their first message (methods/index.ts): the facts the
 * table states for them are the module's own, and a module that cannot be
 * loaded fails the message with an error naming the method (the execution
 * fails; the node goes on), and is tried again at the next message.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { MethodContext } from '../src/methods/index.js';
import { methodHandlers, onDemand, onDemandHandlers } from '../src/methods/index.js';

/** A handler's properties other than its code. */
function factsOf(h: object): Record<string, unknown> {
  return Object.fromEntries(Object.entries(h).filter(([k]) => k !== 'run' && k !== 'prepare'));
}

describe('handlers loaded on demand', () => {
  it('state the facts of their module, and are the table entries of their methods', async () => {
    for (const [method, { facts, load }] of Object.entries(onDemandHandlers)) {
      const real = await load();
      assert.deepEqual(facts, factsOf(real), `${method}: the facts in methods/index.ts differ from the module's`);
      const entry = methodHandlers.get(method);
      assert.ok(entry, `${method} has no handler`);
      assert.deepEqual(factsOf(entry), factsOf(real), `${method}: the table's handler`);
      assert.equal(typeof entry.run, 'function');
    }
  });

  it('a module that cannot be loaded fails the message with the method named, and is tried again', async () => {
    let calls = 0;
    const h = onDemand('REQTest', { idempotent: true }, () => {
      calls++;
      if (calls === 1) return Promise.reject(new Error('Cannot find module ./gone.js'));
      return Promise.resolve({ run: () => Promise.resolve({ ok: true, output: 'ran' }) });
    });
    const ctx = {} as MethodContext;
    await assert.rejects(h.run(ctx), /the handler of REQTest could not be loaded: Cannot find module \.\/gone\.js/);
    assert.deepEqual(await h.run(ctx), { ok: true, output: 'ran' });
    assert.equal(await h.prepare!(ctx), undefined, 'a module without prepare prepares nothing');
    assert.equal(calls, 2, 'loaded again after the failure, then kept');
    assert.equal(h.idempotent, true);
  });
});
