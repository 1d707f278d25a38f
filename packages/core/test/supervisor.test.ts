import assert from 'node:assert/strict';
import { describe, it, type TestContext } from 'node:test';
import { createActor, fromCallback, setup, spawnChild, stopChild, type AnyActorRef, type AnyEventObject } from 'xstate';
import { EscalationError, ValidationError } from '../src/errors.js';
import {
  nextRestartDecision,
  processLogic,
  supervisorMachine,
  type ChildSpec,
  type ProcessContext,
  type RestartPolicy,
  type SupervisorEvent,
  type SupervisorInput,
} from '../src/supervisor.js';
import { runUntil, TestClock } from './testClock.js';

/**
 * Simulated time for test `t`: actors get the returned clock, and `Date.now`
 * follows it for the test's duration, so the restart window (read from
 * `Date.now`) and the backoffs (the clock's timeouts) share one time line.
 */
function simulatedTime(t: TestContext): TestClock {
  const clock = new TestClock();
  t.mock.method(Date, 'now', () => clock.now());
  return clock;
}

/** Small backoffs; the intensity is set per test. */
const FAST = { backoffInitialMs: 5, backoffMaxMs: 20 } as const;

/**
 * Starts a root supervisor the way the runtime must: observed, so an error
 * can never go unhandled. Returns the actor, the onEvent log and the errors
 * the actor failed with. Stopped when the test ends.
 */
function startRoot(t: TestContext, input: Omit<SupervisorInput, 'onEvent'>, clock = simulatedTime(t)) {
  const events: SupervisorEvent[] = [];
  const errors: unknown[] = [];
  const actor = createActor(supervisorMachine, { input: { ...input, onEvent: (e) => events.push(e) }, clock });
  actor.subscribe({ error: (err) => errors.push(err) });
  actor.start();
  t.after(() => actor.stop());
  return { actor, events, errors, clock };
}

function ofType<T extends SupervisorEvent['type']>(events: SupervisorEvent[], type: T, childId?: string) {
  return events.filter(
    (e): e is Extract<SupervisorEvent, { type: T }> => e.type === type && (childId === undefined || e.childId === childId),
  );
}

function childrenOf(actor: AnyActorRef): Record<string, AnyActorRef> {
  return (actor.getSnapshot() as { children: Record<string, AnyActorRef> }).children;
}

/** A processLogic child that records what happens to it. */
function recordingProcess(id: string) {
  const log = {
    starts: 0,
    stops: 0,
    received: [] as AnyEventObject[],
    fail: undefined as ((err: unknown) => void) | undefined,
  };
  const spec: ChildSpec = {
    id,
    logic: processLogic<void>(({ fail }) => {
      log.starts++;
      log.fail = fail;
      return {
        stop: () => {
          log.stops++;
        },
        receive: (event) => {
          log.received.push(event);
        },
      };
    }),
  };
  return { spec, log };
}

describe('nextRestartDecision', () => {
  const policy: RestartPolicy = { maxRestarts: 3, withinMs: 1000, backoffInitialMs: 100, backoffMaxMs: 300 };

  it('restarts the first failure after the initial backoff', () => {
    assert.deepEqual(nextRestartDecision([], 5000, policy), { action: 'restart', delayMs: 100, recent: [5000] });
  });

  it('doubles the backoff per restart inside the window and caps it', () => {
    assert.deepEqual(nextRestartDecision([5000], 5100, policy), {
      action: 'restart',
      delayMs: 200,
      recent: [5000, 5100],
    });
    assert.deepEqual(nextRestartDecision([5000, 5100], 5200, policy), {
      action: 'restart',
      delayMs: 300, // 400 capped
      recent: [5000, 5100, 5200],
    });
  });

  it('forgets restarts that left the window, which also resets the backoff', () => {
    // 4000 is exactly withinMs old: outside the window.
    assert.deepEqual(nextRestartDecision([3000, 4000, 4500], 5000, policy), {
      action: 'restart',
      delayMs: 200,
      recent: [4500, 5000],
    });
  });

  it('escalates on the restart that exceeds maxRestarts', () => {
    assert.deepEqual(nextRestartDecision([4000, 4500, 4900], 5000, { ...policy, withinMs: 2000 }), {
      action: 'escalate',
      recent: [4000, 4500, 4900, 5000],
    });
  });

  it('escalates the first failure when maxRestarts is 0', () => {
    assert.equal(nextRestartDecision([], 1, { ...policy, maxRestarts: 0 }).action, 'escalate');
  });
});

describe('supervisorMachine', () => {
  it('restarts a child that throws on start, with backoff, under the same id', async (t) => {
    const attempts: number[] = [];
    let running = false;
    // A dotted id also checks that the `xstate.error.actor.*` wildcard matches ids with dots.
    const flaky: ChildSpec = {
      id: 'inputs.flaky',
      logic: fromCallback(() => {
        attempts.push(Date.now());
        if (attempts.length <= 2) throw new Error(`boom ${attempts.length}`);
        running = true;
      }),
    };
    const { actor, events, errors, clock } = startRoot(t, { name: 'root', children: [flaky], ...FAST });

    await runUntil(clock, () => running, 'the third attempt to run');
    assert.equal(attempts.length, 3);
    const restarting = ofType(events, 'child.restarting', 'inputs.flaky');
    assert.deepEqual(
      restarting.map((e) => [e.restartCount, e.delayMs]),
      [
        [1, 5],
        [2, 10],
      ],
    );
    assert.equal(ofType(events, 'child.restarted', 'inputs.flaky').length, 2);
    const failed = ofType(events, 'child.failed', 'inputs.flaky');
    assert.deepEqual(
      failed.map((e) => (e.error as Error).message),
      ['boom 1', 'boom 2'],
    );
    // On simulated time each backoff is exactly what the supervisor announced.
    assert.deepEqual([attempts[1]! - attempts[0]!, attempts[2]! - attempts[1]!], [5, 10]);
    const child = childrenOf(actor)['inputs.flaky'];
    assert.equal((child?.getSnapshot() as { status: string }).status, 'active');
    assert.deepEqual(errors, []);
  });

  it('restarts a processLogic child that calls fail(), stopping the failed process first', async (t) => {
    const log: string[] = [];
    let instances = 0;
    const spec: ChildSpec = {
      id: 'watcher',
      logic: processLogic<{ path: string }>(({ input, fail }) => {
        const n = ++instances;
        log.push(`start ${n} ${input.path}`);
        if (n === 1) setImmediate(() => fail(new Error('watch lost')));
        return { stop: () => void log.push(`stop ${n}`) };
      }),
      input: { path: '/tmp/in' },
    };
    const { events, errors, clock } = startRoot(t, { name: 'root', children: [spec], ...FAST });

    await runUntil(clock, () => instances === 2, 'the second process instance');
    assert.deepEqual(log, ['start 1 /tmp/in', 'stop 1', 'start 2 /tmp/in']);
    const [failure] = ofType(events, 'child.failed', 'watcher');
    assert.equal((failure?.error as Error).message, 'watch lost');
    assert.deepEqual(errors, []);
  });

  it('calls onEscalate with an EscalationError naming the child, after stopping all children', async (t) => {
    let attempts = 0;
    const doomed: ChildSpec = {
      id: 'doomed',
      logic: fromCallback(() => {
        attempts++;
        throw new Error(`attempt ${attempts}`);
      }),
    };
    const sibling = recordingProcess('sibling');
    const escalations: EscalationError[] = [];
    let siblingStopsAtEscalation = -1;
    const { actor, events, errors, clock } = startRoot(t, {
      name: 'root',
      children: [sibling.spec, doomed],
      maxRestarts: 2,
      ...FAST,
      onEscalate: (err) => {
        escalations.push(err);
        siblingStopsAtEscalation = sibling.log.stops;
      },
    });

    await runUntil(clock, () => escalations.length > 0, 'onEscalate');
    assert.equal(attempts, 3, 'two restarts allowed, the third failure escalates');
    const [escalation] = escalations;
    assert.ok(escalation instanceof EscalationError);
    assert.equal(escalation.childId, 'doomed');
    assert.match(escalation.message, /"doomed"/);
    assert.equal((escalation.cause as Error).message, 'attempt 3');
    assert.equal(ofType(events, 'escalated', 'doomed').length, 1);
    assert.equal(siblingStopsAtEscalation, 1, 'siblings are stopped before onEscalate runs');
    assert.deepEqual(childrenOf(actor), {});
    assert.deepEqual(errors, [], 'with onEscalate the supervisor itself does not fail');
  });

  it('without onEscalate, fails itself with the EscalationError once its children are stopped', async (t) => {
    const sibling = recordingProcess('sibling');
    const doomed: ChildSpec = {
      id: 'doomed',
      logic: fromCallback(() => {
        throw new Error('always');
      }),
    };
    const { errors, clock } = startRoot(t, { name: 'root', children: [sibling.spec, doomed], maxRestarts: 0, ...FAST });

    await runUntil(clock, () => errors.length > 0, 'the supervisor to fail');
    assert.ok(errors[0] instanceof EscalationError);
    assert.equal(errors[0].childId, 'doomed');
    assert.equal(sibling.log.stops, 1, 'no orphan is left running');
  });

  it('restarts a nested supervisor that escalated, and with it its children', async (t) => {
    const worker = recordingProcess('worker');
    let doomedAttempts = 0;
    const doomed: ChildSpec = {
      id: 'doomed',
      logic: fromCallback(() => {
        doomedAttempts++;
        // Two failures exceed the nested intensity; the restarted sub-tree then works.
        if (doomedAttempts <= 2) throw new Error(`doomed ${doomedAttempts}`);
      }),
    };
    const sub: ChildSpec = {
      id: 'publishers',
      logic: supervisorMachine,
      input: { name: 'publishers', children: [worker.spec, doomed], maxRestarts: 1, ...FAST } satisfies SupervisorInput,
    };
    const rootEscalations: EscalationError[] = [];
    const { events, errors, clock } = startRoot(t, {
      name: 'root',
      children: [sub],
      ...FAST,
      onEscalate: (err) => rootEscalations.push(err),
    });

    await runUntil(clock, () => worker.log.starts === 2 && doomedAttempts === 3, 'the sub-tree to be restarted');
    assert.equal(worker.log.stops, 1, 'the old worker was stopped');
    const [subFailure] = ofType(events, 'child.failed', 'publishers');
    assert.ok(subFailure?.error instanceof EscalationError);
    assert.equal(subFailure.error.childId, 'doomed');
    assert.equal(ofType(events, 'child.restarted', 'publishers').length, 1);
    assert.deepEqual(rootEscalations, []);
    assert.deepEqual(errors, []);
  });

  it('ignores failure reports that do not come from the running child', async (t) => {
    const healthy = recordingProcess('healthy');
    const flaky: ChildSpec = {
      id: 'flaky',
      logic: fromCallback(() => {
        throw new Error('boom');
      }),
    };
    const { actor, events, clock } = startRoot(t, {
      name: 'root',
      children: [healthy.spec, flaky],
      backoffInitialMs: 60_000, // the restart stays pending during the test
    });
    await runUntil(clock, () => ofType(events, 'child.restarting', 'flaky').length === 1, 'the restart to be scheduled');

    // An error event for a child that is active is stale (from an earlier instance).
    actor.send({ type: 'xstate.error.actor.healthy', error: new Error('stale') });
    // A child already waiting for its restart is not restarted twice.
    actor.send({ type: 'CHILD_FAILED', id: 'flaky', error: new Error('again') });
    assert.equal(ofType(events, 'child.failed', 'healthy').length, 0);
    assert.equal(ofType(events, 'child.failed', 'flaky').length, 1);
    assert.equal(healthy.log.stops, 0);
  });

  it('escalates once when several children fail in the same step', async (t) => {
    const doomed = (id: string): ChildSpec => ({
      id,
      logic: fromCallback(() => {
        throw new Error(`${id} down`);
      }),
    });
    const escalations: EscalationError[] = [];
    const withCallback = startRoot(t, {
      name: 'root',
      children: [doomed('a'), doomed('b')],
      maxRestarts: 0,
      onEscalate: (e) => escalations.push(e),
    });
    const withoutCallback = startRoot(t, { name: 'root2', children: [doomed('a'), doomed('b')], maxRestarts: 0 }, withCallback.clock);
    const clock = withCallback.clock;

    await runUntil(clock, () => escalations.length === 1 && withoutCallback.errors.length === 1, 'both escalations');
    // The second failure, queued behind the first, must not fail the supervisor with a raw child error.
    assert.deepEqual(withCallback.errors, []);
    assert.ok(withoutCallback.errors[0] instanceof EscalationError);
    assert.equal(withoutCallback.errors[0].childId, 'a');
  });

  it('starts its children in the given order, whatever their ids', async (t) => {
    const order: string[] = [];
    const spec = (id: string): ChildSpec => ({ id, logic: fromCallback(() => void order.push(id)) });
    const { clock } = startRoot(t, { name: 'root', children: ['b', '2', 'a', '1'].map(spec) });
    await runUntil(clock, () => order.length === 4, 'all children to start');
    assert.deepEqual(order, ['b', '2', 'a', '1']);
  });

  it('START_CHILD twice spawns one child and sends it WAKE the second time', async (t) => {
    const child = recordingProcess('job');
    const { actor, clock } = startRoot(t, { name: 'root', ...FAST });

    actor.send({ type: 'START_CHILD', spec: child.spec });
    actor.send({ type: 'START_CHILD', spec: child.spec });
    await runUntil(clock, () => child.log.received.length > 0, 'the WAKE event');
    assert.equal(child.log.starts, 1);
    assert.deepEqual(child.log.received, [{ type: 'WAKE' }]);
    assert.deepEqual(Object.keys(childrenOf(actor)), ['job']);
  });

  it('STOP_CHILD stops the process and never restarts it', async (t) => {
    const child = recordingProcess('sub');
    const { actor, events, clock } = startRoot(t, { name: 'root', children: [child.spec], ...FAST });
    await runUntil(clock, () => child.log.starts === 1, 'the child to start');
    const fail = child.log.fail;

    actor.send({ type: 'STOP_CHILD', id: 'sub' });
    await runUntil(clock, () => child.log.stops === 1, 'Process.stop');
    // Failures of a stopped child are ignored, whether from the process or stale.
    fail?.(new Error('too late'));
    actor.send({ type: 'CHILD_FAILED', id: 'sub', error: new Error('stale') });
    assert.deepEqual(childrenOf(actor), {});
    assert.equal(ofType(events, 'child.failed').length, 0);
    assert.equal(ofType(events, 'child.restarting').length, 0);
    assert.equal(child.log.starts, 1);
  });

  it('STOP_CHILD during the backoff cancels the pending restart', async (t) => {
    let attempts = 0;
    const flaky: ChildSpec = {
      id: 'flaky',
      logic: fromCallback(() => {
        attempts++;
        throw new Error('boom');
      }),
    };
    // A long backoff: the restart is still pending when STOP_CHILD arrives.
    const { actor, events, clock } = startRoot(t, { name: 'root', children: [flaky], backoffInitialMs: 60_000 });
    await runUntil(clock, () => ofType(events, 'child.restarting').length === 1, 'the restart to be scheduled');

    actor.send({ type: 'STOP_CHILD', id: 'flaky' });
    const scheduled = (actor.system.getSnapshot() as { _scheduledEvents: Record<string, unknown> })._scheduledEvents;
    assert.deepEqual(Object.keys(scheduled), [], 'the delayed RESTART is cancelled');
    assert.equal(attempts, 1);
  });

  it('SEND_TO_CHILD forwards to a running child and drops events for unknown ids', async (t) => {
    const child = recordingProcess('pub');
    const { actor, errors, clock } = startRoot(t, { name: 'root', children: [child.spec], ...FAST });

    actor.send({ type: 'SEND_TO_CHILD', id: 'nobody', event: { type: 'PING' } });
    actor.send({ type: 'SEND_TO_CHILD', id: 'pub', event: { type: 'PING', n: 1 } });
    await runUntil(clock, () => child.log.received.length === 1, 'the forwarded event');
    assert.deepEqual(child.log.received, [{ type: 'PING', n: 1 }]);
    assert.deepEqual(errors, []);
  });

  it('forgets a child that reaches a final state instead of restarting it', async (t) => {
    const oneShot = setup({}).createMachine({ initial: 'done', states: { done: { type: 'final' } } });
    const { actor, events, clock } = startRoot(t, { name: 'root', children: [{ id: 'once', logic: oneShot }], ...FAST });

    await runUntil(clock, () => ofType(events, 'child.done', 'once').length === 1, 'child.done');
    assert.deepEqual(childrenOf(actor), {});
    assert.equal(ofType(events, 'child.restarting').length, 0);
  });

  it('keeps supervising when onEvent throws', async (t) => {
    t.mock.method(console, 'error', () => {});
    let attempts = 0;
    const flaky: ChildSpec = {
      id: 'flaky',
      logic: fromCallback(() => {
        if (++attempts === 1) throw new Error('boom');
      }),
    };
    const errors: unknown[] = [];
    const clock = simulatedTime(t);
    const actor = createActor(supervisorMachine, {
      input: {
        name: 'root',
        children: [flaky],
        ...FAST,
        onEvent: () => {
          throw new Error('observer broken');
        },
      },
      clock,
    });
    actor.subscribe({ error: (err) => errors.push(err) });
    actor.start();
    t.after(() => actor.stop());

    await runUntil(clock, () => attempts === 2, 'the restart');
    assert.deepEqual(errors, []);
  });

  it('fails with a ValidationError naming the field on bad input', (t) => {
    const errors: unknown[] = [];
    const actor = createActor(supervisorMachine, { input: { name: 'root', maxRestarts: -1 } });
    actor.subscribe({ error: (err) => errors.push(err) });
    actor.start();
    t.after(() => actor.stop());

    assert.ok(errors[0] instanceof ValidationError);
    assert.equal(errors[0].problems[0]?.field, 'maxRestarts');
  });
});

describe('processLogic', () => {
  it('reports a rejected start as CHILD_FAILED and queues events until start resolves', async (t) => {
    let attempts = 0;
    const received: AnyEventObject[] = [];
    let resolveSecond: (() => void) | undefined;
    const spec: ChildSpec = {
      id: 'conn',
      logic: processLogic<void>(async () => {
        attempts++;
        if (attempts === 1) throw new Error('connect refused');
        await new Promise<void>((resolve) => (resolveSecond = resolve));
        return { stop: () => {}, receive: (e) => void received.push(e) };
      }),
    };
    const { actor, events, clock } = startRoot(t, { name: 'root', children: [spec], ...FAST });

    await runUntil(clock, () => resolveSecond !== undefined, 'the second start');
    actor.send({ type: 'SEND_TO_CHILD', id: 'conn', event: { type: 'A' } });
    actor.send({ type: 'SEND_TO_CHILD', id: 'conn', event: { type: 'B' } });
    assert.deepEqual(received, [], 'nothing delivered before start resolved');
    resolveSecond?.();
    await runUntil(clock, () => received.length === 2, 'the queued events');
    assert.deepEqual(received, [{ type: 'A' }, { type: 'B' }]);
    const [failure] = ofType(events, 'child.failed', 'conn');
    assert.equal((failure?.error as Error).message, 'connect refused');
  });

  it('sends CHILD_FAILED once, and nothing after the actor stopped', async (t) => {
    const ctxs = new Map<string, ProcessContext<void>>();
    const child = processLogic<void>((ctx) => {
      ctxs.set(ctx.id, ctx);
      // Closing a subscription often fires its error callback: that is no failure.
      return {
        stop: () => {
          ctx.fail(new Error('closed'));
          ctx.sendParent({ type: 'CLOSING' });
        },
      };
    });
    // A bare parent that only records, so a failed child stays alive.
    const received: AnyEventObject[] = [];
    const clock = simulatedTime(t);
    const parent = createActor(
      setup({ types: {} as { events: AnyEventObject }, actors: { child } }).createMachine({
        entry: [spawnChild('child', { id: 'p1' }), spawnChild('child', { id: 'p2' })],
        on: {
          STOP_P2: { actions: stopChild('p2') },
          '*': { actions: ({ event }) => received.push(event) },
        },
      }),
      { clock },
    );
    parent.start();
    t.after(() => parent.stop());
    await runUntil(clock, () => ctxs.size === 2, 'both processes to start');

    ctxs.get('p1')?.fail(new Error('first'));
    ctxs.get('p1')?.fail(new Error('second'));
    assert.deepEqual(received, [{ type: 'CHILD_FAILED', id: 'p1', error: new Error('first') }]);

    parent.send({ type: 'STOP_P2' });
    ctxs.get('p2')?.fail(new Error('after stop'));
    ctxs.get('p2')?.sendParent({ type: 'HELLO' });
    assert.equal(received.length, 1);
  });

  it('routes errors of Process.stop to onStopError, sync or async', async (t) => {
    const stopErrors: unknown[] = [];
    const failingStop = (how: 'throw' | 'reject'): ChildSpec => ({
      id: how,
      logic: processLogic<void>(
        () => ({
          stop: () => {
            if (how === 'throw') throw new Error('close threw');
            return Promise.reject(new Error('close rejected'));
          },
        }),
        { onStopError: (err) => stopErrors.push(err) },
      ),
    });
    const { actor, errors, clock } = startRoot(t, { name: 'root', children: [failingStop('throw'), failingStop('reject')] });

    actor.send({ type: 'STOP_CHILD', id: 'throw' });
    actor.send({ type: 'STOP_CHILD', id: 'reject' });
    await runUntil(clock, () => stopErrors.length === 2, 'both stop errors');
    assert.deepEqual(
      stopErrors.map((e) => (e as Error).message),
      ['close threw', 'close rejected'],
    );
    assert.deepEqual(errors, []);
  });

  it('stops a process whose start resolves after the actor was stopped', async (t) => {
    let resolveStart: (() => void) | undefined;
    let stops = 0;
    const spec: ChildSpec = {
      id: 'slow',
      logic: processLogic<void>(async () => {
        await new Promise<void>((resolve) => (resolveStart = resolve));
        return { stop: () => void stops++ };
      }),
    };
    const { actor, clock } = startRoot(t, { name: 'root', children: [spec], ...FAST });
    await runUntil(clock, () => resolveStart !== undefined, 'start to be called');

    actor.send({ type: 'STOP_CHILD', id: 'slow' });
    resolveStart?.();
    await runUntil(clock, () => stops === 1, 'the late process to be stopped');
  });
});
