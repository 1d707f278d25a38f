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
 * reply are the `method` and `reply` actors, provided by the subscriber.
 * Leaving `running` on methodTimeout stops the method actor, whose abort
 * signal kills the command's whole process tree. A `reply` actor that fails
 * (the result could not be journaled) fails the execution actor itself, so
 * its owner reports it: the failure is never swallowed.
 */
import { assign, fromPromise, setup } from 'xstate';
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
  { type: 'CANCEL'; reason: string };

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

/** The execution machine. Provide `actors.method` and `actors.reply` before use. */
export const executionMachine = setup({
  types: {
    context: {} as ExecutionContext,
    input: {} as ExecutionInput,
    events: {} as ExecutionEvent,
    output: {} as ExecutionResult,
  },
  actors: {
    method: fromPromise<MethodOutcome, { id: string }>(() => Promise.reject(new Error('method actor not provided'))),
    reply: fromPromise<void, ExecutionResult>(() => Promise.reject(new Error('reply actor not provided'))),
  },
  delays: {
    methodTimeout: ({ context }) => (context.methodTimeoutMs < 0 ? maxTimerMs : Math.min(context.methodTimeoutMs, maxTimerMs)),
  },
  guards: {
    cancelledBefore: ({ context }) => context.cancelReason !== undefined,
    hasMethodTimeout: ({ context }) => context.methodTimeoutMs >= 0,
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
      invoke: {
        src: 'method',
        input: ({ context }) => ({ id: context.id }),
        onDone: [
          { guard: ({ event }) => event.output.ok, target: 'succeeded', actions: assign({ outcome: ({ event }) => event.output }) },
          { target: 'failed', actions: assign({ outcome: ({ event }) => event.output }) },
        ],
        onError: {
          target: 'failed',
          actions: assign({ error: ({ event }) => (event.error instanceof Error ? event.error.message : String(event.error)) }),
        },
      },
      after: {
        methodTimeout: {
          guard: 'hasMethodTimeout',
          target: 'timedOut',
          actions: assign({ error: ({ context }) => `killed: ran longer than methodTimeout ${context.methodTimeoutMs / 1000}s` }),
        },
      },
      // Leaving `running` stops the method actor: its abort signal kills the process tree, as on methodTimeout.
      on: { CANCEL: { target: 'cancelled', actions: assign({ cancelReason: ({ event }) => event.reason }) } },
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
    invoke: {
      src: 'reply' as const,
      input: ({ context }: { context: ExecutionContext }) => resultOf(context, status),
      // No onError: a failed reply fails the actor, and its owner reports it.
      onDone: { target: 'replied' as const },
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
