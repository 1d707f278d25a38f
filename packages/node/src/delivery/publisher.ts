/**
 * A publisher process: sends the messages of one subject, oldest first. It
 * reads its work from the journal (so a restarted publisher, or a restarted
 * node, resumes exactly where the journal says) and runs one delivery actor
 * per message in flight: up to `orderedWindow` on ordered subjects, up to
 * `noseqConcurrency` on NOSEQ subjects. It asks to be stopped when idle.
 *
 * Ordered subjects are pipelined: every send names the nearest earlier
 * message still unconfirmed (`follows`), and the receiver takes a message
 * only once it has that one, so a message lost on the way holds back the
 * ones behind it instead of letting them overtake. When the receiver stops
 * answering (no ACK in time, or nobody listening), the window closes to the
 * oldest message alone and the others are withdrawn (their sends not
 * counted), so an unreachable node uses up the retries of one message at a
 * time, as with stop-and-wait. The window starts at a few messages and
 * grows by one with every ACK, up to `orderedWindow`.
 *
 * Beyond its first message in flight, every send also needs a place in the
 * node-wide budget (`maxInFlight`, see inFlightBudget.ts), which the
 * publishers of a node share.
 */
import {
  deliveryMachine,
  encodeMessageFields,
  isFailureStatus,
  kindIsCommand,
  kindWantsAck,
  methodInfo,
  OutboxState,
  parseSubject,
  publishWith,
  SteppedActor,
  type DeliveryOutput,
  type OutboxPatch,
  type OutboxRecord,
  type WireMessage,
} from '@steward/core';
import type { AckInbox } from '../transport/ackInbox.js';
import { FrameWriter } from '../transport/frameWriter.js';
import { InFlightRecords } from './inFlightRecords.js';
import { messageInChunks, tooBigForBroker, wholeReply } from '../execution/chunks.js';
import { FailureKind } from '../node/errorKernel.js';
import { CommandOutputLog } from './commandOutputLog.js';
import { deadlineCounter, deadlinePassed, DeadlineTimer } from './deadline.js';
import { cancelledCounter, withdrawalsOf, type PublisherCancel, type Withdrawals } from './withdrawals.js';
import type { NodeSecurity } from '../security/nodeSecurity.js';
import type { NodeServices } from '../node/services.js';

/** @internal */
export interface PublisherOptions {
  services: NodeServices;
  acks: AckInbox;
  subject: string;
  /** Asks the parent supervisor to stop this publisher (it is idle). */
  requestStop: () => void;
  /** Reports a failure that should restart this process. */
  fail: (err: unknown) => void;
  /** Signs what is sent; absent = unsigned. */
  security?: NodeSecurity;
}

/** A message's delivery machine, stepped by its publisher (see SteppedActor). */
type DeliveryActor = SteppedActor<typeof deliveryMachine>;

/** A delivery in flight: its record as loaded and its actor. */
interface Active {
  rec: OutboxRecord;
  actor: DeliveryActor;
}

/** Messages in flight on an ordered subject before its first ACK (see `cwnd`). */
const initialWindow = 4;

/** How many open messages are read from the journal at a time. */
const loadWindow = 256;

/** @internal */
export class Publisher {
  private readonly s: NodeServices;
  private readonly ordered: boolean;
  private readonly wantsAck: boolean;
  private queue: OutboxRecord[] = [];
  private lastLoadedSeq = 0;
  /** Whether the journal may hold messages after `lastLoadedSeq` (false after a short read, true again on wake). */
  private mayHaveMore = true;
  /** Deliveries in flight, in send order. */
  private readonly active = new Map<string, Active>();
  private readonly windowSize: number;
  /**
   * Messages allowed in flight now, up to `windowSize`: it starts small and
   * grows by one with every ACK (so it doubles every round trip), and drops
   * to 1 when the receiver stops answering (see closeWindow).
   */
  private cwnd: number;
  /** Command output brought back in ACKs, appended to `<toNode>/<subject>.log` in message order. */
  private readonly outputLog: CommandOutputLog;
  private idleTimer?: NodeJS.Timeout;
  /** Wakes this publisher at the earliest deadline (ttl) of a message it holds. */
  private readonly deadlines = new DeadlineTimer(() => this.expireDue());
  private stopped = false;
  /** This node's cancels (steward cancel): checked before each send. */
  private readonly withdrawals: Withdrawals;
  private unregisterCancels?: () => void;
  /** Publishes this subject's sends, several ready in one turn as one frame (see frameWriter.ts). */
  private readonly writer: FrameWriter;
  /** Sends not journaled yet: written only if still unanswered a second later (see InFlightRecords). */
  private readonly inFlight = new InFlightRecords((id, patch) => this.record(id, patch));
  /** How this publisher waits for a place in the node-wide budget. */
  private readonly budgetWaiter = { pump: () => this.pump() };

  constructor(private readonly opts: PublisherOptions) {
    this.s = opts.services;
    this.withdrawals = withdrawalsOf(this.s);
    this.outputLog = new CommandOutputLog(this.s.config.dataFolder);
    const parsed = parseSubject(opts.subject);
    this.ordered = methodInfo(parsed?.method ?? '')?.ordered ?? true;
    this.wantsAck = parsed ? kindWantsAck(parsed.kind) : true;
    // Without ACKs nothing can be resent in order, so NACK ordered subjects stay stop-and-wait.
    this.windowSize = !this.ordered ? this.s.config.noseqConcurrency : this.wantsAck ? this.s.config.orderedWindow : 1;
    // A node restarting with thousands of subjects to resume sends a few of each first, not all at once.
    this.cwnd = this.ordered ? Math.min(initialWindow, this.windowSize) : this.windowSize;
    deadlineCounter(this.s.metrics);
    // A hello proves its key with its own signature; NACK kinds count as delivered once the broker has them: both go alone.
    const framed = this.s.config.frames && this.wantsAck && this.windowSize > 1 && methodInfo(parsed?.method ?? '')?.offersKey !== true;
    this.writer = new FrameWriter(
      opts.subject,
      opts.acks,
      opts.security,
      framed,
      this.s.config.node,
      parsed?.toNode ?? '',
      this.s.config.messageMaxAge * 1000,
    );
  }

  /** Loads the subject's unfinished messages and starts sending. */
  start(): void {
    this.unregisterCancels = this.withdrawals.register(this.opts.subject, this);
    this.wake();
  }

  /** New messages were journaled for this subject. */
  wake(): void {
    if (this.stopped) return;
    this.mayHaveMore = true;
    this.refill();
    this.pump();
  }

  /** Stops every delivery actor; their journal state stays for the next start. */
  stop(): void {
    this.stopped = true;
    this.unregisterCancels?.();
    clearTimeout(this.idleTimer);
    this.deadlines.stop();
    this.writer.clear();
    // Unjournaled sends stay `queued` in the journal: the next start sends them again, and the receiver deduplicates.
    this.inFlight.clear();
    this.s.inFlightBudget.forget(this.budgetWaiter);
    for (const [id, { actor }] of this.active) {
      this.untrack(id);
      actor.stop();
    }
  }

  /**
   * Delivery `id` is no longer in flight here (it ended, was withdrawn, or
   * the publisher stopped): forgotten everywhere it was noted, and its place
   * in the node's budget freed.
   */
  private untrack(id: string): void {
    this.active.delete(id);
    Publisher.byMessage.delete(id);
    this.opts.acks.unregister(id);
    this.inFlight.forget(id);
    this.s.inFlightBudget.release();
  }

  /** Journals a change of delivery `id`; a failure is reported, never thrown. */
  private record(id: string, patch: OutboxPatch): void {
    this.s.journal
      .updateOutbox(id, patch)
      .catch((err: unknown) =>
        this.s.errors.report({ kind: FailureKind.Journal, text: `journal update failed for ${id}`, messageId: id, error: err }),
      );
  }

  private refill(): void {
    if (this.queue.length > loadWindow / 2 || !this.mayHaveMore) return;
    const more = this.s.journal.openOutbox(this.opts.subject, this.lastLoadedSeq, loadWindow);
    if (more.length < loadWindow) this.mayHaveMore = false;
    for (const rec of more) {
      if (this.active.has(rec.id)) continue;
      this.queue.push(rec);
      this.deadlines.note(rec.message);
    }
    const last = more.at(-1);
    if (last) this.lastLoadedSeq = last.seq;
  }

  private pump(): void {
    const limit = this.cwnd;
    while (!this.stopped && this.active.size < limit) {
      if (this.queue.length === 0) this.refill();
      if (this.queue.length === 0) break;
      // The window allows one more; the node-wide budget must too (the first in flight always goes).
      if (!this.s.inFlightBudget.hasRoom(this.budgetWaiter, this.active.size === 0)) break;
      this.deliver(this.queue.shift()!);
    }
    clearTimeout(this.idleTimer);
    if (this.active.size === 0 && this.queue.length === 0) {
      this.idleTimer = setTimeout(() => this.stopIfIdle(), this.s.config.keepPublishersAliveFor * 1000);
    }
  }

  private stopIfIdle(): void {
    // Read the journal, not memory: a message committed since the last wake keeps us alive.
    if (this.stopped || this.active.size > 0) return;
    if (this.s.journal.countOpenOutbox(this.opts.subject) > 0) {
      // Nothing in flight or queued, yet the journal has open messages (one whose end could not be
      // recorded, say): read the subject again from its start.
      if (this.queue.length === 0) this.lastLoadedSeq = 0;
      this.wake();
      return;
    }
    this.opts.requestStop();
  }

  /** When the receiver last answered a message of this subject (ms since the epoch). */
  private lastAnswerAt = 0;

  /** The publisher of each message in flight, for the shared delivery logic's action and guard. */
  private static readonly byMessage = new Map<string, Publisher>();

  /**
   * The delivery machine with the `publish` action and the
   * `receiverAnsweringOthers` guard, built once for every publisher of the
   * process: providing a machine builds all its state nodes again, which cost
   * more than the rest of a publisher's start, once per subject (a fan-out to
   * 1000 nodes starts 1000 publishers). The action and the guard find the
   * publisher by the message id.
   */
  private static readonly logic = deliveryMachine.provide({
    actions: publishWith((input) => {
      const p = Publisher.byMessage.get(input.id);
      return p ? p.publish(input.id, input.attempt) : Promise.reject(new Error(`no publisher for delivery ${input.id}`));
    }),
    guards: {
      // Ordered and pipelined: an ACK timeout while the receiver answers the messages ahead is waited out, not resent.
      receiverAnsweringOthers: ({ context }) => Publisher.byMessage.get(context.id)?.receiverAnswering(context.ackTimeoutMs) ?? false,
    },
  });

  /**
   * Whether an ACK timeout of `ackTimeoutMs` is to be waited out: this subject
   * is ordered and pipelined, and its receiver answered another of its
   * messages within that time (see the delivery machine).
   */
  private receiverAnswering(ackTimeoutMs: number): boolean {
    return this.ordered && this.windowSize > 1 && Date.now() - this.lastAnswerAt < ackTimeoutMs;
  }

  /** One send of message `id` (its `attempt`-th). */
  private async publish(id: string, attempt: number): Promise<void> {
    const rec = this.active.get(id)?.rec;
    if (!rec) return; // withdrawn meanwhile
    const s = this.s;
    const m = rec.message;
    const nc = await s.broker.ready();
    // Cancelled while it waited for the broker: never published (see withdrawals.ts).
    if (this.withdrawals.cancelling.has(id)) {
      this.active.get(id)?.actor.send({ type: 'CANCEL', unsent: true });
      return;
    }
    // The broker may have been away long: a message whose deadline passed meanwhile is not sent late.
    if (deadlinePassed(m)) {
      this.active.get(id)?.actor.send({ type: 'DEADLINE', unsent: true });
      return;
    }
    if (attempt > 1) {
      s.metrics.retries.inc({ method: m.method });
      s.log.info(`resending (attempt ${attempt})`, { id, subject: rec.subject });
    }
    // Named at every try: the earlier message it follows may have been confirmed or given up since.
    const follows = this.ordered && this.windowSize > 1 ? this.predecessorOf(rec.seq) : undefined;
    // Large text fields travel compressed (see payloadEncoding.ts); small ones as they are.
    const sent = encodeMessageFields(follows ? { ...m, follows } : m);
    let wire = sent as WireMessage;
    // Too big even so: its data goes in journaled chunks first, and the message carries their reference (see chunks.ts).
    if (mayBeTooBig(wire, nc.info?.max_payload) && tooBigForBroker(JSON.stringify(wire), nc.info?.max_payload))
      wire = await messageInChunks(s, follows ? { ...m, follows } : m, nc.info?.max_payload);
    if (this.wantsAck) {
      // Signed and stamped at every try (see NodeSecurity.payload), alone or in a frame: its data may be the encoded form.
      this.writer.send(nc, id, wire);
      return;
    }
    const body = this.opts.security ? this.opts.security.payload(wire) : new TextEncoder().encode(JSON.stringify(wire));
    nc.publish(rec.subject, body);
    // NACK kinds count as delivered once the broker has them.
    await nc.flush();
  }

  private deliver(rec: OutboxRecord): void {
    const m = rec.message;
    const { id } = rec;
    const s = this.s;
    let lastState: string | undefined;
    const actor: DeliveryActor = new SteppedActor(
      Publisher.logic,
      {
        id: `message-${id}`,
        input: {
          id,
          wantsAck: this.wantsAck,
          ackTimeoutMs: m.timeout * 1000,
          retries: m.retries,
          retryWaitMs: (m.retryWait ?? 0) * 1000,
          errorBackoffMs: m.timeout * 1000,
          attempts: rec.attempts,
        },
      },
      {
        next: (snap) => {
          const state = topState(snap.value);
          if (state === lastState || snap.status !== 'active') return;
          lastState = state;
          if (state === 'retryWait') this.closeWindow();
          // Withdrawn by closeWindow(): not an attempt, and nothing to record.
          if (!this.active.has(id)) return;
          s.events.emit('delivery', {
            id,
            subject: rec.subject,
            message: m,
            state,
            attempts: snap.context.attempts,
            time: Date.now(),
            ...(snap.context.lastError !== undefined ? { lastError: snap.context.lastError } : {}),
          });
          // Its start in `queued` as loaded is what the journal says already: no write (one commit fewer per message).
          if (state === OutboxState.Queued && rec.state === OutboxState.Queued && snap.context.attempts === rec.attempts) return;
          const patch = { state: state as OutboxState, attempts: snap.context.attempts, snapshotOf: () => actor.getPersistedSnapshot() };
          // A send is journaled only when its ACK is slow (see inFlight); every other state at once.
          if (state === OutboxState.Sending || state === OutboxState.AwaitingAck) this.inFlight.note(id, patch);
          else {
            this.inFlight.forget(id);
            this.record(id, patch);
          }
        },
        complete: () => {
          const out = actor.getSnapshot().output;
          if (out) void this.finish(rec, out);
        },
        error: (err) => {
          // A delivery actor must never fail; if it does, the publisher restarts and resumes from the journal.
          this.opts.fail(err);
        },
      },
    );
    Publisher.byMessage.set(id, this);
    this.active.set(id, { rec, actor });
    s.inFlightBudget.add();
    this.opts.acks.register(id, m.toNode, (e) => {
      if (e.type === 'ACK') this.lastAnswerAt = Date.now();
      if (e.type === 'NO_RESPONDERS') {
        this.closeWindow();
        if (!this.active.has(id)) return; // withdrawn: it waits in the queue, not for this answer
      }
      actor.send(e.type === 'ACK' && e.reply.status === 'running' ? { type: 'RUNNING' } : e);
    });
    actor.start();
    // Cancelled (steward cancel) before its turn: ends cancelled without a send.
    if (this.withdrawals.cancelling.has(id)) actor.send({ type: 'CANCEL' });
    // Loaded after its deadline (a restart, a long queue): expired without a send.
    else if (deadlinePassed(m)) actor.send({ type: 'DEADLINE' });
    else {
      this.deadlines.note(m);
      actor.send({ type: 'SEND' });
    }
  }

  /**
   * A deadline passed: messages in flight are told (they stop resending),
   * and queued ones are expired now, each by its own delivery actor so it is
   * recorded, reported and counted like any other. Then the timer is set for
   * the next deadline.
   */
  private expireDue(): void {
    if (this.stopped) return;
    const now = Date.now();
    for (const { rec, actor } of this.active.values()) {
      if (deadlinePassed(rec.message, now)) actor.send({ type: 'DEADLINE' });
      else this.deadlines.note(rec.message);
    }
    const due = this.queue.filter((r) => deadlinePassed(r.message, now));
    if (due.length > 0) this.queue = this.queue.filter((r) => !due.includes(r));
    for (const rec of this.queue) this.deadlines.note(rec.message);
    for (const rec of due) this.deliver(rec);
  }

  /**
   * Cancels message `id` if this publisher holds it (see withdrawals.ts,
   * which marks it cancelling first). Queued: withdrawn now, recorded by its
   * own delivery actor like any other end. In flight: its delivery actor
   * decides (see the delivery machine's CANCEL).
   */
  cancelDelivery(id: string): PublisherCancel | undefined {
    const a = this.active.get(id);
    if (a) {
      a.actor.send({ type: 'CANCEL' });
      const snap = a.actor.getSnapshot();
      // Ended cancelled without ever being published: the receiver never had it.
      return snap.status === 'done' && snap.output?.attempts === 0 ? 'withdrawn' : 'sent';
    }
    const at = this.queue.findIndex((r) => r.id === id);
    if (at < 0) return undefined;
    const [rec] = this.queue.splice(at, 1);
    this.deliver(rec!);
    // Withdrawn from the window after a send (closeWindow): the receiver may have it.
    return rec!.attempts === 0 ? 'withdrawn' : 'sent';
  }

  /** The nearest earlier message of this subject still in flight (its id), if any. */
  private predecessorOf(seq: number): string | undefined {
    let found: OutboxRecord | undefined;
    for (const { rec } of this.active.values()) {
      if (rec.seq < seq && (!found || rec.seq > found.seq)) found = rec;
    }
    return found?.id;
  }

  /**
   * The receiver did not answer: keep only the oldest message in flight and
   * put the others back in the queue, their sends not counted, so one
   * message at a time probes the link (see the header comment).
   */
  private closeWindow(): void {
    if (!this.ordered || this.windowSize === 1) return;
    this.cwnd = 1;
    if (this.active.size <= 1) return;
    let oldest: Active | undefined;
    for (const a of this.active.values()) if (!oldest || a.rec.seq < oldest.rec.seq) oldest = a;
    const withdrawn: OutboxRecord[] = [];
    for (const [id, a] of this.active) {
      if (a === oldest) continue;
      this.untrack(id);
      a.actor.stop();
      withdrawn.push(a.rec);
      this.s.journal
        .updateOutbox(id, { state: OutboxState.Queued, attempts: a.rec.attempts, snapshotOf: undefined })
        .catch((err: unknown) =>
          this.s.errors.report({ kind: FailureKind.Journal, text: `journal update failed for ${id}`, messageId: id, error: err }),
        );
    }
    this.queue = [...withdrawn, ...this.queue].sort((a, b) => a.seq - b.seq);
  }

  /** A delivery ended: records it, reports its outcome, and sends the next message. */
  private async finish(rec: OutboxRecord, out: DeliveryOutput): Promise<void> {
    const s = this.s;
    const { id, message: m, subject } = rec;
    this.untrack(id);
    // An ACK opens the window again; giving up on a message means the receiver is not answering
    // (a deadline says nothing about the receiver).
    if (out.status === 'delivered') this.cwnd = Math.min(this.windowSize, this.cwnd + 1);
    else if (!out.deadlinePassed && out.status !== 'cancelled') this.closeWindow();
    try {
      // An output too big for the ACK comes in chunks: recorded and told once whole (see chunks.ts).
      if (out.reply?.outputChunks) {
        const reply = await wholeReply(s, rec, out.reply);
        if (!reply) return;
        out = { ...out, reply };
      }
      const patch = {
        state:
          out.status === 'delivered' ? OutboxState.Delivered : out.status === 'cancelled' ? OutboxState.Cancelled : OutboxState.Expired,
        attempts: out.attempts,
        finishedAt: Date.now(),
      };
      // An ACKed end is told before it is recorded (below), so nobody waits on its sync: it shares the
      // next one (journal.ts, `soon`). Given up or cancelled, it is told once durable.
      const recorded = s.journal.updateOutbox(
        id,
        {
          ...patch,
          ...(out.reply ? { reply: out.reply } : {}),
          ...(out.lastError !== undefined ? { lastError: out.lastError } : {}),
        },
        { soon: out.status === 'delivered' },
      );
      const event = () =>
        s.events.emit('delivery', {
          id,
          subject,
          message: m,
          state: out.status,
          attempts: out.attempts,
          time: Date.now(),
          ...(out.reply ? { reply: out.reply } : {}),
          ...(out.lastError !== undefined ? { lastError: out.lastError } : {}),
        });
      // An ACK is a fact the moment it arrives (whoever waits for the result gets it at once); giving
      // up is our own decision, told once it is recorded. Either way nothing else happens before the commit.
      if (out.status === 'delivered') {
        event();
        // Its place in the window is free at once: recording the end is not on the path of the next send
        // (a crash before the commit only makes the next start send it again, and the receiver deduplicates).
        if (!this.stopped) this.pump();
      }
      await recorded;
      this.withdrawals.cancelling.delete(id);
      if (out.status !== 'delivered') event();
      const audit = { event: out.status, id, subject, attempts: out.attempts } as const;
      s.audit.appendSoon([
        { ...audit, ...(out.reply ? { status: out.reply.status } : {}), ...(out.lastError ? { error: out.lastError } : {}) },
      ]);
      await this.report(rec, out);
    } catch (err) {
      s.errors.report({
        kind: FailureKind.Journal,
        text: `could not record the end of delivery ${id}`,
        messageId: id,
        subject,
        error: err,
      });
    } finally {
      if (!this.stopped) this.pump();
    }
  }

  /** Tells the outcome of a recorded delivery: metrics, log, command output, and failures to the error kernel. */
  private async report(rec: OutboxRecord, out: DeliveryOutput): Promise<void> {
    const s = this.s;
    const { id, message: m, subject } = rec;
    // A failure of an error report is only logged: reporting it would send another, which could fail the same way.
    const isErrorReport = methodInfo(m.method)?.errorReport === true;
    if (out.status === 'cancelled') {
      // Asked for by the operator: counted and logged, not a failure.
      cancelledCounter(s.metrics).inc({ method: m.method, side: 'sender' });
      s.log.info(
        `cancelled after ${out.attempts} attempt(s)${out.reply ? ` (${m.toNode} answered: ${out.reply.error ?? out.reply.status})` : ''}`,
        {
          id,
          subject,
        },
      );
      return;
    }
    if (out.status === 'expired') {
      s.metrics.expired.inc({ method: m.method });
      if (out.deadlinePassed) deadlineCounter(s.metrics).inc({ method: m.method, side: 'sender' });
      s.errors.report({
        kind: FailureKind.DeliveryExpired,
        text: `delivery to ${m.toNode} expired after ${out.attempts} attempt(s): ${out.lastError ?? 'no ACK'}`,
        messageId: id,
        subject,
        peer: m.toNode,
        localOnly: isErrorReport,
      });
    } else {
      s.metrics.delivered.inc({ method: m.method });
      s.log.info(`delivered after ${out.attempts} attempt(s)`, { id, subject, status: out.reply?.status });
      const reply = out.reply;
      if (reply && kindIsCommand(m.commandOrEvent)) {
        // Command kinds bring the output back in the ACK: store it beside the other replies.
        const output = reply.output;
        if (output) await this.outputLog.append(m.toNode, subject, output);
        s.log.info(`${m.method} on ${m.toNode} ${reply.status}${reply.exitCode !== undefined ? ` (exit code ${reply.exitCode})` : ''}`, {
          id,
          subject,
          output: reply.output && reply.output.length > 2000 ? reply.output.slice(0, 2000) + '…' : reply.output,
        });
      }
      if (reply && isFailureStatus(reply.status)) {
        s.errors.report({
          kind: reply.status === 'rejected' ? FailureKind.Rejected : FailureKind.MethodFailed,
          text: `${m.method} on ${m.toNode} ${reply.status}: ${reply.error ?? ''}`.trim(),
          messageId: id,
          subject,
          peer: m.toNode,
          localOnly: isErrorReport,
        });
      }
    }
  }
}

/**
 * Whether `m` may not fit the broker's max_payload, judged from the length
 * of its text (at most 3 bytes of UTF-8 per character, 64 KiB for the other
 * fields): only then is its JSON measured (see tooBigForBroker).
 */
function mayBeTooBig(m: WireMessage, maxPayload: number | undefined): boolean {
  const d = m.data as unknown;
  let chars = m.previousOutput?.length ?? 0;
  if (Array.isArray(d)) for (const x of d) chars += typeof x === 'string' ? x.length : 0;
  else chars += JSON.stringify(d).length;
  return chars * 3 + 64 * 1024 > (maxPayload ?? 1024 * 1024);
}

function topState(value: unknown): string {
  return typeof value === 'string' ? value : Object.keys(value as object)[0]!;
}
