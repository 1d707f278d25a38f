/**
 * Errors of the core package. Each is a named class so callers can test with
 * `instanceof`; every constructor takes `ErrorOptions` so the underlying error
 * stays reachable as `cause`.
 */

/** Base class of every error steward raises on purpose. */
export class StewardError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'StewardError';
  }
}

/** One problem found in one field of one message. */
export interface FieldProblem {
  /** The field's name, e.g. `toNode` or `data[2]`. */
  field: string;
  /** Why the value is refused, in words an operator can act on. */
  reason: string;
}

/**
 * A message (or a piece of input) that does not satisfy the schema. It names
 * every field that is wrong, so the operator can fix all of them at once.
 */
export class ValidationError extends StewardError {
  readonly problems: FieldProblem[];
  constructor(problems: FieldProblem[], options?: ErrorOptions) {
    super(problems.map((p) => `field "${p.field}": ${p.reason}`).join('; '), options);
    this.name = 'ValidationError';
    this.problems = problems;
  }
}

/** The journal could not be opened, read or written. */
export class JournalError extends StewardError {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'JournalError';
  }
}

/**
 * A method refused its message for a reason that running it again cannot
 * change: bad arguments, a file that is not there, a path outside the
 * allowed folders. Thrown before the method's first effect. The execution
 * fails like any other; a message with a `schedule` stops its schedule at
 * once instead of failing again at every interval (see methods/schedule.ts).
 */
export class UnrecoverableError extends StewardError {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'UnrecoverableError';
  }
}

/** A supervised child failed more often than its restart intensity allows. */
export class EscalationError extends StewardError {
  readonly childId: string;
  constructor(childId: string, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'EscalationError';
    this.childId = childId;
  }
}
