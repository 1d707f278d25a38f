/**
 * The delivery machine: the life of one message on the sending node.
 *
 * ```
 * queued ─SEND→ sending ─published→ awaitingAck ─ACK→ delivered (final)
 *                  │  └─(NACK kind)──────────────────→ delivered
 *                  └─error→ retryWait   awaitingAck ─ackTimeout→ retryWait
 *                                       awaitingAck ─ackTimeout, receiverAnsweringOthers→ awaitingAck (no resend)
 *                retryWait ─retryDelay→ sending  (or → expired (final) when retries are used up)
 * queued, retryWait ─DEADLINE→ expired   (the message's deadline passed: never sent again)
 * queued, retryWait ─CANCEL→ cancelled (final)   (steward cancel: never sent again)
 * sending, awaitingAck ─CANCEL→ (noted: the receiver is told, its ACK ends it;
 *                               no ACK → cancelled instead of a resend)
 * sending, awaitingAck, retryWait ─ACK "cancelled"→ cancelled
 * ```
 *
 * The machine is pure: the I/O (publishing on NATS) is the `publish` action,
 * run on entering `sending` and provided by the publisher process with
 * `deliveryMachine.provide({ actions: publishWith(...) })`, which answers
 * with `PUBLISHED` or `PUBLISH_FAILED` for that attempt. (An action, not an
 * invoked promise actor: no child actor per send, which halves the cost of
 * a message's actor.) An
 * ACK for any earlier attempt of the same message completes the delivery,
 * since the receiver deduplicates on the message id.
 *
 * `receiverAnsweringOthers` is a guard the publisher of an ordered subject
 * provides: the receiver answered another message of the subject within this
 * message's ACK timeout. Then an ACK timeout means the receiver is working
 * through the messages ahead of this one (a deep window, a slow or busy
 * receiver), not that this one was lost: the actor waits another ACK timeout
 * instead of resending and using up a retry. A lost message is still
 * resent: the messages behind it are held by the receiver, unanswered, so
 * the answers stop within one more ACK timeout.
 */
import { assign, setup } from 'xstate';
import type { AckReply } from './ack.js';
import { RETRY_FOREVER } from './message.js';

// setTimeout fires at once for delays above 2^31-1 ms (about 24.8 days), so longer waits are capped there.
const maxTimerMs = 2_147_483_647;

/** Input of one delivery. */
export interface DeliveryInput {
  /** The message id. */
  id: string;
  /** Whether the receiver answers with an ACK (`...ACK` kinds). */
  wantsAck: boolean;
  /** Milliseconds to wait for the ACK of one attempt. */
  ackTimeoutMs: number;
  /** Resends allowed after the first attempt; {@link RETRY_FOREVER} for no limit. */
  retries: number;
  /** Extra milliseconds to wait after an ACK timeout before resending. */
  retryWaitMs: number;
  /** Milliseconds to wait before resending after the broker refused a publish. */
  errorBackoffMs: number;
  /** Attempts already made before this actor (when resumed from the journal). */
  attempts?: number;
}

/** Context of the delivery machine. */
export interface DeliveryContext {
  id: string;
  wantsAck: boolean;
  ackTimeoutMs: number;
  retries: number;
  retryWaitMs: number;
  errorBackoffMs: number;
  attempts: number;
  /**
   * Resends answered with "still running". They prove the receiver has the
   * message, so they do not use up `retries`: a long command is not expired.
   */
  answered: number;
  /** Whether the last attempt failed to publish (broker error), not to be answered. */
  publishFailed: boolean;
  /** Whether the message's deadline passed (a `DEADLINE` event came): no further attempt. */
  deadlinePassed: boolean;
  /** Whether it was given up because of its deadline. */
  expiredByDeadline: boolean;
  /** Whether a `CANCEL` came: no further attempt. */
  cancelRequested: boolean;
  /** Whether it ended cancelled (withdrawn here, or cancelled by the receiver). */
  cancelled: boolean;
  reply?: AckReply;
  lastError?: string;
}

/** Events the delivery machine accepts. */
export type DeliveryEvent =
  | { type: 'SEND' }
  | { type: 'ACK'; reply: AckReply }
  /** The broker said nobody listens on the subject (the node is offline). */
  | { type: 'NO_RESPONDERS' }
  /** The receiver answered a resend: the method is still running, the result follows. */
  | { type: 'RUNNING' }
  /**
   * The message's deadline passed. Queued or waiting to resend: expired now.
   * An attempt already on its way is still answered (or times out) first;
   * `unsent` says the current attempt was not published after all.
   */
  | { type: 'DEADLINE'; unsent?: boolean }
  /**
   * The operator cancelled it (`steward cancel`). Queued or waiting to
   * resend: cancelled now, never sent again. An attempt on its way is
   * answered (the receiver is told to cancel it) or, unanswered, not
   * resent. `unsent` says the current attempt was not published after all.
   */
  | { type: 'CANCEL'; unsent?: boolean }
  /** The `publish` action of attempt `attempt` handed the message to the broker. */
  | { type: 'PUBLISHED'; attempt: number }
  /** The `publish` action of attempt `attempt` failed. */
  | { type: 'PUBLISH_FAILED'; attempt: number; error: unknown };

/** What a finished delivery outputs. */
export interface DeliveryOutput {
  status: 'delivered' | 'expired' | 'cancelled';
  attempts: number;
  /** Expired because its deadline passed (not because its retries were used up). */
  deadlinePassed?: boolean;
  reply?: AckReply;
  lastError?: string;
}

/** What the `publish` action is given: which message, and which attempt of it this is. */
export interface PublishInput {
  id: string;
  attempt: number;
}

/** Whether another attempt is allowed after `attempts` sends. */
export function canRetry(attempts: number, retries: number): boolean {
  return retries === RETRY_FOREVER || attempts <= retries;
}

/** An ACK ends the delivery: `cancelled` when the receiver says it cancelled the message. */
const ackTransitions = [
  { guard: 'ackCancelled' as const, target: 'cancelled' as const, actions: 'storeReply' as const },
  { target: 'delivered' as const, actions: 'storeReply' as const },
];

/** The delivery machine. Provide the `publish` action (see {@link publishWith}) before use. */
export const deliveryMachine = setup({
  types: {
    context: {} as DeliveryContext,
    events: {} as DeliveryEvent,
    input: {} as DeliveryInput,
    output: {} as DeliveryOutput,
  },
  delays: {
    ackTimeout: ({ context }) => Math.min(context.ackTimeoutMs, maxTimerMs),
    retryDelay: ({ context }) =>
      Math.min(context.publishFailed ? Math.max(context.errorBackoffMs, context.retryWaitMs) : context.retryWaitMs, maxTimerMs),
  },
  guards: {
    wantsAck: ({ context }) => context.wantsAck,
    canRetry: ({ context }) => canRetry(context.attempts - context.answered, context.retries),
    deadlinePassed: ({ context }) => context.deadlinePassed,
    nobodyListened: ({ context }) => context.lastError === 'no responders',
    unsent: ({ event }) => (event.type === 'DEADLINE' || event.type === 'CANCEL') && event.unsent === true,
    cancelRequested: ({ context }) => context.cancelRequested,
    ackCancelled: ({ event }) => event.type === 'ACK' && event.reply.status === 'cancelled',
    /** The answer of the `publish` action of this attempt (not of an earlier one). */
    thisAttempt: ({ context, event }) =>
      (event.type === 'PUBLISHED' || event.type === 'PUBLISH_FAILED') && (event.attempt === context.attempts || event.attempt === -1),
    thisAttemptWantsAck: ({ context, event }) => event.type === 'PUBLISHED' && event.attempt === context.attempts && context.wantsAck,
    // Provided by the publisher of an ordered subject (see the header); unless provided, every ACK timeout resends.
    receiverAnsweringOthers: (_args: { context: DeliveryContext }) => false,
  },
  actions: {
    // Provided by the publisher (see publishWith); until then every send fails.
    publish: ({ self }) => self.send({ type: 'PUBLISH_FAILED', attempt: -1, error: new Error('publish action not provided') }),
    storeReply: assign({ reply: ({ event }) => (event.type === 'ACK' ? event.reply : undefined) }),
    noteDeadline: assign({ deadlinePassed: true }),
    noteCancel: assign({ cancelRequested: true }),
    expireByDeadline: assign({
      deadlinePassed: true,
      expiredByDeadline: true,
      lastError: ({ context }) => (context.lastError ? `deadline passed (last attempt: ${context.lastError})` : 'deadline passed'),
    }),
  },
}).createMachine({
  id: 'delivery',
  context: ({ input }) => ({
    id: input.id,
    wantsAck: input.wantsAck,
    ackTimeoutMs: input.ackTimeoutMs,
    retries: input.retries,
    retryWaitMs: input.retryWaitMs,
    errorBackoffMs: input.errorBackoffMs,
    attempts: input.attempts ?? 0,
    answered: 0,
    publishFailed: false,
    deadlinePassed: false,
    expiredByDeadline: false,
    cancelRequested: false,
    cancelled: false,
  }),
  initial: 'queued',
  // Wherever a state does not say otherwise, a passed deadline only forbids further attempts.
  on: { DEADLINE: { actions: 'noteDeadline' } },
  output: ({ context }) => {
    const out: DeliveryOutput = {
      status: context.cancelled
        ? 'cancelled'
        : context.reply
          ? 'delivered'
          : context.wantsAck || context.expiredByDeadline
            ? 'expired'
            : 'delivered',
      attempts: context.attempts,
    };
    if (context.expiredByDeadline) out.deadlinePassed = true;
    if (context.reply) out.reply = context.reply;
    if (context.lastError !== undefined) out.lastError = context.lastError;
    return out;
  },
  states: {
    queued: {
      on: { SEND: 'sending', DEADLINE: { target: 'expired', actions: 'expireByDeadline' }, CANCEL: 'cancelled' },
    },
    sending: {
      entry: [assign({ attempts: ({ context }) => context.attempts + 1, publishFailed: false }), 'publish'],
      on: {
        PUBLISHED: [
          { guard: 'thisAttemptWantsAck', target: 'awaitingAck' },
          { guard: 'thisAttempt', target: 'delivered' },
        ],
        PUBLISH_FAILED: {
          guard: 'thisAttempt',
          target: 'retryWait',
          actions: assign({
            publishFailed: true,
            lastError: ({ event }) => `publish failed: ${errorText(event.type === 'PUBLISH_FAILED' ? event.error : undefined)}`,
          }),
        },
        ACK: ackTransitions,
        // The publisher found it cancelled before it published: this attempt never happened.
        CANCEL: [
          { guard: 'unsent', target: 'cancelled', actions: assign({ attempts: ({ context }) => context.attempts - 1 }) },
          { actions: 'noteCancel' },
        ],
        // The publisher found the deadline passed before it published: this attempt never happened.
        DEADLINE: [
          {
            guard: 'unsent',
            target: 'expired',
            actions: [assign({ attempts: ({ context }) => context.attempts - 1 }), 'expireByDeadline'],
          },
          { actions: 'noteDeadline' },
        ],
      },
    },
    awaitingAck: {
      after: {
        ackTimeout: [
          // Slow, not lost: the receiver is answering the messages ahead of this one (see the header).
          { guard: 'receiverAnsweringOthers', target: 'awaitingAck', reenter: true },
          {
            target: 'retryWait',
            actions: assign({
              lastError: ({ context }) =>
                context.lastError === 'no responders'
                  ? 'no responders: the node is not listening (offline?)'
                  : `no ACK within ${context.ackTimeoutMs / 1000}s`,
            }),
          },
        ],
      },
      on: {
        ACK: ackTransitions,
        // The receiver is told to cancel it (a Cancel message): its answer to this attempt ends the delivery.
        CANCEL: { actions: 'noteCancel' },
        // Nobody listens: still wait out the ACK timeout, so an offline node
        // is retried at the same pace as a slow one.
        NO_RESPONDERS: [
          // Nobody got it, and it is cancelled: no resend, nothing to wait for.
          { guard: 'cancelRequested', target: 'cancelled', actions: assign({ lastError: 'no responders' }) },
          // Nobody got it, and it may not be sent again: no need to wait out the ACK timeout.
          { guard: 'deadlinePassed', target: 'expired', actions: [assign({ lastError: 'no responders' }), 'expireByDeadline'] },
          { actions: assign({ lastError: 'no responders' }) },
        ],
        DEADLINE: [{ guard: 'nobodyListened', target: 'expired', actions: 'expireByDeadline' }, { actions: 'noteDeadline' }],
        // The receiver has it and is running it: wait a full ACK timeout again, then ask again.
        RUNNING: {
          target: 'awaitingAck',
          reenter: true,
          actions: assign({ answered: ({ context }) => context.answered + 1, lastError: 'still running on the receiver' }),
        },
      },
    },
    retryWait: {
      initial: 'deciding',
      states: {
        deciding: {
          always: [
            { guard: 'cancelRequested', target: '#delivery.cancelled' },
            { guard: 'deadlinePassed', target: '#delivery.expired', actions: 'expireByDeadline' },
            { guard: 'canRetry', target: 'waiting' },
            { target: '#delivery.expired' },
          ],
        },
        waiting: {
          after: { retryDelay: '#delivery.sending' },
        },
      },
      on: {
        ACK: ackTransitions,
        DEADLINE: { target: 'expired', actions: 'expireByDeadline' },
        CANCEL: 'cancelled',
      },
    },
    delivered: { type: 'final' },
    expired: { type: 'final' },
    cancelled: { type: 'final', entry: assign({ cancelled: true }) },
  },
});

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/**
 * The `publish` action for `deliveryMachine.provide({ actions: ... })`:
 * runs `publish` for the attempt just entered and answers the machine with
 * `PUBLISHED` or `PUBLISH_FAILED` once it settles.
 */
export function publishWith(publish: (input: PublishInput) => Promise<void>): {
  publish: (args: { context: DeliveryContext; self: { send: (event: DeliveryEvent) => void } }) => void;
} {
  return {
    publish: ({ context, self }) => {
      const attempt = context.attempts;
      publish({ id: context.id, attempt }).then(
        () => self.send({ type: 'PUBLISHED', attempt }),
        (error: unknown) => self.send({ type: 'PUBLISH_FAILED', attempt, error }),
      );
    },
  };
}
