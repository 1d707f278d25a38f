/**
 * Runs a task one at a time however often it is asked for: a request while the
 * task runs makes it run once more afterwards. Used by the file inputs, whose
 * watchers fire many events for one write.
 */
export class CoalescingRunner {
  private busy = false;
  private again = false;
  private stopped = false;

  constructor(
    private readonly task: () => Promise<void>,
    private readonly onError: (err: unknown) => void,
  ) {}

  /** Runs the task now, or once more after the run in progress. */
  trigger(): void {
    if (this.stopped) return;
    if (this.busy) {
      this.again = true;
      return;
    }
    this.busy = true;
    this.task()
      .catch((err: unknown) => this.onError(err))
      .finally(() => {
        this.busy = false;
        if (this.again && !this.stopped) {
          this.again = false;
          this.trigger();
        }
      });
  }

  /** No more runs; one in progress finishes. */
  stop(): void {
    this.stopped = true;
  }
}
