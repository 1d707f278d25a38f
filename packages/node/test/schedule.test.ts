/**
 * `schedule`: a method refused with an UnrecoverableError ends its schedule
 * at once (the error class decides), while an ordinary failure lets the
 * schedule go on.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { UnrecoverableError, type MethodOutcome, type WireMessage } from '@steward/core';
import type { NodeServices } from '../src/node/services.js';
import { scheduled } from '../src/methods/schedule.js';
import type { MethodContext, MethodHandler } from '../src/methods/types.js';

const message: WireMessage = {
  id: 'sched1',
  fromNode: 'central',
  toNode: 'ship1',
  method: 'REQToFileAppend',
  commandOrEvent: 'EventACK',
  data: ['x'],
  createdAt: Date.now(),
  timeout: 10,
  retries: 0,
  methodTimeout: 10,
  // Every 20 ms for 2 s: about a hundred runs if nothing stops it.
  schedule: [0.02, 2],
};

/** Runs `inner` on the schedule above; resolves with its outcome, how often `inner` ran and what was sent back. */
async function runScheduled(fail: () => never): Promise<{ outcome: MethodOutcome; runs: number; replies: string[] }> {
  let runs = 0;
  const inner: MethodHandler = {
    async run() {
      runs++;
      fail();
    },
  };
  const replies: string[] = [];
  const ctx: MethodContext = {
    services: {} as NodeServices,
    message,
    subject: 'ship1.EventACK.REQToFileAppend',
    signal: new AbortController().signal,
    progress: undefined,
    emit: async (text) => {
      replies.push(text);
    },
  };
  const outcome = await scheduled(inner).run(ctx);
  return { outcome, runs, replies };
}

describe('schedule', () => {
  it('stops at the first run refused with an UnrecoverableError', async () => {
    const { outcome, runs, replies } = await runScheduled(() => {
      throw new UnrecoverableError('refused: path part ".." would leave the data folder');
    });
    assert.equal(runs, 1);
    assert.equal(outcome.ok, false);
    assert.match(outcome.error ?? '', /schedule stopped: refused: path part/);
    assert.equal(replies.length, 1);
    assert.match(replies[0]!, /scheduled run 1 failed: refused.*\n.*schedule stopped/);
  });

  it('goes on after an ordinary failure', async () => {
    const { outcome, runs } = await runScheduled(() => {
      throw new Error('EAGAIN');
    });
    assert.ok(runs > 1, `ran ${runs} time(s)`);
    assert.match(outcome.error ?? '', new RegExp(`^${runs} of ${runs} scheduled runs failed$`));
  });
});
