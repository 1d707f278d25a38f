/**
 * The receiving side of `steward cancel`: where a Cancel message finds the
 * executions it names. Each subscriber registers itself once, at start (so
 * an execution costs nothing extra to be cancellable); a cancel asks each
 * in turn whether it holds the message.
 */
import type { NodeServices } from '../node/services.js';

/** What a subscriber did with a cancel of one of its messages. */
export type ExecutionCancel =
  /** It was running: stopped (its process tree killed), it answers `cancelled`. */
  | { kind: 'running' }
  /** It waited its turn: it will not run, and answers `cancelled`. */
  | { kind: 'queued' }
  /** Another node sent it: not cancelled (only a message's sender may cancel it). */
  | { kind: 'refused'; sender: string };

/** A subscriber, as a cancel sees it. @internal */
export interface CancellableExecutions {
  /**
   * Cancels message `id` if this subscriber holds it (queued or running) and
   * `byNode` sent it; undefined when it does not hold it.
   */
  cancelExecution(id: string, byNode: string, reason: string): ExecutionCancel | undefined;
}

/** The subscribers of one node. @internal */
export class ReceiverCancels {
  private readonly subscribers = new Set<CancellableExecutions>();

  /** A subscriber started; returns its unregistration. */
  register(sub: CancellableExecutions): () => void {
    this.subscribers.add(sub);
    return () => this.subscribers.delete(sub);
  }

  /** Cancels message `id` wherever it is queued or running here; undefined when no subscriber holds it. */
  cancel(id: string, byNode: string, reason: string): ExecutionCancel | undefined {
    for (const sub of this.subscribers) {
      const done = sub.cancelExecution(id, byNode, reason);
      if (done) return done;
    }
    return undefined;
  }
}

const registries = new WeakMap<NodeServices, ReceiverCancels>();

/** The {@link ReceiverCancels} of the node whose services are `s`. @internal */
export function receiverCancelsOf(s: NodeServices): ReceiverCancels {
  let r = registries.get(s);
  if (!r) registries.set(s, (r = new ReceiverCancels()));
  return r;
}
