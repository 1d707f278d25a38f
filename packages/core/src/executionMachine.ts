/**
 * The execution machine: the life of one received message on the receiving node.
 *
 * ```
 * received ─→ running ─ok→ succeeded ─→ replying → replied (final)
 *                     ─fail→ failed ─→ replying
 *                     ─methodTimeout→ timedOut ─→ replying
 *                     ─CANCEL→ cancelled ─→ replying
 * received ─(cancelled before it ran)→ cancelled
 * ```
 *
 * Duplicates (an id already in the inbox) never reach this machine: the
 * subscriber answers them with the stored result, and a message refused by
 * the checks (`rejected`) is answered before it gets one. The method and the
 * reply are the `runMethod` and `reply` actions, provided by the subscriber
 * with {@link executionWith}, which answer with events (`METHOD_DONE`,
 * `METHOD_FAILED`, `REPLIED`): actions, not invoked promise actors, so a
 * message's execution is one actor with no children. Leaving `running` on
 * methodTimeout or a cancel runs `stopMethod`, whose abort signal kills the
 * command's whole process tree. A reply that fails (the result could not be
 * journaled) fails the execution actor itself, so its owner reports it: the
 * failure is never swallowed.
 */
import { assign, setup } from 'xstate';
import type { ResultStatus } from './ack.js';

/** Input of one execution. */
export interface ExecutionInput {
  id: string;
  /** Milliseconds the method may run; -1 (or any negative) for no limit. */
  methodTimeoutMs: number;
  /** Why it is cancelled before it runs (its sender cancelled it while it waited its turn); undefined when it may run. */
  cancelReason?: string;
}

/** Events the execution machine accepts. */
export type ExecutionEvent =
  /**
   * Its sender cancelled it (`steward cancel`): a running method is stopped
   * (its abort signal kills the command's process tree), and the result is `cancelled`.
   */
  | { type: 'CANCEL'; reason: string }
  /** The method ended (see {@link executionWith}). */
  | { type: 'METHOD_DONE'; outcome: MethodOutcome }
  /** The method threw. */
  | { type: 'METHOD_FAILED'; error: string }
  /** The result is journaled and answered. */
  | { type: 'REPLIED' }
  /** The result could not be journaled: the actor fails with `error`. */
  | { type: 'REPLY_FAILED'; error: unknown };

/** What a method returns. */
export interface MethodOutcome {
  ok: boolean;
  output: string;
  exitCode?: number | null;
  error?: string;
}

/** What the `reply` actor is given. */
export interface ExecutionResult {
  id: string;
  status: Exclude<ResultStatus, 'received' | 'running' | 'interrupted' | 'rejected'>;
  output: string;
  error?: string;
  exitCode?: number | null;
}

/** Context of the execution machine. */
export interface ExecutionContext {
  id: string;
  methodTimeoutMs: number;
  cancelReason?: string;
  outcome?: MethodOutcome;
  error?: string;
}

// setTimeout fires at once for delays above 2^31-1 ms, so "no limit" must stay below it.
const maxTimerMs = 2_147_483_647;

/** The execution machine. Provide its actions with {@link executionWith} before use. */
export const executionMachine = setup({
  types: {
    context: {} as ExecutionContext,
    input: {} as ExecutionInput,
    events: {} as ExecutionEvent,
    output: {} as ExecutionResult,
  },
  actions: {
    // Provided by the subscriber (see executionWith); until then every method fails and no reply is stored.
    runMethod: ({ self }) => self.send({ type: 'METHOD_FAILED', error: 'runMethod action not provided' }),
    stopMethod: () => undefined,
    reply: ({ self }, _params: { status: ExecutionResult['status'] }) =>
      self.send({ type: 'REPLY_FAILED', error: new Error('reply action not provided') }),
    replyFailed: ({ event }) => {
      // Thrown inside the machine: the actor fails, and its owner reports the error.
      throw event.type === 'REPLY_FAILED' ? event.error : new Error('reply failed');
    },
  },
  delays: {
    methodTimeout: ({ context }) => (context.methodTimeoutMs < 0 ? maxTimerMs : Math.min(context.methodTimeoutMs, maxTimerMs)),
  },
  guards: {
    cancelledBefore: ({ context }) => context.cancelReason !== undefined,
    hasMethodTimeout: ({ context }) => context.methodTimeoutMs >= 0,
    methodOk: ({ event }) => event.type === 'METHOD_DONE' && event.outcome.ok,
  },
}).createMachine({
  id: 'execution',
  context: ({ input }) => {
    const ctx: ExecutionContext = { id: input.id, methodTimeoutMs: input.methodTimeoutMs };
    if (input.cancelReason !== undefined) ctx.cancelReason = input.cancelReason;
    return ctx;
  },
  initial: 'received',
  output: ({ context, self }) => resultOf(context, statusOf(self.getSnapshot().value)),
  states: {
    received: {
      always: [{ guard: 'cancelledBefore', target: 'cancelled' }, { target: 'running' }],
    },
    running: {
      entry: 'runMethod',
      // Leaving `running` stops a method still under way: its abort signal kills the process tree.
      exit: 'stopMethod',
      after: {
        methodTimeout: {
          guard: 'hasMethodTimeout',
          target: 'timedOut',
          actions: assign({ error: ({ context }) => `killed: ran longer than methodTimeout ${context.methodTimeoutMs / 1000}s` }),
        },
      },
      on: {
        METHOD_DONE: [
          {
            guard: 'methodOk',
            target: 'succeeded',
            actions: assign({ outcome: ({ event }) => event.outcome }),
          },
          { target: 'failed', actions: assign({ outcome: ({ event }) => event.outcome }) },
        ],
        METHOD_FAILED: { target: 'failed', actions: assign({ error: ({ event }) => event.error }) },
        CANCEL: { target: 'cancelled', actions: assign({ cancelReason: ({ event }) => event.reason }) },
      },
    },
    succeeded: replying('succeeded'),
    failed: replying('failed'),
    timedOut: replying('timedOut'),
    cancelled: replying('cancelled'),
    replied: { type: 'final' },
  },
});

function replying(status: ExecutionResult['status']) {
  return {
    entry: { type: 'reply' as const, params: { status } },
    on: {
      REPLIED: { target: 'replied' as const },
      // A failed reply fails the actor, and its owner reports it.
      REPLY_FAILED: { actions: 'replyFailed' as const },
    },
  };
}

/** What {@link executionWith} runs. */
export interface ExecutionImplementation {
  /** Runs the method of execution `id`; `signal` aborts when the execution stops waiting for it (timeout, cancel, stop). */
  method: (id: string, signal: AbortSignal) => Promise<MethodOutcome>;
  /** Journals and answers `result`. */
  reply: (result: ExecutionResult) => Promise<void>;
  /**
   * The outcome of execution `id` when it is already under way elsewhere (a
   * message run as part of a batch): then `method` is not called, and no
   * abort signal is made for it (stopping it cannot stop the batch).
   */
  outcomeOf?: (id: string) => Promise<MethodOutcome> | undefined;
}

/** An actor as the actions below see it: they answer it with events, while it still runs. */
interface SelfRef {
  send: (event: ExecutionEvent) => void;
  getSnapshot: () => { status: string };
}

/**
 * The actions of the execution machine, for `executionMachine.provide({ actions: executionWith(...) })`:
 * `runMethod` starts `impl.method` with an abort signal and answers with
 * `METHOD_DONE` or `METHOD_FAILED`; `stopMethod` aborts a method still under
 * way; `reply` runs `impl.reply` and answers `REPLIED` or `REPLY_FAILED`.
 * An actor stopped meanwhile is told nothing.
 */
export function executionWith(impl: ExecutionImplementation): {
  runMethod: (args: { context: ExecutionContext; self: SelfRef }) => void;
  stopMethod: (args: { self: SelfRef }) => void;
  reply: (args: { context: ExecutionContext; self: SelfRef }, params: { status: ExecutionResult['status'] }) => void;
} {
  const running = new WeakMap<object, AbortController>();
  const tell = (self: SelfRef, event: ExecutionEvent): void => {
    if (self.getSnapshot().status === 'active') self.send(event);
  };
  return {
    runMethod: ({ context, self }) => {
      const batched = impl.outcomeOf?.(context.id);
      if (batched) {
        batched.then(
          (o) => tell(self, { type: 'METHOD_DONE', outcome: o }),
          (err: unknown) => tell(self, { type: 'METHOD_FAILED', error: err instanceof Error ? err.message : String(err) }),
        );
        return;
      }
      const controller = new AbortController();
      running.set(self, controller);
      // A method that throws at once fails like one whose promise rejects.
      const outcome = new Promise<MethodOutcome>((resolve) => resolve(impl.method(context.id, controller.signal)));
      outcome.then(
        (o) => {
          if (running.get(self) === controller) running.delete(self);
          tell(self, { type: 'METHOD_DONE', outcome: o });
        },
        (err: unknown) => {
          if (running.get(self) === controller) running.delete(self);
          tell(self, { type: 'METHOD_FAILED', error: err instanceof Error ? err.message : String(err) });
        },
      );
    },
    stopMethod: ({ self }) => {
      const controller = running.get(self);
      if (!controller) return;
      running.delete(self);
      controller.abort();
    },
    reply: ({ context, self }, { status }) => {
      const done = new Promise<void>((resolve) => resolve(impl.reply(resultOf(context, status))));
      done.then(
        () => tell(self, { type: 'REPLIED' }),
        (error: unknown) => tell(self, { type: 'REPLY_FAILED', error }),
      );
    },
  };
}

function statusOf(value: unknown): ExecutionResult['status'] {
  return value === 'succeeded' || value === 'timedOut' || value === 'cancelled' ? value : 'failed';
}

/** Builds the result that is stored and sent back for an execution. */
export function resultOf(context: ExecutionContext, status: ExecutionResult['status']): ExecutionResult {
  const result: ExecutionResult = { id: context.id, status, output: context.outcome?.output ?? '' };
  const error = status === 'cancelled' ? context.cancelReason : (context.error ?? context.outcome?.error);
  if (error !== undefined) result.error = error;
  if (context.outcome?.exitCode !== undefined) result.exitCode = context.outcome.exitCode;
  return result;
}
