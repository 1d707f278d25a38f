/**
 * The sending side of frames (see core frame.ts): a publisher hands each
 * send of a message to its writer. The first send of an event-loop turn goes
 * at once, as it always did: its own signed JSON, answered on its own ACK
 * subject, so a lone message waits for nothing. The ones handed over after
 * it in the same turn go at the end of the turn: one alone as before, two or
 * more as frames of messages, each with one signature and one ACK subject
 * (`<inbox>.frame.<first id>`), so the signature, the NATS message and the
 * socket write are paid per frame, not per message.
 */
import type { NatsConnection } from '@nats-io/transport-node';
import { encodeFrame, frameRuns, MESSAGE_FRAME_TAG, type WireMessage } from '@steward/core';
import type { NodeSecurity } from '../security/nodeSecurity.js';
import type { AckInbox } from './ackInbox.js';

/** A frame is closed at this many bytes of message JSON (the broker's max_payload is 1 MiB by default). */
export const frameBytes = 256 * 1024;
/** A message larger than this travels alone. */
const aloneBytes = 64 * 1024;
/** At most this many messages in one frame. */
const frameMessages = 512;

interface Pending {
  id: string;
  /** The wire message (encoded fields, `follows`), not yet stamped or signed. */
  message: WireMessage;
}

/** @internal */
export class FrameWriter {
  private pending: Pending[] = [];
  private scheduled = false;

  /**
   * `framed`: whether more than one message may travel in a frame (the
   * `frames` option, ACKed kinds only); otherwise every message goes alone
   * at once.
   */
  constructor(
    private readonly subject: string,
    private readonly acks: AckInbox,
    private readonly security: NodeSecurity | undefined,
    private readonly framed: boolean,
    private readonly fromNode: string,
    private readonly toNode: string,
    private readonly maxAgeMs: number,
  ) {}

  /** Sends `message` (id `id`) on this writer's subject: now, or at the end of this turn with the others. */
  send(nc: NatsConnection, id: string, message: WireMessage): void {
    if (!this.framed) {
      nc.publish(this.subject, this.single(message), { reply: this.acks.replySubject(id) });
      return;
    }
    if (!this.scheduled) {
      // The first of this turn goes at once (a lone message waits for nothing); those after it
      // in the same turn go together at its end.
      this.scheduled = true;
      setImmediate(() => this.flush(nc));
      nc.publish(this.subject, this.single(message), { reply: this.acks.replySubject(id) });
      return;
    }
    this.pending.push({ id, message });
  }

  /** Drops what was handed over and not sent yet (the publisher stopped). */
  clear(): void {
    this.pending = [];
  }

  private single(message: WireMessage): Uint8Array {
    return this.security ? this.security.payload(message) : Buffer.from(JSON.stringify(message), 'utf8');
  }

  private flush(nc: NatsConnection): void {
    this.scheduled = false;
    const all = this.pending;
    this.pending = [];
    if (all.length === 0) return;
    if (all.length === 1) {
      const { id, message } = all[0]!;
      nc.publish(this.subject, this.single(message), { reply: this.acks.replySubject(id) });
      return;
    }
    const entries = all.map((p) => ({ p, json: JSON.stringify(p.message) }));
    // A large message goes alone, in its place in the order.
    const runs = frameRuns(
      entries,
      (e) => e.json.length + 1,
      frameBytes,
      frameMessages,
      (e) => e.json.length > aloneBytes,
    );
    for (const run of runs) this.publishFrame(nc, run);
  }

  private publishFrame(nc: NatsConnection, frame: { p: Pending; json: string }[]): void {
    const first = frame[0]!.p;
    if (frame.length === 1) {
      // Alone (large, or the only one of its run): as it always travelled.
      nc.publish(this.subject, this.single(first.message), { reply: this.acks.replySubject(first.id) });
      return;
    }
    const expiresAt = this.security ? this.security.expiresAtNow() : Date.now() + this.maxAgeMs;
    const json =
      `{"fromNode":${JSON.stringify(this.fromNode)},"toNode":${JSON.stringify(this.toNode)},"expiresAt":${expiresAt},` +
      `"messages":[${frame.map((f) => f.json).join(',')}]}`;
    const body = encodeFrame(MESSAGE_FRAME_TAG, json, this.security?.keys.privateKey);
    nc.publish(this.subject, body, { reply: this.acks.frameReplySubject(first.id) });
  }
}
