/**
 * A subscriber process: receives one method on this node, on
 * `<node>.<kind>.<method>` for every kind. Each received message is parsed
 * and verified (inboundMessage.ts), deduplicated (a message id already in the
 * inbox is never run again: a resend is answered with the stored result),
 * held until its predecessor arrives when it was pipelined
 * (heldMessages.ts), journaled, queued in its lane (lanes.ts: arrival order
 * per subject, NOSEQ methods concurrently), and run by an execution actor
 * (executionRunner.ts) holding the file it appends to (appendHolds.ts). The
 * result is journaled with its follow-up (followUps.ts) and ACKed.
 */
import type { Msg, NatsConnection, Subscription } from '@nats-io/transport-node';
import {
  ACK_FRAME_TAG,
  encodeAck,
  encodeFrame,
  frameRuns,
  isFrame,
  MESSAGE_FRAME_TAG,
  parseMessageFrame,
  splitFrame,
  InboxState,
  isChunkRef,
  isFailureStatus,
  kindIsCommand,
  kindWantsAck,
  methodInfo,
  parseSubject,
  ResultStatus,
  type AckReply,
  type ExecutionResult,
  type InboxRecord,
  type WireAck,
  type WireMessage,
} from '@steward/core';
import { scheduled, type MethodHandler } from '../methods/index.js';
import { FailureKind } from '../node/errorKernel.js';
import type { NodeServices } from '../node/services.js';
import type { NodeSecurity } from '../security/nodeSecurity.js';
import { AppendHolds } from './appendHolds.js';
import { ExecutionRunner, type Pending } from './executionRunner.js';
import { receiverCancelsOf, type ExecutionCancel } from './receiverCancels.js';
import { cancelledCounter } from '../delivery/withdrawals.js';
import { ackInChunks, holdUntilChunks, tooBigForBroker, wholeOfMessage } from './chunks.js';
import { fitOutput, followUpOf, followUpQueued } from './followUps.js';
import { HeldMessages } from './heldMessages.js';
import { arrivalOf, maxPayloadBytes, parseInbound, verifyInbound, type Arrival } from './inboundMessage.js';
import { isFrameReplySubject } from '../transport/ackInbox.js';
import { resumedAppends } from './interruptedAppends.js';
import { Lanes, type LaneItem } from './lanes.js';
import { refusedAsLate } from './lateArrival.js';

/** @internal */
export interface SubscriberOptions {
  services: NodeServices;
  method: string;
  handler: MethodHandler;
  fail: (err: unknown) => void;
  /** Signature, trust and expiry checks; absent = none (tests of the bare runtime). */
  security?: NodeSecurity;
}

/** @internal */
export class Subscriber {
  private readonly s: NodeServices;
  private sub?: Subscription;
  private nc?: NatsConnection;
  private readonly pending = new Map<string, Pending>();
  /** Messages that arrived before the one they follow (pipelined ordered delivery), and recently refused ids. */
  private readonly held: HeldMessages;
  /** Replies being taken and not journaled yet: request id → reply id (see replyGuard.ts). */
  private readonly replyClaims = new Map<string, string>();
  private readonly appends: AppendHolds;
  private readonly runner: ExecutionRunner;
  private readonly lanes: Lanes;
  private stopped = false;
  /** Takes this subscriber out of the node's cancellable executions (see receiverCancels.ts). */
  private unregisterCancels?: () => void;

  constructor(private readonly opts: SubscriberOptions) {
    this.s = opts.services;
    this.held = new HeldMessages(this.s.log);
    const handlerFor = (m: WireMessage) => this.handlerFor(m);
    this.appends = new AppendHolds(this.s, handlerFor);
    this.runner = new ExecutionRunner({
      services: this.s,
      handlerFor,
      pending: this.pending,
      appends: this.appends,
      stopped: () => this.stopped,
      finish: (m, subject, result) => this.finish(m, subject, result),
    });
    this.lanes = new Lanes({
      ordered: methodInfo(opts.method)?.ordered ?? true,
      concurrency: () => this.s.config.noseqConcurrency,
      // Per subject and sender for methods whose effects are the sender's own.
      laneOf: ({ m, subject }) => (this.handlerFor(m).perSender ? `${subject} ${m.fromNode}` : subject),
      batchKeyOf: (item) => this.batchKeyOf(item),
      // A batch appends to one file: its head's.
      run: (group) => this.appends.holding(group, () => this.runner.run(group)),
      stopped: () => this.stopped,
    });
  }

  /** The subject pattern this subscriber listens on. */
  get pattern(): string {
    return `${this.s.config.node}.*.${this.opts.method}`;
  }

  /** Resumes unfinished executions from the journal, then subscribes. */
  async start(): Promise<void> {
    await this.recover();
    this.unregisterCancels = receiverCancelsOf(this.s).register(this);
    const nc = await this.s.broker.ready();
    if (this.stopped) return;
    this.nc = nc;
    this.sub = nc.subscribe(this.pattern, {
      callback: (err, msg) => {
        if (err) {
          this.opts.fail(err);
          return;
        }
        if (isFrame(msg.data, MESSAGE_FRAME_TAG)) this.onFrame(msg);
        else this.handle(arrivalOf(msg));
      },
    });
    await nc.flush();
  }

  /** The inbox lookups of the frame being taken (see inInbox); undefined between frames. */
  private frameInbox?: { ids: Set<string>; present: Set<string> };

  /** Unsubscribes and stops executions; their inbox state stays for recovery. */
  stop(): void {
    this.stopped = true;
    this.unregisterCancels?.();
    this.sub?.unsubscribe();
    this.held.clear();
    for (const p of this.pending.values()) p.stop?.();
  }

  /** Queues the executions this method left unfinished in the journal (or reports the interrupted ones). */
  private async recover(): Promise<void> {
    const open = this.s.journal.openInbox();
    // A subscriber restarted by its supervisor: its cut appends go next on their files, before
    // those already waiting (a no-op at start-up, where reserveInterruptedAppends reserved them).
    // Reserved back to front, so they keep their journal order.
    for (const { id, file } of resumedAppends(this.s, open, [this.opts.method]).reverse()) this.s.appendLocks.reserve(file, id, true);
    for (const rec of open) {
      if (rec.message.method !== this.opts.method) continue;
      this.pending.set(rec.id, { fromNode: rec.message.fromNode });
      if (rec.state === InboxState.Running && !this.handlerFor(rec.message).idempotent && !rec.message.rerunInterrupted) {
        await this.interrupted(rec);
        continue;
      }
      this.s.log.info(rec.state === InboxState.Running ? 'resuming interrupted execution' : 'resuming received message', {
        id: rec.id,
        subject: rec.subject,
      });
      this.lanes.enqueue({ m: rec.message, subject: rec.subject, progress: rec.progress });
    }
  }

  /** A non-idempotent execution was cut by a crash: report it instead of running it twice. */
  private async interrupted(rec: InboxRecord): Promise<void> {
    const m = rec.message;
    const result: AckReply = {
      id: m.id,
      node: this.s.config.node,
      status: ResultStatus.Interrupted,
      error: 'the node stopped while this ran; it was not run again (set "rerunInterrupted": true to re-run)',
    };
    const followUp = followUpOf(this.s, m, result, this.handlerFor(m));
    await this.s.journal.updateInbox(m.id, { state: InboxState.Interrupted, result, finishedAt: Date.now() }, followUp);
    this.pending.delete(m.id);
    if (followUp) followUpQueued(this.s, followUp);
    this.s.events.emit('execution', { id: m.id, subject: rec.subject, message: m, state: 'interrupted', result, time: Date.now() });
    this.s.errors.report({
      kind: FailureKind.Interrupted,
      text: `${m.method} from ${m.fromNode} interrupted by a node restart`,
      messageId: m.id,
      subject: rec.subject,
      peer: m.fromNode,
    });
  }

  /** Takes one message: checks, deduplicates, holds or journals it, and queues it for its turn. */
  private async onMessage(msg: Arrival): Promise<void> {
    const parsed = parseSubject(msg.subject);
    if (!parsed) return;
    const kind = parsed.kind;
    const inbound = parseInbound(msg, kind, parsed.method, this.s.config, wholeOfMessage(this.s));
    if (!inbound.ok) {
      // Its chunks are still on the way (see chunks.ts): not answered; taken again when one comes, or when resent.
      if (inbound.missing) return holdUntilChunks(this.s, inbound.missing, () => this.handle(msg));
      const { rawId, text } = inbound;
      this.s.errors.report({ kind: FailureKind.BadInput, text: `refused a message on ${msg.subject}: ${text}`, subject: msg.subject });
      if (msg.reply) this.respond(msg.reply, { id: rawId, node: this.s.config.node, status: ResultStatus.Rejected, error: text });
      if (rawId) this.settledWithoutJournal(rawId);
      return;
    }
    // A reply is taken only as the answer to a request of ours, and runs as that request says (see replyGuard.ts).
    const { m, answers, refusal } = verifyInbound(this.s, this.opts.security, inbound, (requestId) => this.replyClaims.get(requestId));
    if (refusal) {
      this.s.metrics.refused.inc({ code: refusal.code });
      this.s.errors.report({
        kind: FailureKind.Rejected,
        text: `refused ${m.method} from ${m.fromNode} on ${msg.subject}: ${refusal.code}: ${refusal.reason}`,
        messageId: m.id,
        subject: msg.subject,
        peer: m.fromNode,
        localOnly: methodInfo(m.method)?.errorReport === true,
      });
      if (msg.reply) this.respond(msg.reply, { id: m.id, node: this.s.config.node, status: ResultStatus.Rejected, error: refusal.reason });
      this.settledWithoutJournal(m.id);
      return;
    }

    const known = this.pending.get(m.id);
    if (known) {
      // A resend while the first copy is still queued or running: answer it when that finishes.
      if (msg.reply) known.replyTo = msg.reply;
      if (kind === 'EventACK' && msg.reply) this.respond(msg.reply, this.receivedAck(m.id, true));
      // Tell a waiting sender the command is still running, so a long command is not expired.
      if (kind === 'CommandACK' && msg.reply)
        this.respond(msg.reply, { id: m.id, node: this.s.config.node, status: ResultStatus.Running, duplicate: true });
      this.s.metrics.duplicates.inc({ method: m.method });
      this.s.log.info('resend of a message still queued or running: not run again, answered when it finishes', {
        id: m.id,
        subject: msg.subject,
      });
      return;
    }
    // Most messages are new: the index alone says so, and only a duplicate's record is read.
    const stored = this.inInbox(m.id) ? this.s.journal.getInbox(m.id) : undefined;
    if (stored) {
      this.s.metrics.duplicates.inc({ method: m.method });
      this.s.events.emit('execution', {
        id: m.id,
        subject: msg.subject,
        message: m,
        state: 'duplicate',
        ...(stored.result ? { result: stored.result } : {}),
        time: Date.now(),
      });
      this.s.log.info('duplicate answered from the journal, not run again', { id: m.id, subject: msg.subject });
      if (msg.reply) {
        const reply = stored.result && kindIsCommand(kind) ? { ...stored.result, duplicate: true } : this.receivedAck(m.id, true);
        this.respond(msg.reply, reply);
      }
      return;
    }
    // Its sender cancelled it before it came (see methods/cancel.ts): refused as cancelled, never run.
    // Checked without waiting: between the duplicate checks above and `pending` below nothing may
    // wait, or a second copy of the message (a resend, a held copy released) would pass them too
    // and be journaled twice.
    const cancelledBy = this.cancelledBy(m);
    if (cancelledBy !== undefined) {
      await this.refuseCancelledBeforeArrival(m, msg, cancelledBy);
      return;
    }
    // New, and its deadline (ttl) passed on the way: refused, not run late (see lateArrival.ts).
    if (
      refusedAsLate(this.s, m, msg.subject, (ack) => {
        if (msg.reply) this.respond(msg.reply, ack);
      })
    ) {
      this.settledWithoutJournal(m.id);
      return;
    }

    // Pipelined ordered delivery: the message it follows must be here first.
    if (m.follows && msg.reply && kindWantsAck(kind) && !this.hasSeen(m.follows)) {
      this.held.hold(m, msg);
      return;
    }

    if (this.held.size > 0) this.held.unhold(m.id);
    const pending: Pending = msg.reply ? { replyTo: msg.reply, fromNode: m.fromNode } : { fromNode: m.fromNode };
    if (answers !== undefined) {
      pending.answers = answers;
      this.replyClaims.set(answers, m.id);
    }
    this.pending.set(m.id, pending);
    if (kind === 'CommandACK' && msg.reply) {
      // Its ACK comes only after it ran, and the sender resends until then: the receipt needs no
      // commit of its own. It is journaled, already running, just before its first effect.
      pending.unjournaled = true;
      this.lanes.enqueue({ m, subject: msg.subject, progress: undefined });
      this.releaseFollowerOf(m.id);
      return;
    }
    try {
      // Durable before the ACK and before any effect: a crash after this point can never run it twice.
      await this.s.journal.insertInbox(m, msg.subject, answers);
    } catch (err) {
      this.pending.delete(m.id);
      if (answers !== undefined) this.replyClaims.delete(answers);
      this.s.errors.report({
        kind: FailureKind.Journal,
        text: 'could not journal a received message; not ACKed, the sender will resend',
        messageId: m.id,
        subject: msg.subject,
        error: err,
      });
      return;
    }
    if (kind === 'EventACK' && pending.replyTo) {
      this.respond(pending.replyTo, this.receivedAck(m.id, false));
      delete pending.replyTo;
    }
    this.lanes.enqueue({ m, subject: msg.subject, progress: undefined });
    this.releaseFollowerOf(m.id);
  }

  /**
   * Cancels message `id` if this subscriber holds it and `byNode` sent it
   * (see receiverCancels.ts): a running one is stopped, a queued one will
   * not run. Either way its execution actor answers `cancelled`.
   */
  cancelExecution(id: string, byNode: string, reason: string): ExecutionCancel | undefined {
    const p = this.pending.get(id);
    if (!p) return undefined;
    // The Cancel's fromNode is its proven sender; the message's own fromNode says who may cancel it.
    if (p.fromNode !== byNode) return { kind: 'refused', sender: p.fromNode ?? 'unknown' };
    if (p.cancel) {
      p.cancel(reason);
      return { kind: 'running' };
    }
    p.cancelReason = reason;
    return { kind: 'queued' };
  }

  /**
   * Whether `m`'s own sender cancelled it before it came: if so it is
   * journaled as cancelled (a resend is answered from the inbox) and
   * answered, never run. A cancel by another node does not count. Costs one
   * primary-key lookup per new message.
   */
  /** Who cancelled message `m` before it arrived: its sender, or undefined (a cancel by anyone else does not count). */
  private cancelledBy(m: WireMessage): string | undefined {
    const by = this.s.journal.cancelOf(m.id);
    return by !== undefined && by === m.fromNode ? by : undefined;
  }

  /** Message `m` was cancelled by its sender (`by`) before it came: recorded and answered as cancelled, never run. */
  private async refuseCancelledBeforeArrival(m: WireMessage, msg: Arrival, by: string): Promise<void> {
    const result: AckReply = {
      id: m.id,
      node: this.s.config.node,
      status: ResultStatus.Cancelled,
      error: `cancelled by ${by} before it arrived`,
    };
    await this.s.journal.insertInboxCancelled(m, msg.subject, result);
    this.s.metrics.executions.inc({ method: m.method, status: result.status });
    cancelledCounter(this.s.metrics).inc({ method: m.method, side: 'receiver' });
    this.s.events.emit('execution', { id: m.id, subject: msg.subject, message: m, state: 'cancelled', result, time: Date.now() });
    this.s.log.info(`${m.method} cancelled before it arrived: not run`, { id: m.id, subject: msg.subject, from: m.fromNode });
    if (msg.reply) this.respond(msg.reply, kindIsCommand(m.commandOrEvent) ? result : this.receivedAck(m.id, false));
    this.settledWithoutJournal(m.id);
  }

  /** Whether message `id` was received (queued, running, finished or refused). */
  private hasSeen(id: string): boolean {
    return this.pending.has(id) || this.held.wasRefused(id) || this.inInbox(id);
  }

  /**
   * Whether message `id` is in the inbox. While a frame's messages are taken
   * (one synchronous pass: no commit can come between), the frame's ids and
   * the ids they follow were looked up at once (see onFrame); any other id is
   * looked up alone.
   */
  private inInbox(id: string): boolean {
    const checked = this.frameInbox;
    return checked?.ids.has(id) ? checked.present.has(id) : this.s.journal.hasInbox(id);
  }

  /** `id` was taken: the message held for it, if any, is processed now (and so on down the chain). */
  private releaseFollowerOf(id: string): void {
    const next = this.held.followerOf(id);
    if (next) this.handle(next);
  }

  /** Processes a message that arrived (or was held until now); a failure is reported, never thrown. */
  private handle(msg: Arrival): void {
    this.onMessage(msg).catch((e: unknown) =>
      this.s.errors.report({
        kind: FailureKind.ActorCrashed,
        text: `subscriber ${this.pattern} failed on a message`,
        subject: msg.subject,
        error: e,
      }),
    );
  }

  /**
   * A frame of messages (see core frame.ts): checked once (its signature,
   * against its signer's approved key), then each message is taken as if it
   * had come alone, in frame order, answered in one ACK frame. A frame that
   * fails its check is refused whole: each message it carries is answered
   * `rejected`, and nothing of it is journaled.
   */
  private onFrame(msg: Msg): void {
    const s = this.s;
    let messages: Record<string, unknown>[];
    let frame: { fromNode: string; expiresAt: number };
    try {
      const limit = s.config.maxPayloadBytes ?? maxPayloadBytes;
      if (msg.data.length > limit) throw new Error(`frame larger than ${limit} bytes`);
      const raw = splitFrame(msg.data, MESSAGE_FRAME_TAG);
      const parsed = parseMessageFrame(raw);
      if (parsed.toNode !== s.config.node) throw new Error(`frame for node "${parsed.toNode}" arrived at node "${s.config.node}"`);
      frame = { fromNode: parsed.fromNode, expiresAt: parsed.expiresAt };
      messages = parsed.messages;
      const refusal = this.opts.security?.frameRefusal(raw, parsed.fromNode, parsed.expiresAt);
      if (refusal) {
        s.metrics.refused.inc({ code: refusal.code }, messages.length);
        s.errors.report({
          kind: FailureKind.Rejected,
          code: refusal.code,
          text: `refused a frame of ${messages.length} message(s) from ${parsed.fromNode} on ${msg.subject}: ${refusal.code}: ${refusal.reason}`,
          subject: msg.subject,
          peer: parsed.fromNode,
        });
        // A frame's sender gets every refusal in one ACK frame; any other reply subject gets one answer, so a
        // forged frame never makes this node send more NATS messages than it received.
        const answered = msg.reply && isFrameReplySubject(msg.reply) ? messages : messages.slice(0, 1);
        for (const m of messages) {
          const id = typeof m.id === 'string' ? m.id : '';
          if (msg.reply && answered.includes(m))
            this.respond(msg.reply, { id, node: s.config.node, status: ResultStatus.Rejected, error: refusal.reason });
          if (id) this.settledWithoutJournal(id);
        }
        return;
      }
    } catch (err) {
      s.errors.report({
        kind: FailureKind.BadInput,
        code: 'invalid',
        text: `refused a frame on ${msg.subject}: ${(err as Error).message}`,
        subject: msg.subject,
      });
      return;
    }
    // Which of them (and of the messages they follow) are in the inbox already: one lookup for the frame.
    const ids = new Set<string>();
    for (const raw of messages) {
      if (typeof raw.id === 'string') ids.add(raw.id);
      if (typeof raw.follows === 'string') ids.add(raw.follows);
    }
    this.frameInbox = { ids, present: s.journal.inboxIdsAmong([...ids]) };
    try {
      for (const raw of messages) this.handle({ subject: msg.subject, raw, frame, ...(msg.reply ? { reply: msg.reply } : {}) });
    } finally {
      this.frameInbox = undefined;
    }
  }

  /** A message answered `rejected` (never journaled): remember it, and take what follows it. */
  private settledWithoutJournal(id: string): void {
    this.held.refuse(id);
    this.releaseFollowerOf(id);
  }

  private receivedAck(id: string, duplicate: boolean): AckReply {
    return { id, node: this.s.config.node, status: ResultStatus.Received, ...(duplicate ? { duplicate } : {}) };
  }

  /** What `item` may run in one batch with, if anything (see Lanes). */
  private batchKeyOf(item: LaneItem): string | undefined {
    const handler = this.handlerFor(item.m);
    if (!handler.batch || item.progress !== undefined || item.m.schedule) return undefined;
    try {
      return handler.batch.key({ services: this.s, message: item.m, subject: item.subject });
    } catch {
      return undefined;
    }
  }

  /** Journals the result of an execution with its follow-up, answers the sender, and reports a failure. */
  private async finish(m: WireMessage, subject: string, result: ExecutionResult): Promise<void> {
    const s = this.s;
    const reply: AckReply = {
      id: m.id,
      node: s.config.node,
      status: result.status,
      output: fitOutput(s, result.output),
    };
    if (result.error !== undefined) reply.error = result.error;
    if (result.exitCode !== undefined) reply.exitCode = result.exitCode;
    const followUp = followUpOf(s, m, reply, this.handlerFor(m));
    const unjournaled = this.pending.get(m.id)?.unjournaled === true;
    // Cancelled before its turn, never journaled (a CommandACK is journaled only when it starts): stored now, so a resend is not run.
    const stored =
      unjournaled && result.status === 'cancelled'
        ? s.journal.insertInboxCancelled(m, subject, reply)
        : s.journal.updateInbox(m.id, { state: result.status, result: reply, finishedAt: Date.now() }, followUp);
    const answered = kindIsCommand(m.commandOrEvent) && kindWantsAck(m.commandOrEvent);
    // An ACK that goes alone is signed while the result syncs to disk; it leaves only once the result is durable.
    const replyTo = this.pending.get(m.id)?.replyTo;
    const body = answered && replyTo !== undefined && !isFrameReplySubject(replyTo) ? this.presignedAck(reply) : undefined;
    await stored;
    if (followUp) followUpQueued(s, followUp);
    s.metrics.executions.inc({ method: m.method, status: result.status });
    if (result.status === 'cancelled') cancelledCounter(s.metrics).inc({ method: m.method, side: 'receiver' });
    s.events.emit('execution', { id: m.id, subject, message: m, state: 'replied', result: reply, time: Date.now() });
    const pending = this.pending.get(m.id);
    this.pending.delete(m.id);
    // Journaled with the result: the journal now says which reply the request took.
    if (pending?.answers !== undefined) this.replyClaims.delete(pending.answers);
    if (answered && pending?.replyTo) this.respond(pending.replyTo, reply, undefined, body);
    // A CommandACK failure travels back in the ACK and the sender reports it; report here only what no sender will.
    if (isFailureStatus(result.status) && m.commandOrEvent !== 'CommandACK') {
      s.errors.report({
        // Refusals are answered before an execution starts: what ends here ran (or was stopped).
        kind: FailureKind.MethodFailed,
        text: `${m.method} from ${m.fromNode} ${result.status}: ${result.error ?? ''}`.trim(),
        messageId: m.id,
        subject,
        peer: m.fromNode,
        localOnly: methodInfo(m.method)?.errorReport === true,
      });
    } else {
      // Hellos arrive from every node every few seconds: not worth an info line each.
      const level = methodInfo(m.method)?.liveness === true ? 'debug' : 'info';
      s.log.log(level, `${m.method} ${result.status}`, { id: m.id, subject, from: m.fromNode });
    }
  }

  /** The handler that runs `m`: the method's, run on a schedule when `m` has one. */
  private handlerFor(m: WireMessage): MethodHandler {
    return m.schedule ? scheduled(this.opts.handler) : this.opts.handler;
  }

  /** ACKs for frames, by reply subject, sent at the end of this turn (see flushAckFrames). */
  private ackFrames = new Map<string, string[]>();

  /**
   * Sends the ACKs gathered this turn for messages that came in frames: one
   * ACK frame per frame reply subject, signed once (more than one when they
   * would not fit the broker's max_payload together).
   */
  private flushAckFrames(): void {
    const batches = this.ackFrames;
    this.ackFrames = new Map();
    const limit = (this.nc?.info?.max_payload ?? 1024 * 1024) - 4096;
    for (const [replyTo, acks] of batches)
      for (const run of frameRuns(acks, (a) => a.length + 1, limit)) this.publishAckFrame(replyTo, run);
  }

  private publishAckFrame(replyTo: string, acks: string[]): void {
    try {
      const json = `{"node":${JSON.stringify(this.s.config.node)},"acks":[${acks.join(',')}]}`;
      const body = encodeFrame(ACK_FRAME_TAG, json, this.opts.security?.keys.privateKey);
      this.nc?.publish(replyTo, body);
    } catch (err) {
      this.s.log.warn(`could not send an ACK frame: ${(err as Error).message}`, { acks: acks.length });
    }
  }

  /**
   * The body of ACK `reply` (`wire` on the wire) as it goes alone on a reply
   * subject, signed when the node signs, or undefined when it is too big for
   * the broker (its output then goes in chunks first, see chunks.ts).
   */
  private ackBody(reply: AckReply, wire: WireAck): string | undefined {
    // Signed, so the sender can tell this node's answer from one any broker client made up.
    // A large output travels compressed (see payloadEncoding.ts); the signature covers that wire form.
    const body = JSON.stringify(this.opts.security ? this.opts.security.signAck(wire) : wire);
    return reply.output !== undefined && !isChunkRef(wire.output) && tooBigForBroker(body, this.nc?.info?.max_payload) ? undefined : body;
  }

  /** {@link ackBody} made ahead of its sending, or undefined (it is then made, and any failure told, when it is sent). */
  private presignedAck(reply: AckReply): string | undefined {
    try {
      return this.ackBody(reply, encodeAck(reply));
    } catch {
      return undefined;
    }
  }

  /**
   * Sends an ACK (signed when the node signs): alone, or, for a message that
   * came in a frame, in an ACK frame at the end of this turn. An output too
   * big for the broker even compressed goes in chunks first (see chunks.ts).
   * `body`: the ACK alone as {@link ackBody} made it already, for a reply subject not a frame's.
   */
  private respond(replyTo: string, reply: AckReply, wire: WireAck = encodeAck(reply), body?: string): void {
    if (isFrameReplySubject(replyTo)) {
      const json = JSON.stringify(wire);
      const maxPayload = this.nc?.info?.max_payload;
      if (reply.output !== undefined && !isChunkRef(wire.output) && tooBigForBroker(json, maxPayload)) {
        ackInChunks(this.s, reply, maxPayload).then(
          (chunked) => this.respond(replyTo, reply, chunked),
          (err: unknown) => this.s.log.warn(`could not send ACK: ${(err as Error).message}`, { id: reply.id }),
        );
        return;
      }
      const batch = this.ackFrames.get(replyTo);
      if (batch) batch.push(json);
      else {
        if (this.ackFrames.size === 0) setImmediate(() => this.flushAckFrames());
        this.ackFrames.set(replyTo, [json]);
      }
      return;
    }
    try {
      const alone = body ?? this.ackBody(reply, wire);
      // Too big even so: the output goes in journaled chunks first, and the ACK carries their reference (see chunks.ts).
      if (alone === undefined) {
        ackInChunks(this.s, reply, this.nc?.info?.max_payload).then(
          (chunked) => this.respond(replyTo, reply, chunked),
          (err: unknown) => this.s.log.warn(`could not send ACK: ${(err as Error).message}`, { id: reply.id }),
        );
        return;
      }
      this.nc?.publish(replyTo, alone);
    } catch (err) {
      this.s.log.warn(`could not send ACK: ${(err as Error).message}`, { id: reply.id });
    }
  }
}
