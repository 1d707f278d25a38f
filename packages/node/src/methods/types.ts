/**
 * What a method handler is: the code that runs a received message. One file
 * per method, one row per method in `methods/index.ts`.
 */
import type { MethodOutcome, WireMessage } from '@steward/core';
import type { NodeServices } from '../node/services.js';

/** What a handler is given. */
export interface MethodContext {
  services: NodeServices;
  message: WireMessage;
  subject: string;
  /** Aborted on methodTimeout or node shutdown: stop, and kill what you started. */
  signal: AbortSignal;
  /** What {@link MethodHandler.prepare} returned, stored durably before the run. */
  progress: unknown;
  /**
   * True when this run resumes an execution that a crash interrupted (its
   * progress was read back from the journal): an idempotent method first
   * undoes what the cut run may have done. @defaultValue false
   */
  resumed?: boolean;
  /**
   * Sends `text` back at once as a reply message of its own (streaming
   * methods: one per line). Resolves once the reply is journaled; replies
   * leave in the order they were emitted. Does nothing when the message
   * asks for no reply.
   */
  emit: (text: string) => Promise<void>;
  /**
   * Reports output as the method produces it. When methodTimeout stops the
   * run, the reply carries what was reported (what `run` returns is used
   * otherwise). @defaultValue not called: a stopped run answers with empty output
   */
  onOutput?: (chunk: string) => void;
}

/** What {@link MethodHandler.prepare} is given. */
export type PrepareContext = Omit<MethodContext, 'signal' | 'progress' | 'emit' | 'onOutput'>;

/**
 * How a method runs several consecutive messages of one ordered subject at
 * once (appends to one file): one durable `running` commit, one run and one
 * result commit for all of them, instead of one each.
 */
export interface BatchRunner {
  /** Messages with equal keys may share a batch (the same target file); undefined: never batched. */
  key(ctx: PrepareContext): string | undefined;
  /**
   * The progress of each message, as {@link MethodHandler.prepare} would give
   * it if they ran one after another, so that each can be re-run alone with
   * {@link MethodHandler.run} after a crash.
   */
  prepare(ctxs: PrepareContext[]): Promise<unknown[]>;
  /** Runs them all, in order; one outcome per message. */
  run(items: { ctx: PrepareContext; progress: unknown }[]): Promise<MethodOutcome[]>;
}

/** The code of one method. */
export interface MethodHandler {
  /**
   * Computes durable progress recorded together with the `running` state
   * before {@link MethodHandler.run}, e.g. a file's size before an append.
   */
  prepare?(ctx: PrepareContext): Promise<unknown>;
  /** Runs the method. Throwing is a failed execution, never a crash. */
  run(ctx: MethodContext): Promise<MethodOutcome>;
  /**
   * True when `run` may be called again with the same progress after a crash
   * interrupted it, and the end result is as if it ran once.
   */
  idempotent?: boolean;
  /**
   * Whether a successful run sends its output back as the reply message.
   * `false` for methods that send their replies themselves with
   * {@link MethodContext.emit} (streams) or later (copies); their failures
   * are still answered. @defaultValue true
   */
  replyOnSuccess?: boolean;
  /**
   * How long the execution may run, in milliseconds (-1: no limit), for
   * methods that end themselves at `methodTimeout` (streams end there
   * normally, rather than as a failure). The execution machine's limit is
   * then only a safety net. @defaultValue `methodTimeout` in milliseconds
   */
  timeLimitMs?(message: WireMessage): number;
  /** Runs a row of queued messages at once; only for idempotent methods (see {@link BatchRunner}). */
  batch?: BatchRunner;
  /**
   * True when what a message does touches only things of its sender (its
   * own files): the order is then kept per sender and subject, and messages
   * of different senders run side by side. Otherwise one at a time per
   * subject, whoever sent them. @defaultValue false
   */
  perSender?: boolean;
  /**
   * The file the message appends to (a key: the path as named, symlinks not
   * resolved), for methods that resume an interrupted append by cutting the
   * file back to its recorded size. Messages naming one file never run at
   * the same time, whatever their subject or method: from the recorded size
   * to the recorded result, the file is theirs, so a cut-back only ever
   * removes the cut run's own bytes. Undefined: no such file (the run then
   * fails on its own). @defaultValue none
   */
  appendsTo?(ctx: PrepareContext): string | undefined;
}
