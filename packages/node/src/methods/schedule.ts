/**
 * `schedule: [interval, total]`: the receiver runs the method every
 * `interval` seconds, the first time at once, until `total` seconds have
 * passed since the first run. Each run has its own `methodTimeout` and sends
 * its own reply (its output, or the failure), in order. A run still going
 * when the next is due delays it: runs never overlap, missed ones are skipped.
 * A run refused with an {@link UnrecoverableError} (bad arguments, a path
 * outside the allowed folders) ends the schedule: every later run would be
 * refused the same way.
 *
 * The whole schedule is one execution: it is journaled once, and a node
 * restart in the middle reports it interrupted (or, with
 * `rerunInterrupted`, starts the schedule again).
 */
import { UnrecoverableError, type MethodOutcome, type WireMessage } from '@steward/core';
import { appendTargetOf } from './fileAppend.js';
import { streamGraceMs } from './lineStream.js';
import type { MethodHandler } from './types.js';

/** The schedule version of `inner`. */
export function scheduled(inner: MethodHandler): MethodHandler {
  return {
    replyOnSuccess: false,
    timeLimitMs: (m: WireMessage) => {
      const total = m.schedule![1];
      return m.methodTimeout < 0 ? -1 : (total + m.methodTimeout) * 1000 + streamGraceMs;
    },
    async run(ctx) {
      const m = ctx.message;
      const [interval, total] = m.schedule!;
      const start = Date.now();
      const end = start + total * 1000;
      let runs = 0;
      let failures = 0;
      for (let next = start; next < end && !ctx.signal.aborted;) {
        await sleepUntil(next, ctx.signal);
        if (ctx.signal.aborted) break;
        const { outcome, unrecoverable } = await runOnce(inner, ctx, m);
        runs++;
        let text = outcome.output;
        if (!outcome.ok) {
          failures++;
          text += `${text && !text.endsWith('\n') ? '\n' : ''}steward: ${m.method} scheduled run ${runs} failed: ${outcome.error ?? ''}\n`;
          if (unrecoverable) text += `steward: ${m.method} schedule stopped: the next runs would be refused the same way\n`;
        }
        if (inner.replyOnSuccess !== false || !outcome.ok) await ctx.emit(text);
        if (unrecoverable)
          return { ok: false, output: '', error: `scheduled run ${runs} refused, schedule stopped: ${outcome.error ?? ''}` };
        // The next tick on the interval grid that is still ahead.
        const elapsed = Date.now() - start;
        next = start + Math.max(runs, Math.ceil(elapsed / (interval * 1000))) * interval * 1000;
      }
      if (failures > 0) return { ok: false, output: '', error: `${failures} of ${runs} scheduled runs failed` };
      return { ok: true, output: '' };
    },
  };
}

/** One run of the schedule; `unrecoverable` when the method refused the message with an {@link UnrecoverableError}. */
async function runOnce(
  inner: MethodHandler,
  ctx: Parameters<MethodHandler['run']>[0],
  m: WireMessage,
): Promise<{ outcome: MethodOutcome; unrecoverable: boolean }> {
  const abort = new AbortController();
  const onAbort = () => abort.abort();
  ctx.signal.addEventListener('abort', onAbort, { once: true });
  let timedOut = false;
  const limit = inner.timeLimitMs ? -1 : m.methodTimeout;
  const timer =
    limit >= 0
      ? setTimeout(() => {
          timedOut = true;
          abort.abort();
        }, limit * 1000)
      : undefined;
  try {
    const base = { services: ctx.services, message: m, subject: ctx.subject };
    const once = async (): Promise<MethodOutcome> => {
      const progress = inner.prepare ? await inner.prepare(base) : undefined;
      // Each run's output goes back with emit(); none is gathered across runs (no onOutput).
      return inner.run({ ...base, emit: ctx.emit, signal: abort.signal, progress, resumed: false });
    };
    // An append takes its file for the run, as an unscheduled one does (see MethodHandler.appendsTo).
    const file = appendTargetOf(inner, base);
    const outcome = file === undefined ? await once() : await ctx.services.appendLocks.with(file, once);
    if (timedOut)
      return {
        outcome: { ...outcome, ok: false, error: `killed: ran longer than methodTimeout ${m.methodTimeout}s` },
        unrecoverable: false,
      };
    return { outcome, unrecoverable: false };
  } catch (err) {
    return {
      outcome: { ok: false, output: '', error: err instanceof Error ? err.message : String(err) },
      unrecoverable: err instanceof UnrecoverableError,
    };
  } finally {
    clearTimeout(timer);
    ctx.signal.removeEventListener('abort', onAbort);
  }
}

function sleepUntil(at: number, signal: AbortSignal): Promise<void> {
  const ms = at - Date.now();
  if (ms <= 0) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(t);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const t = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
  });
}
