/**
 * An OTP-style supervisor as an XState v5 machine. It is the root of a node's
 * actor tree and the root of each sub-tree (publishers, subscribers, inputs):
 * it spawns its children, restarts a failed child after an exponential
 * backoff, and escalates when one child fails more often than the restart
 * intensity allows.
 *
 * A supervisor that escalates without an `onEscalate` callback fails itself
 * with an {@link EscalationError}. XState then sends `xstate.error.actor.<id>`
 * to its parent supervisor, which restarts the whole sub-tree. An actor error
 * that nobody observes is rethrown by XState in a new macrotask and crashes
 * Node, so whoever creates a root supervisor with `createActor` must observe
 * it: `actor.subscribe({ error })` (or pass `onEscalate`, and still subscribe,
 * because bad input also fails the actor).
 */
import {
  enqueueActions,
  fromCallback,
  setup,
  type AnyActorLogic,
  type AnyActorRef,
  type AnyEventObject,
  type CallbackActorLogic,
} from 'xstate';
import { EscalationError, ValidationError, type FieldProblem } from './errors.js';

/** One child a supervisor starts and keeps running. */
export interface ChildSpec {
  /** Unique among the supervisor's children; also the XState actor id. */
  id: string;
  /** The logic to spawn, e.g. a machine or {@link processLogic}. */
  logic: AnyActorLogic;
  /** Input given to the child on every (re)start. */
  input?: unknown;
}

/** How often a child may be restarted, and how long to wait before each restart. */
export interface RestartPolicy {
  /**
   * More than this many restarts of one child within `withinMs` escalates.
   * @defaultValue 5
   */
  maxRestarts: number;
  /**
   * Length of the sliding window, in milliseconds, over which restarts are counted.
   * @defaultValue 60000
   */
  withinMs: number;
  /**
   * Delay before the first restart inside the window; each further restart doubles it.
   * @defaultValue 100
   */
  backoffInitialMs: number;
  /**
   * Upper bound of the restart delay.
   * @defaultValue 10000
   */
  backoffMaxMs: number;
}

/** Observability events a supervisor reports through `onEvent`. */
export type SupervisorEvent =
  | { type: 'child.failed'; supervisor: string; childId: string; error: unknown }
  | {
      type: 'child.restarting';
      supervisor: string;
      childId: string;
      delayMs: number;
      /** Restarts of this child inside the window, this one included. */
      restartCount: number;
    }
  | { type: 'child.restarted'; supervisor: string; childId: string; restartCount: number }
  /** The child reached a final state; it is forgotten, not restarted. */
  | { type: 'child.done'; supervisor: string; childId: string }
  | { type: 'escalated'; supervisor: string; childId: string; error: EscalationError };

/** Input of {@link supervisorMachine}. */
export interface SupervisorInput extends Partial<RestartPolicy> {
  /** Name used in events and error messages, e.g. `root` or `publishers`. */
  name: string;
  /**
   * Children started, in this order, when the supervisor starts.
   * @defaultValue `[]`
   */
  children?: ChildSpec[];
  /**
   * Called with every {@link SupervisorEvent}. Exceptions it throws are logged
   * and otherwise ignored, so observability can never break supervision.
   * @defaultValue none
   */
  onEvent?: (event: SupervisorEvent) => void;
  /**
   * Called instead of failing the supervisor when the restart intensity is
   * exceeded; meant for the root, where the runtime logs, reports and exits.
   * It is called once all children are stopped (an async `Process.stop()`
   * may still be running); the supervisor then stays idle.
   * @defaultValue none: the supervisor fails with the {@link EscalationError}
   */
  onEscalate?: (error: EscalationError) => void;
}

/** Events a supervisor accepts. */
export type SupervisorMachineEvent =
  /** Sent by XState when a spawned child fails. */
  | { type: `xstate.error.actor.${string}`; error: unknown }
  /** Sent by XState when a spawned child reaches a final state. */
  | { type: `xstate.done.actor.${string}`; output?: unknown }
  /** Sent by {@link processLogic} children whose failure is asynchronous. */
  | { type: 'CHILD_FAILED'; id: string; error: unknown }
  /** Spawns the child, or sends it `WAKE` when it is already running. */
  | { type: 'START_CHILD'; spec: ChildSpec }
  /** Stops and forgets the child: it is not restarted. */
  | { type: 'STOP_CHILD'; id: string }
  /** Forwards `event` to the child when it is running; dropped otherwise. */
  | { type: 'SEND_TO_CHILD'; id: string; event: AnyEventObject }
  /** @internal Raised after the backoff delay. */
  | { type: 'RESTART'; id: string }
  /** @internal Raised when the restart intensity is exceeded. */
  | { type: 'ESCALATE'; error: EscalationError }
  /** @internal Sent to itself once the children are stopped, to hand the escalation up. */
  | { type: 'ESCALATE_UP'; error: EscalationError };

/** Outcome of {@link nextRestartDecision}. */
export type RestartDecision = { action: 'restart'; delayMs: number; recent: number[] } | { action: 'escalate'; recent: number[] };

/**
 * Decides what to do about a child that failed at `now`. `timestamps` are the
 * child's earlier restarts; `recent` is the new list to keep: the ones still
 * inside the window plus `now`. Pure, so intensity and backoff are unit-tested
 * without timers.
 */
export function nextRestartDecision(timestamps: readonly number[], now: number, opts: RestartPolicy): RestartDecision {
  const recent = [...timestamps.filter((t) => now - t < opts.withinMs), now];
  if (recent.length > opts.maxRestarts) return { action: 'escalate', recent };
  const delayMs = Math.min(opts.backoffInitialMs * 2 ** (recent.length - 1), opts.backoffMaxMs);
  return { action: 'restart', delayMs, recent };
}

/** @internal What the supervisor remembers about one child. */
interface ChildRecord {
  spec: ChildSpec;
  /** Times of the restarts still inside the window. */
  restarts: number[];
  /** `restarting` while the backoff delay runs: no actor exists then. */
  status: 'running' | 'restarting';
}

/** @internal */
interface SupervisorContext {
  name: string;
  policy: RestartPolicy;
  /** The children to start once the actor runs; see `startInitialChildren`. */
  initialChildren: readonly ChildSpec[];
  /** A Map, not a Record: it keeps start order for any id (even `"1"` or `__proto__`). */
  children: ReadonlyMap<string, ChildRecord>;
  onEvent: ((event: SupervisorEvent) => void) | undefined;
  onEscalate: ((error: EscalationError) => void) | undefined;
}

const DEFAULT_POLICY: RestartPolicy = {
  maxRestarts: 5,
  withinMs: 60_000,
  backoffInitialMs: 100,
  backoffMaxMs: 10_000,
};

function initialContext(input: SupervisorInput): SupervisorContext {
  const policy: RestartPolicy = {
    maxRestarts: input.maxRestarts ?? DEFAULT_POLICY.maxRestarts,
    withinMs: input.withinMs ?? DEFAULT_POLICY.withinMs,
    backoffInitialMs: input.backoffInitialMs ?? DEFAULT_POLICY.backoffInitialMs,
    backoffMaxMs: input.backoffMaxMs ?? DEFAULT_POLICY.backoffMaxMs,
  };
  const problems: FieldProblem[] = [];
  for (const [field, value] of Object.entries(policy)) {
    // `!(v >= 0)` also rejects NaN; Infinity stays allowed ("never escalate").
    if (!(value >= 0)) problems.push({ field, reason: `must be a number >= 0, got ${String(value)}` });
  }
  const initialChildren = input.children ?? [];
  const ids = new Set<string>();
  for (const { id } of initialChildren) {
    if (ids.has(id)) problems.push({ field: 'children', reason: `duplicate child id "${id}"` });
    ids.add(id);
  }
  // Thrown here, the error puts the actor in `error` status: the parent (or
  // the caller's error observer) sees it like any other failure.
  if (problems.length > 0) throw new ValidationError(problems);
  return {
    name: input.name,
    policy,
    initialChildren,
    children: new Map(),
    onEvent: input.onEvent,
    onEscalate: input.onEscalate,
  };
}

function notify(context: SupervisorContext, event: SupervisorEvent): void {
  try {
    context.onEvent?.(event);
  } catch (err) {
    // Observability must never take the tree down; say so loudly instead.
    console.error(`supervisor "${context.name}": onEvent threw while reporting ${event.type}`, err);
  }
}

const ERROR_PREFIX = 'xstate.error.actor.';
const DONE_PREFIX = 'xstate.done.actor.';

/** Copy of `children` with `id` set to `record`, or removed when `record` is undefined. */
function withChild(children: ReadonlyMap<string, ChildRecord>, id: string, record?: ChildRecord): ReadonlyMap<string, ChildRecord> {
  const next = new Map(children);
  if (record) next.set(id, record);
  else next.delete(id);
  return next;
}

function restartTimerId(childId: string): string {
  return `restart:${childId}`;
}

/**
 * Whether a failure report comes from the actor currently running under that
 * id. A report from an earlier instance (queued before that instance was
 * stopped and replaced) must not restart its healthy successor.
 */
function isCurrentFailure(self: AnyActorRef, event: SupervisorMachineEvent, childId: string): boolean {
  const current = (self.getSnapshot() as { children: Record<string, AnyActorRef | undefined> }).children[childId];
  if (!current) return false;
  if (event.type === 'CHILD_FAILED') return true;
  // XState reports an actor error once, after putting the actor in `error` status.
  return (current.getSnapshot() as { status: string }).status === 'error';
}

/**
 * The supervisor machine. Create it with
 * `createActor(supervisorMachine, { input })` and subscribe with an `error`
 * observer, or spawn it as a {@link ChildSpec} of another supervisor.
 */
export const supervisorMachine = setup({
  types: {} as {
    context: SupervisorContext;
    input: SupervisorInput;
    events: SupervisorMachineEvent;
  },
  // Children are arbitrary logic under ids known only at run time. Declared
  // this way, XState's types let spawnChild take an inline logic with an id.
  actors: {} as Record<string, AnyActorLogic>,
  actions: {
    startInitialChildren: enqueueActions(({ context, self, enqueue }) => {
      // Not spawned here: children spawned during the initial step are started
      // by XState in `Object.values(children)` order, which puts ids like "1"
      // first. Queued START_CHILD events start them one by one, in our order.
      for (const spec of context.initialChildren) {
        enqueue.sendTo(self, { type: 'START_CHILD', spec });
      }
    }),

    handleFailure: enqueueActions(({ context, event, self, enqueue }) => {
      let childId: string;
      let error: unknown;
      if (event.type === 'CHILD_FAILED') {
        ({ id: childId, error } = event);
      } else if (event.type.startsWith(ERROR_PREFIX) && 'error' in event) {
        childId = event.type.slice(ERROR_PREFIX.length);
        error = event.error;
      } else {
        return;
      }
      const record = context.children.get(childId);
      // A child that was stopped, or is already waiting for its restart, has
      // nothing left to restart.
      if (record?.status !== 'running' || !isCurrentFailure(self, event, childId)) return;

      enqueue(() => notify(context, { type: 'child.failed', supervisor: context.name, childId, error }));
      // Stop the failed child now, not after the backoff, so its resources
      // (subscriptions, watchers) are released while we wait.
      enqueue.stopChild(childId);
      const decision = nextRestartDecision(record.restarts, Date.now(), context.policy);
      enqueue.assign({
        children: withChild(context.children, childId, { ...record, restarts: decision.recent, status: 'restarting' }),
      });
      if (decision.action === 'escalate') {
        const { maxRestarts, withinMs } = context.policy;
        const escalation = new EscalationError(
          childId,
          `supervisor "${context.name}": child "${childId}" failed more than ${maxRestarts} times within ${withinMs} ms`,
          { cause: error },
        );
        enqueue.raise({ type: 'ESCALATE', error: escalation });
        return;
      }
      const { delayMs } = decision;
      const restartCount = decision.recent.length;
      enqueue(() => notify(context, { type: 'child.restarting', supervisor: context.name, childId, delayMs, restartCount }));
      enqueue.raise({ type: 'RESTART', id: childId }, { delay: delayMs, id: restartTimerId(childId) });
    }),

    restartChild: enqueueActions(({ context, event, enqueue }) => {
      if (event.type !== 'RESTART') return;
      const record = context.children.get(event.id);
      if (record?.status !== 'restarting') return;
      const { spec } = record;
      enqueue.spawnChild(spec.logic, { id: spec.id, input: spec.input });
      enqueue.assign({ children: withChild(context.children, spec.id, { ...record, status: 'running' }) });
      const restartCount = record.restarts.length;
      enqueue(() => notify(context, { type: 'child.restarted', supervisor: context.name, childId: spec.id, restartCount }));
    }),

    forgetDoneChild: enqueueActions(({ context, event, enqueue }) => {
      if (!event.type.startsWith(DONE_PREFIX)) return;
      const childId = event.type.slice(DONE_PREFIX.length);
      if (context.children.get(childId)?.status !== 'running') return;
      // Finishing is the child's own decision; restarting it would loop.
      enqueue.stopChild(childId);
      enqueue.assign({ children: withChild(context.children, childId) });
      enqueue(() => notify(context, { type: 'child.done', supervisor: context.name, childId }));
    }),

    startChild: enqueueActions(({ context, event, enqueue }) => {
      if (event.type !== 'START_CHILD') return;
      const { spec } = event;
      const record = context.children.get(spec.id);
      if (record?.status === 'running') {
        enqueue.sendTo(spec.id, { type: 'WAKE' });
      } else if (record?.status === 'restarting') {
        // Starting now would bypass the backoff; the new spec is used when
        // the pending restart fires.
        enqueue.assign({ children: withChild(context.children, spec.id, { ...record, spec }) });
      } else {
        enqueue.spawnChild(spec.logic, { id: spec.id, input: spec.input });
        enqueue.assign({ children: withChild(context.children, spec.id, { spec, restarts: [], status: 'running' }) });
      }
    }),

    stopChild: enqueueActions(({ context, event, enqueue }) => {
      if (event.type !== 'STOP_CHILD') return;
      const record = context.children.get(event.id);
      if (!record) return;
      if (record.status === 'running') enqueue.stopChild(event.id);
      else enqueue.cancel(restartTimerId(event.id));
      enqueue.assign({ children: withChild(context.children, event.id) });
    }),

    sendToChild: enqueueActions(({ context, event, enqueue }) => {
      if (event.type !== 'SEND_TO_CHILD') return;
      // sendTo throws for an id that has no actor, so check first.
      if (context.children.get(event.id)?.status === 'running') enqueue.sendTo(event.id, event.event);
    }),

    stopAllChildren: enqueueActions(({ context, enqueue }) => {
      for (const [id, record] of context.children) {
        if (record.status === 'running') enqueue.stopChild(id);
        else enqueue.cancel(restartTimerId(id));
      }
      enqueue.assign({ children: new Map() });
    }),

    reportEscalation: enqueueActions(({ context, event, self, enqueue }) => {
      if (event.type !== 'ESCALATE') return;
      const { error } = event;
      enqueue(() => notify(context, { type: 'escalated', supervisor: context.name, childId: error.childId, error }));
      // XState stops children at the end of this step. A sent (not raised)
      // event is processed after that, so whoever gets the escalation finds
      // the sub-tree already stopped, and failing does not abort the stops.
      enqueue.sendTo(self, { type: 'ESCALATE_UP', error });
    }),

    escalateUp: ({ context, event }) => {
      if (event.type !== 'ESCALATE_UP') return;
      if (!context.onEscalate) {
        // Throwing from an action is how a machine fails: XState puts this actor
        // in `error` status and sends `xstate.error.actor.<id>` to its parent.
        throw event.error;
      }
      try {
        context.onEscalate(event.error);
      } catch (err) {
        console.error(`supervisor "${context.name}": onEscalate threw`, err);
      }
    },
  },
}).createMachine({
  id: 'supervisor',
  context: ({ input }) => initialContext(input),
  entry: 'startInitialChildren',
  initial: 'supervising',
  states: {
    supervising: {
      on: {
        // A partial wildcard matches every `xstate.error.actor.<id>`, ids with dots included.
        'xstate.error.actor.*': { actions: 'handleFailure' },
        'xstate.done.actor.*': { actions: 'forgetDoneChild' },
        CHILD_FAILED: { actions: 'handleFailure' },
        RESTART: { actions: 'restartChild' },
        START_CHILD: { actions: 'startChild' },
        STOP_CHILD: { actions: 'stopChild' },
        SEND_TO_CHILD: { actions: 'sendToChild' },
        ESCALATE: { target: 'escalated' },
      },
    },
    escalated: {
      entry: ['stopAllChildren', 'reportEscalation'],
      on: {
        // Late errors of children we already gave up on. Unhandled, XState
        // would fail this machine with the child's error instead of ours.
        'xstate.error.actor.*': {},
        ESCALATE_UP: { actions: 'escalateUp' },
      },
    },
  },
});

/** A long-lived imperative process (NATS subscription, file watcher) run as an actor. */
export interface Process {
  /** Releases the process. May be async; the supervisor does not wait for it. */
  stop(): void | Promise<void>;
  /** Receives the events sent to the actor (e.g. `WAKE`), in order. */
  receive?(event: AnyEventObject): void;
}

/** What {@link processLogic} passes to the `start` function. */
export interface ProcessContext<TInput> {
  /** The actor's input. */
  input: TInput;
  /** Reports a failure to the supervisor, which stops and restarts the process. Only the first call counts. */
  fail: (error: unknown) => void;
  /** Sends an event to the supervisor (the parent actor). Ignored once stopped. */
  sendParent: (event: AnyEventObject) => void;
  /** The actor's id, i.e. the child id. */
  id: string;
}

/** Options of {@link processLogic}. */
export interface ProcessLogicOptions {
  /**
   * Receives errors thrown or rejected by `Process.stop()`.
   * @defaultValue logs with `console.error`
   */
  onStopError?: (error: unknown) => void;
}

/**
 * Wraps an imperative process as callback logic a supervisor can spawn.
 *
 * `start` runs when the actor starts. If it throws or rejects, or the process
 * later calls `fail`, the parent receives
 * `{ type: 'CHILD_FAILED', id, error }` (once, and never after the actor was
 * stopped). Events sent to the actor go to `Process.receive`, queued until
 * `start` has resolved. Stopping the actor calls `Process.stop()`; its errors
 * go to `onStopError` and are never thrown.
 */
export function processLogic<TInput>(
  start: (ctx: ProcessContext<TInput>) => Process | Promise<Process>,
  options: ProcessLogicOptions = {},
): CallbackActorLogic<AnyEventObject, TInput> {
  const onStopError = options.onStopError ?? ((err: unknown) => console.error('process stop failed', err));

  const stopProcess = (process: Process): void => {
    try {
      Promise.resolve(process.stop()).catch(onStopError);
    } catch (err) {
      onStopError(err);
    }
  };

  return fromCallback<AnyEventObject, TInput>(({ input, self, sendBack, receive }) => {
    const id = self.id;
    let stopped = false;
    let failed = false;
    let process: Process | undefined;
    const pending: AnyEventObject[] = [];

    const fail = (error: unknown): void => {
      if (stopped || failed) return;
      failed = true;
      sendBack({ type: 'CHILD_FAILED', id, error });
    };
    const deliver = (target: Process, event: AnyEventObject): void => {
      try {
        target.receive?.(event);
      } catch (err) {
        // A process that cannot take its events is broken: let the supervisor restart it.
        fail(err);
      }
    };

    receive((event) => {
      if (process) deliver(process, event);
      else pending.push(event);
    });

    let started: Process | Promise<Process>;
    try {
      started = start({
        input,
        fail,
        sendParent: (event) => {
          // fromCallback's own guard reads the snapshot, which is only marked
          // stopped after this dispose ran; our flag is set at once.
          if (!stopped) sendBack(event);
        },
        id,
      });
    } catch (err) {
      fail(err);
      return;
    }
    const onReady = (ready: Process): void => {
      if (stopped) {
        // The actor was stopped while the process was starting: release it at once.
        stopProcess(ready);
        return;
      }
      process = ready;
      for (const event of pending.splice(0)) deliver(ready, event);
    };
    // A synchronous start is adopted at once, so a stop that follows in the
    // same tick reaches the process itself rather than the late-start path.
    if (started instanceof Promise) started.then(onReady, fail);
    else onReady(started);

    return () => {
      stopped = true;
      pending.length = 0;
      if (process) stopProcess(process);
    };
  });
}
