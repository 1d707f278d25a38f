/**
 * What a method handler is: the code that runs a received message. One file
 * per method, one row per method in `methods/index.ts`.
 */
import type { MethodOutcome, WireMessage } from '@steward/core';
import type { NodeServices } from '../services.js';

/** What a handler is given. */
export interface MethodContext {
  services: NodeServices;
  message: WireMessage;
  subject: string;
  /** Aborted on methodTimeout or node shutdown: stop, and kill what you started. */
  signal: AbortSignal;
  /** What {@link MethodHandler.prepare} returned, stored durably before the run. */
  progress: unknown;
}

/** The code of one method. */
export interface MethodHandler {
  /**
   * Computes durable progress recorded together with the `running` state
   * before {@link MethodHandler.run}, e.g. a file's size before an append.
   */
  prepare?(ctx: Omit<MethodContext, 'signal' | 'progress'>): Promise<unknown>;
  /** Runs the method. Throwing is a failed execution, never a crash. */
  run(ctx: MethodContext): Promise<MethodOutcome>;
  /**
   * True when `run` may be called again with the same progress after a crash
   * interrupted it, and the end result is as if it ran once.
   */
  idempotent?: boolean;
}
