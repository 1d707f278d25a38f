/**
 * Errors of the end-to-end test harness. Each is a named class so a test can
 * check with `instanceof`; every constructor takes `ErrorOptions` so the
 * underlying failure stays reachable as `cause`.
 */

/** Base class of every error the harness raises on purpose. */
export class HarnessError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'HarnessError';
  }
}

/** The `nats-server` binary is not installed, so no broker can be started. */
export class NatsServerNotFoundError extends HarnessError {
  /** The directories that were searched, in order. */
  readonly searched: string[];
  constructor(searched: string[], options?: ErrorOptions) {
    super(
      'nats-server not found: install it with `sudo apt-get install nats-server` ' + `(searched ${searched.join(', ') || 'nothing'})`,
      options,
    );
    this.name = 'NatsServerNotFoundError';
    this.searched = searched;
  }
}

/** A {@link waitFor} condition never became true before its deadline. */
export class WaitForTimeoutError extends HarnessError {
  /** How long the condition was polled, in milliseconds. */
  readonly timeoutMs: number;
  constructor(message: string, timeoutMs: number, options?: ErrorOptions) {
    super(message, options);
    this.name = 'WaitForTimeoutError';
    this.timeoutMs = timeoutMs;
  }
}

/**
 * A process started by the harness (nats-server, a steward node) exited or
 * never became ready. The message carries the tail of its log.
 */
export class ProcessStartError extends HarnessError {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'ProcessStartError';
  }
}
