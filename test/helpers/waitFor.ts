/**
 * Polling on a condition with a deadline, the only way the end-to-end tests
 * wait: a fixed sleep is either too short on a busy machine or wastes time on
 * a fast one. Also the small file readers that timeout messages are built from.
 */
import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';

import { WaitForTimeoutError } from './errors.js';

/** The values JavaScript treats as false; {@link waitFor} polls past them. */
export type Falsy = false | 0 | 0n | '' | null | undefined;

/** Options of {@link waitFor}. */
export interface WaitForOptions {
  /**
   * How long to keep polling before giving up, in milliseconds.
   * @defaultValue 30000
   */
  timeoutMs?: number;
  /**
   * Pause between two polls, in milliseconds.
   * @defaultValue 100
   */
  intervalMs?: number;
  /**
   * What the test was waiting for. A function is called only once the
   * deadline has passed, so it can show the state at that moment, e.g. the
   * current contents of a file or the tail of a log.
   */
  message: string | (() => string);
}

type Outcome<T> = { type: 'value'; value: T } | { type: 'error'; error: unknown } | { type: 'pending' };

/**
 * Calls `fn` until it returns (or resolves to) a truthy value and resolves
 * with that value. A call that throws counts as "not yet": the condition often
 * reads a file that does not exist yet. The last such error is kept as the
 * timeout error's `cause`.
 *
 * `fn` is always called at least once. A call still pending at the deadline
 * does not hold the test: the wait fails at the deadline regardless.
 *
 * @throws {@link WaitForTimeoutError} when the deadline passes first.
 */
export async function waitFor<T>(fn: () => T | Promise<T>, opts: WaitForOptions): Promise<Exclude<T, Falsy>> {
  const timeoutMs = opts.timeoutMs ?? 30_000;
  const intervalMs = opts.intervalMs ?? 100;
  const deadline = Date.now() + timeoutMs;
  let attempts = 0;
  let lastError: unknown;
  for (;;) {
    attempts += 1;
    const outcome = await attempt(fn, deadline - Date.now());
    if (outcome.type === 'value' && outcome.value) return outcome.value as Exclude<T, Falsy>;
    if (outcome.type === 'error') lastError = outcome.error;
    const remaining = deadline - Date.now();
    if (remaining <= 0) {
      throw timeoutError(opts.message, timeoutMs, attempts, lastError, outcome.type === 'pending');
    }
    await sleep(Math.min(intervalMs, remaining));
  }
}

/** One call of the condition, abandoned (left running) once `budgetMs` is spent. */
async function attempt<T>(fn: () => T | Promise<T>, budgetMs: number): Promise<Outcome<T>> {
  let timer: NodeJS.Timeout | undefined;
  const call = (async (): Promise<Outcome<T>> => {
    try {
      return { type: 'value', value: await fn() };
    } catch (error) {
      return { type: 'error', error };
    }
  })();
  const expiry = new Promise<Outcome<T>>((resolve) => {
    timer = setTimeout(() => resolve({ type: 'pending' }), Math.max(budgetMs, 0));
  });
  try {
    return await Promise.race([call, expiry]);
  } finally {
    clearTimeout(timer);
  }
}

function timeoutError(
  message: WaitForOptions['message'],
  timeoutMs: number,
  attempts: number,
  lastError: unknown,
  pending: boolean,
): WaitForTimeoutError {
  let text: string;
  try {
    text = typeof message === 'function' ? message() : message;
  } catch (error) {
    // A broken message builder must not hide the timeout itself.
    text = `(building the timeout message failed: ${describe(error)})`;
  }
  let detail = `timed out after ${timeoutMs} ms and ${attempts} attempt(s)`;
  if (pending) detail += '; the last attempt was still pending';
  if (lastError !== undefined) detail += `; last error: ${describe(lastError)}`;
  return new WaitForTimeoutError(`${text}\n(${detail})`, timeoutMs, {
    cause: lastError,
  });
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * The contents of a file as UTF-8, or `fallback` when it cannot be read
 * (missing, a directory, no permission). Synchronous so it can be used in a
 * {@link WaitForOptions.message} builder.
 */
export function readFileOr(path: string, fallback = ''): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return fallback;
  }
}

/**
 * The non-blank lines of a text file, without their line endings; `[]` when
 * the file does not exist or cannot be read.
 */
export function readLines(path: string): string[] {
  return readFileOr(path)
    .split(/\r?\n/)
    .filter((line) => line.trim() !== '');
}

/**
 * The last `count` lines of `text` (40 unless given), for putting a log's
 * end into an error message without flooding it.
 */
export function tailLines(text: string, count = 40): string {
  const lines = text.split('\n');
  if (lines.at(-1) === '') lines.pop();
  return lines.slice(-count).join('\n');
}
