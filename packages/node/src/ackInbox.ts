/**
 * The ACK inbox: one NATS subscription per node on which every ACK arrives.
 * Each message is published with the reply subject `<inbox>.<messageId>`, so
 * an ACK (or the broker's "no responders" status) is routed to the delivery
 * actor of that message, whichever attempt it answers.
 */
import { createInbox, type NatsConnection, type Subscription } from '@nats-io/transport-node';
import { parseAckReply, type AckReply } from '@steward/core';
import type { Logger } from './logger.js';

/** What the inbox tells a delivery. */
export type AckEvent = { type: 'ACK'; reply: AckReply } | { type: 'NO_RESPONDERS' };

/** @internal */
export class AckInbox {
  private readonly prefix: string;
  private readonly handlers = new Map<string, (e: AckEvent) => void>();
  private sub?: Subscription;

  constructor(private readonly log: Logger) {
    this.prefix = createInbox();
  }

  /** Subscribes on the connection. */
  start(nc: NatsConnection): void {
    this.sub = nc.subscribe(`${this.prefix}.>`, {
      callback: (err, msg) => {
        if (err) {
          this.log.warn(`ACK inbox subscription error: ${err.message}`);
          return;
        }
        const id = msg.subject.slice(this.prefix.length + 1);
        const handler = this.handlers.get(id);
        if (!handler) return; // a late ACK for a message already finished
        if (msg.data.length === 0 && msg.headers?.code === 503) {
          handler({ type: 'NO_RESPONDERS' });
          return;
        }
        try {
          const reply = parseAckReply(JSON.parse(new TextDecoder().decode(msg.data)));
          if (reply.id !== id) throw new Error(`ACK for ${reply.id} arrived on the inbox of ${id}`);
          handler({ type: 'ACK', reply });
        } catch (e) {
          this.log.warn(`ignored malformed ACK: ${(e as Error).message}`, { id });
        }
      },
    });
  }

  /** The reply subject for a message. */
  replySubject(id: string): string {
    return `${this.prefix}.${id}`;
  }

  /** Routes the ACKs of message `id` to `handler` until unregistered. */
  register(id: string, handler: (e: AckEvent) => void): void {
    this.handlers.set(id, handler);
  }

  /** Stops routing ACKs of message `id`. */
  unregister(id: string): void {
    this.handlers.delete(id);
  }

  /** Unsubscribes. */
  stop(): void {
    this.sub?.unsubscribe();
  }
}
