/**
 * A delivery whose receiver never answers, on simulated time: every publish
 * succeeds and no ACK comes. The cancel and deadline tests of the delivery
 * machine start from it.
 */
import { createActor } from 'xstate';
import { deliveryMachine, publishWith, type DeliveryInput } from '../src/deliveryMachine.js';
import { runUntil, TestClock } from './testClock.js';

/** The delivery, its clock, the attempts published so far, its top-level state, and a wait on simulated time. */
export function silentDelivery(input: Partial<DeliveryInput> = {}) {
  const clock = new TestClock();
  const attempts: number[] = [];
  const logic = deliveryMachine.provide({
    actions: publishWith(async (p) => {
      attempts.push(p.attempt);
    }),
  });
  const actor = createActor(logic, {
    input: { id: 'm1', wantsAck: true, ackTimeoutMs: 30, retries: -1, retryWaitMs: 0, errorBackoffMs: 20, ...input },
    clock,
  });
  actor.start();
  const state = () => {
    const v = actor.getSnapshot().value;
    return typeof v === 'string' ? v : Object.keys(v)[0]!;
  };
  const until = (what: string, cond: () => boolean) => runUntil(clock, cond, what);
  return { actor, clock, attempts, state, until };
}
