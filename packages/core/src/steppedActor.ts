/**
 * A stepped actor: one message's XState machine, run by the process that
 * owns the message through the machine's own transition function
 * (`logic.getInitialSnapshot` and `logic.transition`, XState's actor-logic
 * interface) instead of by an interpreted `createActor` actor.
 *
 * It is still an actor in every sense the design asks for: its own snapshot
 * (persisted with `getPersistedSnapshot`, the same JSON as before), its own
 * events processed one at a time in arrival order (a mailbox: an event sent
 * while one is being processed waits for it), its own delayed events (the
 * machine's `after` timers) and its own actions (the machine's, with `self`
 * this actor). The machine definition stays the single source of its
 * behaviour. What it drops is the interpreter's per-actor machinery that a
 * message never used: an actor system, a clock and scheduler of its own,
 * inspection, and observers kept as subscriptions. A message has one owner,
 * which observes it with the callbacks it passes in.
 *
 * Supported built-in actions are the ones a machine with `after` transitions
 * produces: a delayed `raise` (one timer) and `cancel`. Any other built-in
 * action with an effect (spawning, sending to other actors, `emit`, `log`)
 * fails the actor, loudly: machines run this way must not use them.
 */
import type { ActorScope, AnyMachineSnapshot, AnyStateMachine, EventFromLogic, InputFrom, SnapshotFrom } from 'xstate';

/** What the owner of a stepped actor is told. Callbacks must not throw. */
export interface SteppedObserver<TSnapshot> {
  /** After the actor starts and after each event it processed (the snapshot may be unchanged). */
  next?: (snapshot: TSnapshot) => void;
  /** It reached a final state (its snapshot's `output` is set). Called once, after `next`. */
  complete?: () => void;
  /** A transition or an action threw: the actor stopped with this error. */
  error?: (err: unknown) => void;
}

/** An action as XState hands it to an actor's executor. */
interface ExecutableAction {
  type: string;
  info: unknown;
  params: unknown;
  exec: ((info: unknown, params: unknown) => void) | undefined;
}

interface DelayedRaise {
  event: { type: string };
  delay?: number;
  id?: string;
}

// One scope serves every stepped actor of the process: transitions are synchronous and never nested
// (an actor's own events wait in its mailbox), so `self` is set before each one, and the actions it
// collects are taken before anything else can run.
let collected: ExecutableAction[] = [];
const inertSystem = {
  _sendInspectionEvent: (): void => undefined,
  // Spawning and invoking need an actor system: a stepped machine must not use them.
  _bookId: (): never => {
    throw new Error('child actors (invoke, spawn) are not supported in a stepped actor');
  },
};
const scope = {
  self: undefined as unknown,
  id: '',
  sessionId: '',
  system: inertSystem,
  logger: (): void => undefined,
  defer: (): void => undefined,
  emit: (): void => undefined,
  stopChild: (): void => undefined,
  actionExecutor: (action: ExecutableAction): void => {
    collected.push(action);
  },
};

type Scope = ActorScope<AnyMachineSnapshot, { type: string }>;

/** Built-in actions whose effect the stepped actor itself carries out, or which have none. */
const raiseType = 'xstate.raise';
const cancelType = 'xstate.cancel';

/** One message's machine, stepped in place (see the header). */
export class SteppedActor<TLogic extends AnyStateMachine> {
  readonly id: string;
  /** What a child actor would join (XState reads it from its parent): refuses them (see the header). @internal */
  readonly system = inertSystem;
  private snapshot: AnyMachineSnapshot;
  /** Initial actions, run by start(). */
  private initialActions: ExecutableAction[] | undefined;
  /** Events sent while one is being processed, in order. */
  private mailbox: EventFromLogic<TLogic>[] | undefined;
  private processing = false;
  private status: 'new' | 'running' | 'stopped' = 'new';
  /** The one pending delayed event (the common case), and any beyond it by id. */
  private timerId: string | undefined;
  private timer: NodeJS.Timeout | undefined;
  private moreTimers: Map<string, NodeJS.Timeout> | undefined;

  constructor(
    private readonly logic: TLogic,
    options: { id: string; input: InputFrom<TLogic> },
    private readonly observer: SteppedObserver<SnapshotFrom<TLogic>> = {},
  ) {
    this.id = options.id;
    scope.self = this;
    collected = [];
    this.snapshot = logic.getInitialSnapshot(scope as unknown as Scope, options.input) as AnyMachineSnapshot;
    this.initialActions = collected;
    collected = [];
  }

  /** Runs the initial state's actions and tells the observer its first snapshot. */
  start(): this {
    if (this.status !== 'new') return this;
    this.status = 'running';
    this.step(undefined);
    this.drain();
    return this;
  }

  /** Sends an event; ignored unless the actor runs. Processed now, or after the event under way. */
  send(event: EventFromLogic<TLogic>): void {
    if (this.status === 'stopped') return;
    if (this.processing || this.status === 'new') {
      (this.mailbox ??= []).push(event);
      return;
    }
    this.process(event);
    this.drain();
  }

  getSnapshot(): SnapshotFrom<TLogic> {
    return this.snapshot as SnapshotFrom<TLogic>;
  }

  /** The snapshot as the journal stores it (XState's persisted form). */
  getPersistedSnapshot(): unknown {
    return this.logic.getPersistedSnapshot(this.snapshot);
  }

  /** Stops the actor: no exit actions, no further events, its timers cleared. */
  stop(): void {
    if (this.status === 'stopped') return;
    this.status = 'stopped';
    this.mailbox = undefined;
    this.clearTimers();
  }

  private drain(): void {
    while (this.mailbox && this.mailbox.length > 0 && this.status === 'running' && !this.processing) {
      this.process(this.mailbox.shift()!);
    }
  }

  private process(event: EventFromLogic<TLogic>): void {
    if (this.snapshot.status !== 'active') return;
    this.step(event);
  }

  /**
   * One step: the transition on `event` (none: the start, whose actions the
   * initial snapshot left), its actions, and the observer told. A throw fails
   * the actor.
   */
  private step(event: EventFromLogic<TLogic> | undefined): void {
    this.processing = true;
    try {
      let actions: ExecutableAction[];
      if (event === undefined) {
        actions = this.initialActions ?? [];
        this.initialActions = undefined;
      } else {
        scope.self = this;
        collected = [];
        this.snapshot = this.logic.transition(this.snapshot, event, scope as unknown as Scope) as AnyMachineSnapshot;
        actions = collected;
        collected = [];
      }
      if (this.snapshot.status === 'error') throw this.snapshot.error;
      this.execute(actions);
      this.settle();
    } catch (err) {
      this.fail(err);
    } finally {
      this.processing = false;
    }
  }

  /** Tells the observer the new snapshot, and that it is done when it is. */
  private settle(): void {
    if (this.status !== 'running') return;
    this.observer.next?.(this.snapshot as SnapshotFrom<TLogic>);
    if (this.snapshot.status === 'done' && this.status === 'running') {
      this.stop();
      this.observer.complete?.();
    }
  }

  private fail(err: unknown): void {
    if (this.status === 'stopped') return;
    this.stop();
    this.observer.error?.(err);
  }

  private execute(actions: ExecutableAction[]): void {
    for (const action of actions) {
      if (this.status !== 'running') return;
      if (action.type === raiseType) {
        const p = action.params as DelayedRaise;
        // A raise without a delay was handled inside the transition (the internal queue).
        if (typeof p.delay === 'number') this.schedule(p.id ?? '', p.event, p.delay);
      } else if (action.type === cancelType) {
        this.cancel((action.params as { sendId: string }).sendId);
      } else if (action.type.startsWith('xstate.')) {
        throw new Error(`${action.type} is not supported in a stepped actor (${this.id})`);
      } else {
        action.exec?.(action.info, action.params);
      }
    }
  }

  private schedule(id: string, event: { type: string }, delay: number): void {
    this.cancel(id);
    const timer = setTimeout(() => {
      if (this.timerId === id && this.timer === timer) {
        this.timerId = undefined;
        this.timer = undefined;
      } else this.moreTimers?.delete(id);
      this.send(event as EventFromLogic<TLogic>);
    }, delay);
    if (this.timer === undefined) {
      this.timerId = id;
      this.timer = timer;
    } else (this.moreTimers ??= new Map()).set(id, timer);
  }

  private cancel(id: string): void {
    if (this.timerId === id && this.timer !== undefined) {
      clearTimeout(this.timer);
      this.timerId = undefined;
      this.timer = undefined;
      return;
    }
    const t = this.moreTimers?.get(id);
    if (t !== undefined) {
      clearTimeout(t);
      this.moreTimers!.delete(id);
    }
  }

  private clearTimers(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    this.timerId = undefined;
    if (this.moreTimers) for (const t of this.moreTimers.values()) clearTimeout(t);
    this.moreTimers = undefined;
  }
}
