/**
 * Simulated time for the state-machine tests: actors get XState's
 * SimulatedClock, and a test moves time itself, from one due timeout to the
 * next, once everything that can run without time has run. The tests then
 * take no wall-clock time and do the same thing on a busy machine as on an
 * idle one: a delay is exactly as long as the machine asked for.
 */
import { setImmediate as nextTurn } from 'node:timers/promises';
import { SimulatedClock } from 'xstate';

/**
 * XState's SimulatedClock that also tells when its next timeout is due, so
 * {@link runUntil} can jump straight there instead of stepping through time.
 */
export class TestClock extends SimulatedClock {
  /** Due time of every pending timeout, by id. */
  private readonly due = new Map<number, number>();

  /**
   * @param start - the clock's time at creation, in milliseconds; a realistic
   *   epoch value suits code that mixes it with timestamps.
   * @defaultValue 1_700_000_000_000
   */
  constructor(start = 1_700_000_000_000) {
    super();
    this.set(start);
  }

  override setTimeout(fn: () => void, timeout: number): number {
    const id = super.setTimeout(() => {
      this.due.delete(id);
      fn();
    }, timeout);
    this.due.set(id, this.now() + timeout);
    return id;
  }

  override clearTimeout(id: number): void {
    this.due.delete(id);
    super.clearTimeout(id);
  }

  /** When the earliest pending timeout is due, or `undefined` when none is pending. */
  nextDue(): number | undefined {
    return this.due.size === 0 ? undefined : Math.min(...this.due.values());
  }
}

/**
 * Lets everything run that needs no time: promise callbacks (a `fromPromise`
 * actor settling) and `setImmediate` callbacks (a test's stand-in answering),
 * including what those schedule in turn, a few rounds deep.
 */
export async function settle(rounds = 10): Promise<void> {
  for (let i = 0; i < rounds; i++) await nextTurn();
}

/** Options of {@link runUntil}. */
export interface RunUntilOptions {
  /**
   * How much simulated time may pass before the condition must hold.
   * @defaultValue one hour
   */
  limitMs?: number;
}

/**
 * Settles, checks `condition`, and while it does not hold moves `clock` to
 * its next due timeout (firing it) and repeats. Fails at once, instead of
 * hanging, when nothing is pending any more or the next timeout lies beyond
 * the limit: then the condition can never become true.
 *
 * @param what - the awaited condition in words, for the failure message.
 */
export async function runUntil(clock: TestClock, condition: () => boolean, what: string, opts: RunUntilOptions = {}): Promise<void> {
  const limitMs = opts.limitMs ?? 3_600_000;
  const start = clock.now();
  for (;;) {
    await settle();
    if (condition()) return;
    const next = clock.nextDue();
    if (next === undefined) {
      throw new Error(`never: ${what} (nothing left to wait for after ${clock.now() - start} simulated ms)`);
    }
    if (next - start > limitMs) {
      throw new Error(`not within ${limitMs} simulated ms: ${what} (next timeout due at +${next - start} ms)`);
    }
    clock.set(next);
  }
}
