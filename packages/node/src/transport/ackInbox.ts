/**
 * The ACK inbox: one NATS subscription per node on which every ACK arrives.
 * Each message is published with the reply subject `<inbox>.<messageId>`, so
 * an ACK (or the broker's "no responders" status) is routed to the delivery
 * actor of that message, whichever attempt it answers.
 */
import { createInbox, type NatsConnection, type Subscription } from '@nats-io/transport-node';
import { parseAckReply, type AckReply } from '@steward/core';
import type { Logger } from '../observability/logger.js';

/** What the inbox tells a delivery. */
export type AckEvent = { type: 'ACK'; reply: AckReply } | { type: 'NO_RESPONDERS' };

/**
 * Why an ACK body received for a message to `target` is not that node's own
 * answer (then it is ignored), or undefined when it is. See NodeSecurity.ackRefusal.
 */
export type AckCheck = (raw: Record<string, unknown>, target: string) => { code: string; reason: string } | undefined;

/** @internal */
export class AckInbox {
  private readonly prefix: string;
  private readonly handlers = new Map<string, { handler: (e: AckEvent) => void; target: string }>();
  private sub?: Subscription;

  /** `check`: which ACKs to ignore; `ignored` is told each one. @defaultValue every well-formed ACK is taken */
  constructor(
    private readonly log: Logger,
    private readonly check?: AckCheck,
    private readonly ignored?: (code: string) => void,
  ) {
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
        const entry = this.handlers.get(id);
        if (!entry) return; // a late ACK for a message already finished
        const { handler, target } = entry;
        if (msg.data.length === 0 && msg.headers?.code === 503) {
          handler({ type: 'NO_RESPONDERS' });
          return;
        }
        try {
          const raw = JSON.parse(new TextDecoder().decode(msg.data)) as unknown;
          const reply = parseAckReply(raw);
          if (reply.id !== id) throw new Error(`ACK for ${reply.id} arrived on the inbox of ${id}`);
          // Not the target's own answer: ignored, so the real one (or a resend) still counts.
          const refusal = this.check?.(raw as Record<string, unknown>, target);
          if (refusal) {
            this.ignored?.(refusal.code);
            this.log.warn(`ignored an ACK that is not ${target}'s own: ${refusal.code}: ${refusal.reason}`, { id });
            return;
          }
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

  /** Routes the ACKs of message `id`, sent to node `target`, to `handler` until unregistered. */
  register(id: string, target: string, handler: (e: AckEvent) => void): void {
    this.handlers.set(id, { handler, target });
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
