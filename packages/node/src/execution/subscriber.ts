/**
 * A subscriber process: receives one method on this node, on
 * `<node>.<kind>.<method>` for every kind. Each received message becomes an
 * execution actor. Messages are executed in arrival order per subject (NOSEQ
 * methods concurrently); a message id already in the inbox is never run
 * again: a resend is answered with the stored result.
 */
import type { Msg, NatsConnection, Subscription } from '@nats-io/transport-node';
import { createActor, fromPromise } from 'xstate';
import {
  executionMachine,
  InboxState,
  isFailureStatus,
  kindIsCommand,
  kindWantsAck,
  methodInfo,
  parseSubject,
  parseWireMessage,
  ResultStatus,
  ValidationError,
  type AckReply,
  type ExecutionResult,
  type InboxRecord,
  type MethodOutcome,
  type OutboxSubmission,
  type WireMessage,
} from '@steward/core';
import { FailureKind } from '../node/errorKernel.js';
import { appendTargetOf } from '../methods/fileAppend.js';
import { methodHandlers, scheduled, type MethodHandler } from '../methods/index.js';
import { buildReply, replyEmitter } from './replyMessage.js';
import type { NodeSecurity, Refusal } from '../security/nodeSecurity.js';
import { replyVerdict } from '../security/replyGuard.js';
import type { NodeServices } from '../node/services.js';

/** @internal */
export interface SubscriberOptions {
  services: NodeServices;
  method: string;
  handler: MethodHandler;
  fail: (err: unknown) => void;
  /** Signature, trust and expiry checks; absent = none (tests of the bare runtime). */
  security?: NodeSecurity;
}

/** An execution in progress (or waiting its turn): where to send its ACK. */
interface Pending {
  replyTo?: string;
  /** A CommandACK not journaled yet: written when it starts running (see onMessage). */
  unjournaled?: boolean;
  /** For a reply: the id of this node's request it answers (see replyGuard.ts). */
  answers?: string;
  abort?: AbortController;
  /** Stops the execution actor. */
  stop?: () => void;
}

/** A message that arrived before the one it follows; taken when that one is. */
interface Held {
  msg: Msg;
  /** The id of the held message itself. */
  id: string;
}

/** An ordered message waiting its turn. */
interface LaneItem {
  m: WireMessage;
  subject: string;
  /** Progress stored before a crash (a resumed execution); such an item always runs alone. */
  progress: unknown;
}

/** At most this many queued messages run as one batch. */
const maxBatch = 512;

/** Messages held back waiting for their predecessor, at most (beyond it the oldest is dropped: its sender resends it). */
const maxHeld = 4096;
/** Refused message ids remembered, so a message that follows one is not held for it. */
const maxRefused = 1024;

/** Largest payload accepted on a subject, in bytes. */
export const maxPayloadBytes = 8 * 1024 * 1024;

function noop(): void {}

/** The interrupted appends among `records` that will be resumed (not reported interrupted), with their files. */
function resumedAppends(s: NodeServices, records: readonly InboxRecord[], methods: readonly string[]): { id: string; file: string }[] {
  const found: { id: string; file: string }[] = [];
  for (const rec of records) {
    const m = rec.message;
    if (rec.state !== InboxState.Running || rec.progress === undefined || m.schedule || !methods.includes(m.method)) continue;
    const handler = methodHandlers.get(m.method);
    // As recover() decides: a non-idempotent run is reported, not resumed.
    if (!handler || (!handler.idempotent && !m.rerunInterrupted)) continue;
    const file = appendTargetOf(handler, { services: s, message: m, subject: rec.subject });
    if (file !== undefined) found.push({ id: rec.id, file });
  }
  return found;
}

/**
 * At start-up, before any subscriber runs: every append that a crash cut
 * (`running`, with its recorded size) takes its file first, in journal
 * order, so no new append lands after the recorded size before the resumed
 * run cuts the file back to it. Only for `methods` this node subscribes to:
 * their subscribers claim the places when they resume them.
 */
export function reserveInterruptedAppends(s: NodeServices, methods: readonly string[]): void {
  for (const { id, file } of resumedAppends(s, s.journal.openInbox(), methods)) s.appendLocks.reserve(file, id);
}

/** @internal */
export class Subscriber {
  private readonly s: NodeServices;
  private readonly ordered: boolean;
  private sub?: Subscription;
  private nc?: NatsConnection;
  private readonly pending = new Map<string, Pending>();
  /**
   * Ordered messages waiting their turn, per subject (per subject and sender
   * for methods whose effects are the sender's own); a lane's key is in
   * `draining` while it runs.
   */
  private readonly lanes = new Map<string, LaneItem[]>();
  private readonly draining = new Set<string>();
  private running = 0;
  private readonly waiting: (() => void)[] = [];
  /** Held messages by the id they follow. Not journaled and not ACKed: the sender resends them if we stop. */
  private readonly held = new Map<string, Held>();
  /** For each held message id, the id it follows (its key in `held`). */
  private readonly heldFollows = new Map<string, string>();
  /** Replies being taken and not journaled yet: request id → reply id (see replyGuard.ts). */
  private readonly replyClaims = new Map<string, string>();
  /** Recently refused ids (answered `rejected`, never journaled), oldest first. */
  private readonly refused = new Set<string>();
  private stopped = false;

  constructor(private readonly opts: SubscriberOptions) {
    this.s = opts.services;
    this.ordered = methodInfo(opts.method)?.ordered ?? true;
  }

  /** The subject pattern this subscriber listens on. */
  get pattern(): string {
    return `${this.s.config.node}.*.${this.opts.method}`;
  }

  /** Resumes unfinished executions from the journal, then subscribes. */
  async start(): Promise<void> {
    await this.recover();
    const nc = await this.s.broker.ready();
    if (this.stopped) return;
    this.nc = nc;
    this.sub = nc.subscribe(this.pattern, {
      callback: (err, msg) => {
        if (err) {
          this.opts.fail(err);
          return;
        }
        this.onMessage(msg).catch((e: unknown) =>
          this.s.errors.report({
            kind: FailureKind.ActorCrashed,
            text: `subscriber ${this.pattern} failed on a message`,
            subject: msg.subject,
            error: e,
          }),
        );
      },
    });
    await nc.flush();
  }

  /** Unsubscribes and stops executions; their inbox state stays for recovery. */
  stop(): void {
    this.stopped = true;
    this.sub?.unsubscribe();
    this.held.clear();
    this.heldFollows.clear();
    for (const p of this.pending.values()) p.stop?.();
  }

  private async recover(): Promise<void> {
    const open = this.s.journal.openInbox();
    // A subscriber restarted by its supervisor: its cut appends go next on their files, before
    // those already waiting (a no-op at start-up, where reserveInterruptedAppends reserved them).
    // Reserved back to front, so they keep their journal order.
    for (const { id, file } of resumedAppends(this.s, open, [this.opts.method]).reverse()) this.s.appendLocks.reserve(file, id, true);
    for (const rec of open) {
      if (rec.message.method !== this.opts.method) continue;
      this.pending.set(rec.id, {});
      if (rec.state === InboxState.Running && !this.handlerFor(rec.message).idempotent && !rec.message.rerunInterrupted) {
        await this.interrupted(rec);
        continue;
      }
      this.s.log.info(rec.state === InboxState.Running ? 'resuming interrupted execution' : 'resuming received message', {
        id: rec.id,
        subject: rec.subject,
      });
      this.enqueue(rec.message, rec.subject, rec.progress);
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
    const followUp = this.followUp(m, result);
    await this.s.journal.updateInbox(m.id, { state: InboxState.Interrupted, result, finishedAt: Date.now() }, followUp);
    this.pending.delete(m.id);
    if (followUp) this.queued(followUp);
    this.s.events.emit('execution', { id: m.id, subject: rec.subject, message: m, state: 'interrupted', result, time: Date.now() });
    this.s.errors.report({
      kind: FailureKind.Interrupted,
      text: `${m.method} from ${m.fromNode} interrupted by a node restart`,
      messageId: m.id,
      subject: rec.subject,
      peer: m.fromNode,
    });
  }

  private async onMessage(msg: Msg): Promise<void> {
    const parsed = parseSubject(msg.subject);
    if (!parsed) return;
    const kind = parsed.kind;
    let m: WireMessage;
    let rawId = '';
    let rawObj: Record<string, unknown> = {};
    try {
      const limit = this.s.config.maxPayloadBytes ?? maxPayloadBytes;
      if (msg.data.length > limit) throw new ValidationError([{ field: '(payload)', reason: `larger than ${limit} bytes` }]);
      const raw = JSON.parse(new TextDecoder().decode(msg.data)) as unknown;
      if (typeof raw === 'object' && raw !== null && !Array.isArray(raw)) rawObj = raw as Record<string, unknown>;
      // Keep the id, if there is one, so the sender can match the refusal to its message.
      const maybeId = typeof raw === 'object' && raw !== null ? (raw as { id?: unknown }).id : undefined;
      if (typeof maybeId === 'string' && /^[A-Za-z0-9_-]{1,128}$/.test(maybeId)) rawId = maybeId;
      m = parseWireMessage(raw);
      const problems = [];
      if (m.toNode !== this.s.config.node)
        problems.push({ field: 'toNode', reason: `is "${m.toNode}" but arrived at node "${this.s.config.node}"` });
      if (m.method !== parsed.method) problems.push({ field: 'method', reason: `is "${m.method}" but arrived on subject ${msg.subject}` });
      if (m.commandOrEvent !== kind)
        problems.push({ field: 'commandOrEvent', reason: `is "${m.commandOrEvent}" but arrived on subject ${msg.subject}` });
      if (problems.length) throw new ValidationError(problems);
    } catch (err) {
      const text = err instanceof SyntaxError ? `not JSON: ${err.message}` : (err as Error).message;
      this.s.errors.report({ kind: FailureKind.BadInput, text: `refused a message on ${msg.subject}: ${text}`, subject: msg.subject });
      if (msg.reply) this.respond(msg.reply, { id: rawId, node: this.s.config.node, status: ResultStatus.Rejected, error: text });
      if (rawId) this.settledWithoutJournal(rawId);
      return;
    }

    // A reply is taken only as the answer to a request of ours, and runs as that request says (see replyGuard.ts).
    const verdict = replyVerdict(this.s.journal, m, (requestId) => this.replyClaims.get(requestId));
    // Verified before dedup and before anything is journaled: a refused message leaves no trace but the report.
    let refusal: Refusal | undefined = this.opts.security?.check(rawObj, m, verdict.kind === 'reply');
    if (!refusal && verdict.kind === 'refused') {
      refusal = { code: 'unsolicited', reason: verdict.reason };
      this.opts.security?.countRefusal(refusal.code);
    }
    let answers: string | undefined;
    if (verdict.kind === 'reply') {
      m = verdict.message;
      answers = verdict.request.id;
    }
    if (refusal) {
      this.s.metrics.refused.inc({ code: refusal.code });
      this.s.errors.report({
        kind: FailureKind.Rejected,
        text: `refused ${m.method} from ${m.fromNode} on ${msg.subject}: ${refusal.code}: ${refusal.reason}`,
        messageId: m.id,
        subject: msg.subject,
        peer: m.fromNode,
        localOnly: m.method === 'ErrorLog' || m.method === 'REQErrorLog',
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
    const stored = this.s.journal.getInbox(m.id);
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

    // Pipelined ordered delivery: the message it follows must be here first.
    if (m.follows && msg.reply && kindWantsAck(kind) && !this.hasSeen(m.follows)) {
      this.hold(m, msg);
      return;
    }

    if (this.heldFollows.size > 0) this.unhold(m.id);
    const pending: Pending = msg.reply ? { replyTo: msg.reply } : {};
    if (answers !== undefined) {
      pending.answers = answers;
      this.replyClaims.set(answers, m.id);
    }
    this.pending.set(m.id, pending);
    if (kind === 'CommandACK' && msg.reply) {
      // Its ACK comes only after it ran, and the sender resends until then: the receipt needs no
      // commit of its own. It is journaled, already running, just before its first effect.
      pending.unjournaled = true;
      this.enqueue(m, msg.subject, undefined);
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
    this.enqueue(m, msg.subject, undefined);
    this.releaseFollowerOf(m.id);
  }

  /** Whether message `id` was received (queued, running, finished or refused). */
  private hasSeen(id: string): boolean {
    return this.pending.has(id) || this.refused.has(id) || this.s.journal.getInbox(id) !== undefined;
  }

  /** Keeps `m` until the message it follows arrives; unACKed, so the sender resends it if that never happens. */
  private hold(m: WireMessage, msg: Msg): void {
    const follows = m.follows!;
    // A resend may name another predecessor (the one named before was given up): keep only the newest copy.
    this.unhold(m.id);
    const displaced = this.held.get(follows);
    if (displaced) this.heldFollows.delete(displaced.id);
    else if (this.held.size >= maxHeld) {
      // The oldest is most likely waiting for a message its sender gave up on; the sender resends it anyway.
      const [oldestKey, oldest] = this.held.entries().next().value!;
      this.held.delete(oldestKey);
      this.heldFollows.delete(oldest.id);
    }
    this.held.set(follows, { msg, id: m.id });
    this.heldFollows.set(m.id, follows);
    this.s.log.info(`arrived before ${follows}, which it follows: held until that one arrives`, { id: m.id, subject: msg.subject });
  }

  /** Forgets a held copy of message `id`, if there is one. */
  private unhold(id: string): void {
    const key = this.heldFollows.get(id);
    if (key === undefined) return;
    this.heldFollows.delete(id);
    if (this.held.get(key)?.id === id) this.held.delete(key);
  }

  /** `id` was taken: the message held for it, if any, is processed now (and so on down the chain). */
  private releaseFollowerOf(id: string): void {
    const next = this.held.get(id);
    if (!next) return;
    this.held.delete(id);
    this.heldFollows.delete(next.id);
    this.onMessage(next.msg).catch((e: unknown) =>
      this.s.errors.report({
        kind: FailureKind.ActorCrashed,
        text: `subscriber ${this.pattern} failed on a message`,
        subject: next.msg.subject,
        error: e,
      }),
    );
  }

  /** A message answered `rejected` (never journaled): remember it, and take what follows it. */
  private settledWithoutJournal(id: string): void {
    this.refused.add(id);
    if (this.refused.size > maxRefused) this.refused.delete(this.refused.values().next().value!);
    this.releaseFollowerOf(id);
  }

  private receivedAck(id: string, duplicate: boolean): AckReply {
    return { id, node: this.s.config.node, status: ResultStatus.Received, ...(duplicate ? { duplicate } : {}) };
  }

  private enqueue(m: WireMessage, subject: string, progress: unknown): void {
    if (this.ordered) {
      const key = this.handlerFor(m).perSender ? `${subject} ${m.fromNode}` : subject;
      let lane = this.lanes.get(key);
      if (!lane) this.lanes.set(key, (lane = []));
      lane.push({ m, subject, progress });
      if (!this.draining.has(key)) void this.drain(key, lane);
    } else {
      const item = { m, subject, progress };
      void this.withSlot(() => this.holdingFile([item], () => this.execute(m, subject, progress)));
    }
  }

  /** Runs a lane's ordered messages one after another (a row of appends to one file as one batch). Never rejects. */
  private async drain(key: string, lane: LaneItem[]): Promise<void> {
    this.draining.add(key);
    try {
      while (lane.length > 0 && !this.stopped) {
        const group = this.takeBatch(lane);
        const head = group[0]!;
        // A batch appends to one file: its head's.
        await this.holdingFile(group, () =>
          group.length === 1 ? this.execute(head.m, head.subject, head.progress) : this.executeBatch(group),
        );
      }
    } finally {
      this.draining.delete(key);
      if (lane.length === 0 && this.lanes.get(key) === lane) this.lanes.delete(key);
    }
  }

  /**
   * Runs `fn` (the executions of `items`, until they have replied) holding
   * the file the first item appends to, if any: appends to one file from
   * other subjects and methods wait (see MethodHandler.appendsTo). The file
   * is given up once their writes have ended too: an execution stopped by
   * methodTimeout or by the subscriber stopping replies at once, while its
   * write may still be under way.
   */
  private async holdingFile(items: readonly LaneItem[], fn: () => Promise<void>): Promise<void> {
    const head = items[0]!;
    const locks = this.s.appendLocks;
    // An interrupted append reserved its file at start-up (see reserveInterruptedAppends).
    const reserved = head.progress !== undefined ? locks.claim(head.m.id) : undefined;
    const file = reserved
      ? undefined
      : appendTargetOf(this.handlerFor(head.m), { services: this.s, message: head.m, subject: head.subject });
    if (!reserved && file === undefined) return fn();
    const release = await (reserved ?? locks.acquire(file!));
    try {
      await fn();
      for (const { m } of items) await this.writing.get(m.id);
    } finally {
      for (const { m } of items) this.writing.delete(m.id);
      release();
    }
  }

  /** The head of `lane`, with the messages after it that may run in one batch with it. */
  private takeBatch(lane: LaneItem[]): LaneItem[] {
    const head = lane.shift()!;
    const key = this.batchKeyOf(head);
    if (key === undefined) return [head];
    let n = 0;
    while (n < lane.length && n + 1 < maxBatch && this.batchKeyOf(lane[n]!) === key) n++;
    return [head, ...lane.splice(0, n)];
  }

  private batchKeyOf(item: LaneItem): string | undefined {
    const handler = this.handlerFor(item.m);
    if (!handler.batch || item.progress !== undefined || item.m.schedule) return undefined;
    try {
      return handler.batch.key({ services: this.s, message: item.m, subject: item.subject });
    } catch {
      return undefined;
    }
  }

  /**
   * Runs a row of messages as one batch: every `running` mark (with its own
   * progress, so each can be re-run alone after a crash) in one commit, one
   * run, then each message's result, replied as usual by its own execution actor.
   */
  private async executeBatch(items: LaneItem[]): Promise<void> {
    const s = this.s;
    const batch = this.handlerFor(items[0]!.m).batch!;
    const ctxs = items.map(({ m, subject }) => ({ services: s, message: m, subject }));
    let progress: unknown[];
    try {
      progress = await batch.prepare(ctxs);
    } catch {
      // Each one alone then, each failing (or not) with its own error.
      for (const { m, subject } of items) await this.execute(m, subject, undefined);
      return;
    }
    const startedAt = Date.now();
    const marked = Promise.all(
      items.map(({ m }, i) => s.journal.updateInbox(m.id, { state: InboxState.Running, startedAt, progress: progress[i] })),
    );
    const outcomes = marked.then(() => batch.run(ctxs.map((ctx, i) => ({ ctx, progress: progress[i] }))));
    // Each execution below reports a failure; the file stays taken until the write ends (see holdingFile).
    const settled = outcomes.then(noop, noop);
    if (this.handlerFor(items[0]!.m).appendsTo) this.writing.set(items[0]!.m.id, settled);
    await Promise.all(
      items.map(({ m, subject }, i) =>
        this.execute(
          m,
          subject,
          undefined,
          outcomes.then((o) => o[i]!),
        ),
      ),
    );
  }

  private async withSlot(fn: () => Promise<void>): Promise<void> {
    if (this.running >= this.s.config.noseqConcurrency) await new Promise<void>((r) => this.waiting.push(r));
    this.running++;
    try {
      await fn();
    } finally {
      this.running--;
      this.waiting.shift()?.();
    }
  }

  /** Writes of appends under way, by message id (see holdingFile); settle, never reject. */
  private readonly writing = new Map<string, Promise<void>>();

  /** Executions under way, by message id: what the shared `method` and `reply` actors work on. */
  private readonly runs = new Map<
    string,
    { m: WireMessage; subject: string; storedProgress: unknown; partial: string; outcome?: Promise<MethodOutcome> }
  >();

  /** The execution machine with this subscriber's actors; built once, shared by every execution. */
  private readonly logic = executionMachine.provide({
    actors: {
      method: fromPromise<MethodOutcome, { id: string }>(({ input, signal }) => this.runMethod(input.id, signal)),
      reply: fromPromise<void, ExecutionResult>(async ({ input }) => {
        const run = this.runs.get(input.id);
        // Stopped by methodTimeout: what the method reported before the kill.
        const stopped = input.status === 'timedOut' && input.output === '' && run?.partial;
        if (run) await this.finish(run.m, run.subject, stopped ? { ...input, output: run.partial } : input);
      }),
    },
  });

  /** Marks the execution of `id` running (durably) and runs its method. */
  private async runMethod(id: string, signal: AbortSignal): Promise<MethodOutcome> {
    const run = this.runs.get(id);
    if (!run) throw new Error(`no execution ${id} under way`);
    // Part of a batch: marked running and run by executeBatch().
    if (run.outcome) return run.outcome;
    const { m, subject, storedProgress } = run;
    const s = this.s;
    const handler = this.handlerFor(m);
    const base = { services: s, message: m, subject };
    const progress = storedProgress ?? (handler.prepare ? await handler.prepare(base) : undefined);
    const pending = this.pending.get(id);
    // "running" is durable before the method's first effect, so a crash is seen as an interruption.
    if (pending?.unjournaled) {
      await s.journal.insertInboxRunning(m, subject, progress, pending.answers);
      delete pending.unjournaled;
    } else if (!handler.idempotent || progress !== undefined) {
      await s.journal.updateInbox(m.id, {
        state: InboxState.Running,
        startedAt: Date.now(),
        ...(progress !== undefined ? { progress } : {}),
      });
    }
    // (An idempotent method without progress stays "received" until it ends: run again after a crash, same result.)
    const onOutput = (chunk: string): void => {
      run.partial += chunk;
    };
    const running = handler.run({ ...base, signal, progress, resumed: storedProgress !== undefined, emit: replyEmitter(s, m), onOutput });
    // Its file stays taken until the write ends, even if the execution is stopped first (see holdingFile).
    if (handler.appendsTo) this.writing.set(id, running.then(noop, noop));
    return running;
  }

  /** Runs one message through its execution actor; resolves when it has replied. Never rejects. */
  private execute(m: WireMessage, subject: string, storedProgress: unknown, outcome?: Promise<MethodOutcome>): Promise<void> {
    if (this.stopped) return Promise.resolve();
    const s = this.s;
    const handler = this.handlerFor(m);
    const pending = this.pending.get(m.id) ?? {};
    this.pending.set(m.id, pending);
    this.runs.set(m.id, { m, subject, storedProgress, partial: '', ...(outcome ? { outcome } : {}) });
    const logic = this.logic;
    return new Promise<void>((resolve) => {
      const actor = createActor(logic, {
        id: `execution-${m.id}`,
        input: {
          id: m.id,
          methodTimeoutMs: handler.timeLimitMs ? handler.timeLimitMs(m) : m.methodTimeout < 0 ? -1 : m.methodTimeout * 1000,
        },
      });
      const done = (): void => {
        this.runs.delete(m.id);
        resolve();
      };
      pending.stop = () => {
        actor.stop();
        done();
      };
      let last: string | undefined;
      actor.subscribe({
        next: (snap) => {
          const state = typeof snap.value === 'string' ? snap.value : Object.keys(snap.value)[0]!;
          // 'replied' is emitted by finish(), with the result.
          if (state !== last && state !== 'replied') {
            last = state;
            s.events.emit('execution', { id: m.id, subject, message: m, state, time: Date.now() });
          }
        },
        complete: done,
        error: (err) => {
          s.errors.report({
            kind: FailureKind.ActorCrashed,
            text: `execution actor of ${m.id} failed`,
            messageId: m.id,
            subject,
            error: err,
          });
          this.pending.delete(m.id);
          done();
        },
      });
      actor.start();
    });
  }

  private async finish(m: WireMessage, subject: string, result: ExecutionResult): Promise<void> {
    const s = this.s;
    const reply: AckReply = { id: m.id, node: s.config.node, status: result.status, output: this.fitOutput(result.output) };
    if (result.error !== undefined) reply.error = result.error;
    if (result.exitCode !== undefined) reply.exitCode = result.exitCode;
    const followUp = this.followUp(m, reply);
    await s.journal.updateInbox(m.id, { state: result.status, result: reply, finishedAt: Date.now() }, followUp);
    if (followUp) this.queued(followUp);
    s.metrics.executions.inc({ method: m.method, status: result.status });
    s.events.emit('execution', { id: m.id, subject, message: m, state: 'replied', result: reply, time: Date.now() });
    const pending = this.pending.get(m.id);
    this.pending.delete(m.id);
    // Journaled with the result: the journal now says which reply the request took.
    if (pending?.answers !== undefined) this.replyClaims.delete(pending.answers);
    if (kindIsCommand(m.commandOrEvent) && kindWantsAck(m.commandOrEvent) && pending?.replyTo) this.respond(pending.replyTo, reply);
    // A CommandACK failure travels back in the ACK and the sender reports it; report here only what no sender will.
    if (isFailureStatus(result.status) && m.commandOrEvent !== 'CommandACK') {
      s.errors.report({
        kind: result.status === 'rejected' ? FailureKind.Rejected : FailureKind.MethodFailed,
        text: `${m.method} from ${m.fromNode} ${result.status}: ${result.error ?? ''}`.trim(),
        messageId: m.id,
        subject,
        peer: m.fromNode,
        localOnly: m.method === 'ErrorLog' || m.method === 'REQErrorLog',
      });
    } else {
      // Hellos arrive from every node every few seconds: not worth an info line each.
      const level = m.method === 'SayHello' || m.method === 'REQHello' ? 'debug' : 'info';
      s.log.log(level, `${m.method} ${result.status}`, { id: m.id, subject, from: m.fromNode });
    }
  }

  /** A reply message was journaled: audit it and wake its publisher. */
  private queued(followUp: OutboxSubmission): void {
    this.s.audit.append([{ event: 'accepted', message: followUp.message, subject: followUp.subject, source: 'reply' }]);
    this.s.metrics.accepted.inc({ method: followUp.message.method });
    this.s.onNewMessages([followUp.subject]);
  }

  /** The handler that runs `m`: the method's, run on a schedule when `m` has one. */
  private handlerFor(m: WireMessage): MethodHandler {
    return m.schedule ? scheduled(this.opts.handler) : this.opts.handler;
  }

  /**
   * The reply message an Event request answers with (CLICommandRequest →
   * CLICommandReply, REQCliCommand → its replyMethod), if any; see replyMessage.ts.
   */
  private followUp(m: WireMessage, reply: AckReply): OutboxSubmission | undefined {
    // Streams and copies send their replies themselves; only their failures are answered here.
    if (!isFailureStatus(reply.status) && this.handlerFor(m).replyOnSuccess === false) return undefined;
    let text = reply.output ?? '';
    if (isFailureStatus(reply.status))
      text += `${text && !text.endsWith('\n') ? '\n' : ''}steward: ${m.method} ${reply.status}: ${reply.error ?? ''}\n`;
    return buildReply(this.s, m, text, `reply:${m.id}`);
  }

  /**
   * Cuts output that would not fit in one broker message (nats-server's
   * max_payload, 1 MiB by default), keeping its end, so the ACK or reply is
   * never refused by the broker and the sender always gets an answer.
   */
  private fitOutput(output: string): string {
    const maxPayload = this.nc?.info?.max_payload ?? 1024 * 1024;
    const limit = Math.max(1024, maxPayload - 64 * 1024);
    const bytes = Buffer.byteLength(output);
    if (bytes <= limit) return output;
    const tail = Buffer.from(output)
      .subarray(bytes - limit)
      .toString('utf8');
    return `[steward: output was ${bytes} bytes; only its last ${limit} bytes are kept, to fit the broker's max_payload of ${maxPayload}]\n${tail}`;
  }

  private respond(replyTo: string, reply: AckReply): void {
    try {
      // Signed, so the sender can tell this node's answer from one any broker client made up.
      const body = this.opts.security ? this.opts.security.signAck(reply) : reply;
      this.nc?.publish(replyTo, JSON.stringify(body));
    } catch (err) {
      this.s.log.warn(`could not send ACK: ${(err as Error).message}`, { id: reply.id });
    }
  }
}
