/**
 * Message deadlines on the sending side (the `ttl` message field, resolved
 * into the wire field `deadline` when the message is accepted).
 *
 * A publisher keeps one {@link DeadlineTimer}: it is told the deadline of
 * every message it loads or sends, and wakes the publisher once, at the
 * earliest one, so a message still queued (or waiting to be resent) when its
 * deadline passes is expired then, not when its turn comes. Messages without
 * a deadline cost one `undefined` check.
 *
 * The deadline is not `expiresAt`: that is the signature's validity window,
 * stamped anew at every send (see NodeSecurity.payload), so a message that
 * waits long still arrives valid. The deadline is the operator's, fixed at
 * acceptance, and covered by the same signature.
 */
import client from 'prom-client';
import type { WireMessage } from '@steward/core';
import type { Metrics } from '../observability/metrics.js';

// setTimeout fires at once for delays above 2^31-1 ms (about 24.8 days): longer waits are re-armed.
const maxTimerMs = 2_147_483_647;

/** Whether `m` has a deadline and it has passed at `now`. */
export function deadlinePassed(m: Pick<WireMessage, 'deadline'>, now = Date.now()): boolean {
  return m.deadline !== undefined && now >= m.deadline;
}

/**
 * One timer for the earliest deadline a publisher was told of. `onDue` runs
 * when it passes; the publisher then expires what is due and tells the
 * timer the deadlines that remain.
 */
export class DeadlineTimer {
  private timer?: NodeJS.Timeout;
  private next = Infinity;

  constructor(private readonly onDue: () => void) {}

  /** Makes sure the timer fires by `m`'s deadline, if it has one. */
  note(m: Pick<WireMessage, 'deadline'>): void {
    const at = m.deadline;
    if (at === undefined || at >= this.next) return;
    this.next = at;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.fire(), Math.min(Math.max(0, at - Date.now()), maxTimerMs));
    // A deadline alone never keeps the process alive.
    this.timer.unref();
  }

  /** Stops the timer. */
  stop(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.next = Infinity;
  }

  private fire(): void {
    const at = this.next;
    this.timer = undefined;
    this.next = Infinity;
    // Woken early (a timer capped at ~24.8 days): wait again for the same deadline.
    if (Date.now() < at) return this.note({ deadline: at });
    this.onDue();
  }
}

const counters = new WeakMap<Metrics, client.Counter<'method' | 'side'>>();

/**
 * `steward_messages_deadline_passed_total{method, side}`: messages given up
 * because their deadline passed, on the sender (`side="sender"`: expired
 * unsent, also counted in `steward_messages_expired_total`) or refused on
 * arrival by the receiver (`side="receiver"`). Registered on first use.
 */
export function deadlineCounter(metrics: Metrics): client.Counter<'method' | 'side'> {
  let c = counters.get(metrics);
  if (!c) {
    c = new client.Counter({
      name: 'steward_messages_deadline_passed_total',
      help: 'Messages given up because their deadline (ttl) passed: expired unsent by the sender, or refused on arrival by the receiver, by method and side',
      labelNames: ['method', 'side'],
      registers: [metrics.registry],
    });
    counters.set(metrics, c);
  }
  return c;
}
