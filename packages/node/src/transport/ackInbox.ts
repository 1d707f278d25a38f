/**
 * The ACK inbox: one NATS subscription per node on which every ACK arrives.
 * Each message is published with the reply subject `<inbox>.<messageId>`, so
 * an ACK (or the broker's "no responders" status) is routed to the delivery
 * actor of that message, whichever attempt it answers.
 */
import { createInbox, type NatsConnection, type Subscription } from '@nats-io/transport-node';
import { ACK_FRAME_TAG, parseAckFrame, parseAckReply, splitFrame, type AckReply, type RawFrame } from '@steward/core';
import type { Logger } from '../observability/logger.js';

/** What the inbox tells a delivery. */
export type AckEvent = { type: 'ACK'; reply: AckReply } | { type: 'NO_RESPONDERS' };

/**
 * Why an ACK body received for a message to `target` is not that node's own
 * answer (then it is ignored), or undefined when it is. See NodeSecurity.ackRefusal.
 */
export type AckCheck = (raw: Record<string, unknown>, target: string) => { code: string; reason: string } | undefined;

/**
 * Why a frame of ACKs from `node`, received for messages sent to `target`,
 * is not that node's own answer, or undefined when it is. See
 * NodeSecurity.ackFrameRefusal.
 */
export type AckFrameCheck = (frame: RawFrame, node: string, target: string) => { code: string; reason: string } | undefined;

/** The reply subjects of frames are `<inbox>.frame.<first id>`: two tokens, so never a message id's. */
const frameToken = 'frame.';

/**
 * Whether `subject` is the reply subject of a frame of messages (answered
 * with a frame of ACKs). A single message's is `<inbox>.<id>`, whose
 * second-last token is the inbox's random part, never `frame`.
 */
export function isFrameReplySubject(subject: string): boolean {
  const last = subject.lastIndexOf('.');
  return last > 6 && subject.startsWith('.frame', last - 6) && subject.lastIndexOf('.', last - 1) === last - 6;
}

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
    private readonly frameCheck?: AckFrameCheck,
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
        if (id.startsWith(frameToken)) {
          this.onFrame(id.slice(frameToken.length), msg.data, msg.headers?.code);
          return;
        }
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

  /**
   * An answer on the reply subject of a frame whose first message is
   * `firstId`: the broker's "no responders" (told to that message's
   * delivery, whose publisher then closes its window), or a frame of ACKs
   * (checked once, then routed ACK by ACK as on single subjects).
   */
  private onFrame(firstId: string, data: Uint8Array, status: number | undefined): void {
    if (data.length === 0) {
      if (status === 503) this.handlers.get(firstId)?.handler({ type: 'NO_RESPONDERS' });
      return;
    }
    try {
      const raw = splitFrame(data, ACK_FRAME_TAG);
      const frame = parseAckFrame(raw);
      let checked: { target: string; refusal: ReturnType<AckFrameCheck> } | undefined;
      for (const ack of frame.acks) {
        const id = typeof ack.id === 'string' ? ack.id : '';
        const entry = this.handlers.get(id);
        if (!entry) continue; // a late ACK for a message already finished
        // One check per frame (all its messages went to one node); a frame for messages to several targets is checked per target.
        if (checked?.target !== entry.target) checked = { target: entry.target, refusal: this.frameCheck?.(raw, frame.node, entry.target) };
        if (checked.refusal) {
          this.ignored?.(checked.refusal.code);
          this.log.warn(`ignored an ACK that is not ${entry.target}'s own: ${checked.refusal.code}: ${checked.refusal.reason}`, { id });
          continue;
        }
        try {
          // The frame names the answering node; each ACK in it must too.
          if (ack.node !== frame.node) throw new Error(`ACK names node "${String(ack.node)}" in a frame from "${frame.node}"`);
          entry.handler({ type: 'ACK', reply: parseAckReply(ack) });
        } catch (e) {
          this.log.warn(`ignored malformed ACK: ${(e as Error).message}`, { id });
        }
      }
    } catch (e) {
      this.log.warn(`ignored malformed ACK frame: ${(e as Error).message}`, { id: firstId });
    }
  }

  /** The reply subject of a frame of messages whose first message is `firstId`. */
  frameReplySubject(firstId: string): string {
    return `${this.prefix}.${frameToken}${firstId}`;
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
