/**
 * Runs received messages through their execution actors (the execution
 * machine of @steward/core): marks each `running` in the journal before its
 * method's first effect, runs the method, and hands the result to the
 * subscriber's `finish` (the machine's `reply` actor). A row of batched
 * messages is marked in one commit and run once.
 */
import {
  executionMachine,
  executionWith,
  InboxState,
  SteppedActor,
  type ExecutionResult,
  type MethodOutcome,
  type WireMessage,
} from '@steward/core';
import type { MethodHandler } from '../methods/index.js';
import { FailureKind } from '../node/errorKernel.js';
import type { NodeServices } from '../node/services.js';
import type { AppendHolds } from './appendHolds.js';
import type { LaneItem } from './lanes.js';
import { replyEmitter } from './replyMessage.js';

/** An execution in progress (or waiting its turn): where to send its ACK. */
export interface Pending {
  replyTo?: string;
  /** A CommandACK not journaled yet: written when it starts running (see Subscriber.onMessage). */
  unjournaled?: boolean;
  /** For a reply: the id of this node's request it answers (see replyGuard.ts). */
  answers?: string;
  abort?: AbortController;
  /** Stops the execution actor. */
  stop?: () => void;
  /** The node that sent it: the only one that may cancel it (see methods/cancel.ts). */
  fromNode?: string;
  /** Cancels it while it runs (steward cancel); set once its execution actor exists. */
  cancel?: (reason: string) => void;
  /** Why it is cancelled, when it was cancelled before its turn: it then never runs. */
  cancelReason?: string;
}

/** Options of {@link ExecutionRunner}. @internal */
export interface ExecutionRunnerOptions {
  services: NodeServices;
  /** The handler that runs a message. */
  handlerFor: (m: WireMessage) => MethodHandler;
  /** The subscriber's executions in progress or waiting, by message id (shared). */
  pending: Map<string, Pending>;
  /** The files appends hold. */
  appends: AppendHolds;
  /** Whether the subscriber has stopped: nothing new starts then. */
  stopped: () => boolean;
  /** Journals the result of an execution and answers it (the machine's `reply` actor). */
  finish: (m: WireMessage, subject: string, result: ExecutionResult) => Promise<void>;
}

function noop(): void {}

/** @internal */
export class ExecutionRunner {
  private readonly s: NodeServices;

  /** Executions under way, by message id: what the shared `method` and `reply` actors work on. */
  private readonly runs = new Map<
    string,
    { m: WireMessage; subject: string; storedProgress: unknown; partial: string; outcome?: Promise<MethodOutcome> }
  >();

  constructor(private readonly opts: ExecutionRunnerOptions) {
    this.s = opts.services;
  }

  /** The execution machine's actions for this subscriber (see executionWith). */
  private readonly actions = executionWith({
    method: (id, signal) => this.runMethod(id, signal),
    // Part of a batch: marked running and run by executeBatch().
    outcomeOf: (id) => this.runs.get(id)?.outcome,
    reply: async (input) => {
      const run = this.runs.get(input.id);
      // Stopped by methodTimeout or a cancel: what the method reported before the kill.
      const stopped = (input.status === 'timedOut' || input.status === 'cancelled') && input.output === '' && run?.partial;
      if (run) await this.opts.finish(run.m, run.subject, stopped ? { ...input, output: run.partial } : input);
    },
  });

  /** The execution machine with this subscriber's actions; built once, shared by every execution. */
  private readonly logic = executionMachine.provide({ actions: this.actions });

  /** Runs a group of items taken from a lane: one alone, or a row as one batch. Never rejects. */
  run(group: LaneItem[]): Promise<void> {
    const head = group[0]!;
    return group.length === 1 ? this.execute(head.m, head.subject, head.progress) : this.executeBatch(group);
  }

  /** Marks the execution of `id` running (durably) and runs its method. */
  private async runMethod(id: string, signal: AbortSignal): Promise<MethodOutcome> {
    const run = this.runs.get(id);
    if (!run) throw new Error(`no execution ${id} under way`);
    const { m, subject, storedProgress } = run;
    const s = this.s;
    const handler = this.opts.handlerFor(m);
    const base = { services: s, message: m, subject };
    const progress = storedProgress ?? (handler.prepare ? await handler.prepare(base) : undefined);
    const pending = this.opts.pending.get(id);
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
    // Stopped while its mark was written (its subscriber stopped or restarted): no effect now. The journal says
    // running, so a restart reports it interrupted instead of running it.
    if (signal.aborted) throw new Error('stopped before it ran');
    const onOutput = (chunk: string): void => {
      run.partial += chunk;
    };
    const running = handler.run({ ...base, signal, progress, resumed: storedProgress !== undefined, emit: replyEmitter(s, m), onOutput });
    // Its file stays taken until the write ends, even if the execution is stopped first (see AppendHolds.holding).
    if (handler.appendsTo) this.opts.appends.writes(id, running.then(noop, noop));
    return running;
  }

  /**
   * Runs a row of messages as one batch: every `running` mark (with its own
   * progress, so each can be re-run alone after a crash) in one commit, one
   * run, then each message's result, replied as usual by its own execution actor.
   */
  private async executeBatch(items: LaneItem[]): Promise<void> {
    const s = this.s;
    const batch = this.opts.handlerFor(items[0]!.m).batch!;
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
    // Each execution below reports a failure; the file stays taken until the write ends (see AppendHolds.holding).
    const settled = outcomes.then(noop, noop);
    if (this.opts.handlerFor(items[0]!.m).appendsTo) this.opts.appends.writes(items[0]!.m.id, settled);
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

  /** Runs one message through its execution actor; resolves when it has replied. Never rejects. */
  private execute(m: WireMessage, subject: string, storedProgress: unknown, outcome?: Promise<MethodOutcome>): Promise<void> {
    if (this.opts.stopped()) return Promise.resolve();
    const s = this.s;
    const handler = this.opts.handlerFor(m);
    const pending = this.opts.pending.get(m.id) ?? {};
    this.opts.pending.set(m.id, pending);
    this.runs.set(m.id, { m, subject, storedProgress, partial: '', ...(outcome ? { outcome } : {}) });
    const logic = this.logic;
    return new Promise<void>((resolve) => {
      const done = (): void => {
        this.runs.delete(m.id);
        resolve();
      };
      let last: string | undefined;
      const actor = new SteppedActor(
        logic,
        {
          id: `execution-${m.id}`,
          input: {
            id: m.id,
            methodTimeoutMs: handler.timeLimitMs ? handler.timeLimitMs(m) : m.methodTimeout < 0 ? -1 : m.methodTimeout * 1000,
            ...(pending.cancelReason !== undefined ? { cancelReason: pending.cancelReason } : {}),
          },
        },
        {
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
            this.opts.pending.delete(m.id);
            done();
          },
        },
      );
      pending.stop = () => {
        // Stopping an actor runs no exit action: the method still under way is stopped here (its process tree killed).
        this.actions.stopMethod({ self: actor });
        actor.stop();
        done();
      };
      pending.cancel = (reason) => actor.send({ type: 'CANCEL', reason });
      // The machine passes through `received` before its first snapshot; told only when someone listens (steward watch).
      if (s.events.listenerCount('received') > 0)
        s.events.emit('received', { id: m.id, subject, message: m, state: 'received', time: Date.now() });
      actor.start();
    });
  }
}
