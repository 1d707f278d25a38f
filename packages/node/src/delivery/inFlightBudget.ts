/**
 * The node-wide budget of messages in flight (`--maxInFlight`), shared by
 * every publisher of a node.
 *
 * A publisher may keep up to its window (`--orderedWindow`,
 * `--noseqConcurrency`) in flight, but only as long as the whole node keeps
 * no more than `--maxInFlight`. So one busy subject can use a deep window,
 * while a node that resumes thousands of subjects at once (a restart, a
 * receiver back after days) does not put `subjects × window` messages on the
 * wire, where they would queue at the receiver longer than their ACK
 * timeout and be sent again.
 *
 * Every publisher may always have one message in flight, whatever the
 * budget: a subject is never starved, and an error report or a hello always
 * goes out. A publisher that found the budget used up waits in line and is
 * woken, first come first served, when a place frees.
 */

/** What waits for a place: a publisher's pump. */
export interface BudgetWaiter {
  /** Sends what the publisher's window and the budget allow now. */
  pump(): void;
}

/** @internal */
export class InFlightBudget {
  /** Messages in flight now, counting each publisher's first one. */
  private used = 0;
  /** Publishers waiting for a place, in the order they asked. */
  private readonly waiting = new Set<BudgetWaiter>();
  private wakeScheduled = false;

  constructor(readonly limit: number) {}

  /** Messages in flight on this node now. */
  get inFlight(): number {
    return this.used;
  }

  /**
   * Whether `waiter` may send one more message now. A publisher with
   * nothing in flight (`first`) always may. Otherwise false when the budget
   * is used up, and `waiter` is woken when a place frees.
   */
  hasRoom(waiter: BudgetWaiter, first: boolean): boolean {
    if (first || this.used < this.limit) return true;
    this.waiting.add(waiter);
    return false;
  }

  /** A message went in flight (it takes its place even over the limit: see {@link hasRoom}). */
  add(): void {
    this.used++;
  }

  /** A message in flight ended or was withdrawn: its place is free, and the publishers waiting for one are woken. */
  release(): void {
    this.used--;
    if (this.waiting.size > 0 && this.used < this.limit) this.scheduleWake();
  }

  /** `waiter` stopped: it no longer waits. */
  forget(waiter: BudgetWaiter): void {
    this.waiting.delete(waiter);
  }

  /**
   * Wakes waiting publishers in a microtask, once the step that freed the
   * place is over (never inside another publisher's step), first come first
   * served, while places are free.
   */
  private scheduleWake(): void {
    if (this.wakeScheduled) return;
    this.wakeScheduled = true;
    queueMicrotask(() => {
      this.wakeScheduled = false;
      for (const w of this.waiting) {
        if (this.used >= this.limit) return;
        this.waiting.delete(w);
        // It takes what it can and, if the budget runs out again, waits at the end of the line.
        w.pump();
      }
    });
  }
}
