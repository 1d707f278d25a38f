/**
 * The sending side of `steward cancel`: the publishers of one node by
 * subject, and the ids being cancelled. A publisher registers itself once,
 * at start; the only per-message cost when nothing is cancelled is one
 * lookup in an empty set before each send.
 *
 * A cancelled id goes into {@link Withdrawals.cancelling} before anything
 * else, in the same event-loop turn as the decision, so a publisher that
 * loads or is about to publish the message sees it and never sends it: the
 * message cannot leave after the cancel is journaled.
 */
import client from 'prom-client';
import type { Metrics } from '../observability/metrics.js';
import type { NodeServices } from '../node/services.js';

/** What a publisher did with a cancel of one of its messages. */
export type PublisherCancel =
  /** Never sent: withdrawn from the outbox, it ends `cancelled` (no need to tell the receiver). */
  | 'withdrawn'
  /** Sent at least once and not answered: the receiver may have it, and must be told. */
  | 'sent';

/** A publisher, as a cancel sees it. @internal */
export interface CancellableDeliveries {
  /** Cancels message `id` if this publisher holds it (queued or in flight); undefined when it does not. */
  cancelDelivery(id: string): PublisherCancel | undefined;
}

/** The publishers of one node. @internal */
export class Withdrawals {
  private readonly publishers = new Map<string, CancellableDeliveries>();
  /** Ids being cancelled: never published again, whoever loads them. Deleted once their end is journaled. */
  readonly cancelling = new Set<string>();

  /** A publisher of `subject` started; returns its unregistration. */
  register(subject: string, pub: CancellableDeliveries): () => void {
    this.publishers.set(subject, pub);
    return () => {
      if (this.publishers.get(subject) === pub) this.publishers.delete(subject);
    };
  }

  /** The running publisher of `subject`, if any. */
  publisherOf(subject: string): CancellableDeliveries | undefined {
    return this.publishers.get(subject);
  }
}

const registries = new WeakMap<NodeServices, Withdrawals>();

/** The {@link Withdrawals} of the node whose services are `s`. @internal */
export function withdrawalsOf(s: NodeServices): Withdrawals {
  let r = registries.get(s);
  if (!r) registries.set(s, (r = new Withdrawals()));
  return r;
}

const counters = new WeakMap<Metrics, client.Counter<'method' | 'side'>>();

/** `steward_messages_cancelled_total{method,side}`: messages cancelled, at the sender or the receiver. @internal */
export function cancelledCounter(metrics: Metrics): client.Counter<'method' | 'side'> {
  let c = counters.get(metrics);
  if (!c) {
    c = new client.Counter({
      name: 'steward_messages_cancelled_total',
      help: 'Messages cancelled (steward cancel): deliveries that ended cancelled at the sender, executions cancelled at the receiver, by method and side',
      labelNames: ['method', 'side'],
      registers: [metrics.registry],
    });
    counters.set(metrics, c);
  }
  return c;
}
