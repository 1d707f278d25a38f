/**
 * The error kernel: every failure of the node lands here. It is logged with
 * its message id and subject, counted, and sent as an ErrorLog message to the
 * central error logger, which appends it to its error log.
 *
 * Refusals are the exception to "one report per failure": anyone who reaches
 * the broker can send thousands of forged messages a second, and one
 * ErrorLog each would let them flood both journals and central's error log.
 * A refusal (`rejected`, `badInput` about a message on the wire) is counted
 * at once, but reported once per sender and reason code per window: the
 * first at once, the others as one summary with their number when the window
 * ends. Sender names come from the refused messages and prove nothing, so
 * the number of senders reported one by one is capped too.
 */
import type { Logger } from '../observability/logger.js';

/** What went wrong, for counting and filtering. */
export const FailureKind = {
  DeliveryExpired: 'deliveryExpired',
  MethodFailed: 'methodFailed',
  BadInput: 'badInput',
  Rejected: 'rejected',
  Interrupted: 'interrupted',
  ActorCrashed: 'actorCrashed',
  Escalation: 'escalation',
  Journal: 'journal',
  Broker: 'broker',
} as const;
/** What went wrong. */
export type FailureKind = (typeof FailureKind)[keyof typeof FailureKind];

/** One failure report. */
export interface Failure {
  kind: FailureKind;
  /** One line an operator can act on. */
  text: string;
  messageId?: string;
  subject?: string;
  /** The node the failure concerns (the sender of a bad message, the target of an expired one). */
  peer?: string;
  error?: unknown;
  /** Do not forward to central (used for failures of ErrorLog messages themselves, to avoid loops). */
  localOnly?: boolean;
  /**
   * A short reason code (`badSignature`, `acl`, `notJson`, ...) by which
   * refusals are grouped. Derived from the text when absent ({@link refusalCode}).
   */
  code?: string;
}

/** Where the error kernel sends reports for central. */
export type ErrorForwarder = (text: string) => void;

/** Options of {@link ErrorKernel}. */
export interface ErrorKernelOptions {
  /** Milliseconds of one refusal window: at most one report per sender and code in it. @defaultValue 10000 */
  refusalWindowMs?: number;
  /** Senders (with a code) reported one by one at once; further ones share one summary. @defaultValue 10 */
  maxRefusalSenders?: number;
}

/** The key of the summary that gathers senders beyond {@link ErrorKernelOptions.maxRefusalSenders}. */
const overflowKey = '*';
/** Most distinct sender names an overflow summary counts (memory stays bounded under a flood of invented names). */
const maxOverflowNames = 10_000;

/** Refusals of one sender and code (or of the overflow) in the current window. */
interface Burst {
  first: Failure;
  /** Refusals since the last report (the first one, or the last summary). */
  more: number;
  since: number;
  timer: NodeJS.Timeout;
  /** Overflow only: the sender names and codes it gathered. */
  names?: Set<string>;
  codes?: Set<string>;
}

/**
 * The reason code of a message refused on the wire: the failure's `code`,
 * or the security check's code read from its text
 * (`refused X from Y on S: <code>: ...`), or a fixed one for a payload that
 * is not JSON, too large or not a message (`refused a message on S: ...`).
 * Undefined for any other failure: a message that passed the checks and
 * then failed, or was rejected by its method, came from a proven sender and
 * was journaled; it is reported on its own.
 */
export function refusalCode(f: Failure): string | undefined {
  if (f.kind !== FailureKind.Rejected && f.kind !== FailureKind.BadInput) return undefined;
  if (f.code) return f.code;
  const checked = /^refused \S+ from \S+ on \S+: ([A-Za-z]{1,32}): /.exec(f.text);
  if (checked) return checked[1]!;
  if (f.kind === FailureKind.BadInput && /^refused a message on \S+: /.test(f.text)) {
    if (/: not JSON: /.test(f.text)) return 'notJson';
    if (/\(payload\)/.test(f.text)) return 'tooLarge';
    return 'invalid';
  }
  return undefined;
}

/** The method of a subject (`<node>.<kind>.<method>`), if there is one. */
function methodOf(subject: string | undefined): string | undefined {
  const parts = subject?.split('.');
  return parts && parts.length === 3 ? parts[2] : undefined;
}

/** Collects failures; see module doc. */
export class ErrorKernel {
  private forward?: ErrorForwarder;
  /** Failures seen, by kind (for metrics). */
  readonly counts = new Map<FailureKind, number>();
  /** Listeners told about every failure (metrics, inspector). */
  readonly listeners: ((f: Failure) => void)[] = [];
  /** Listeners told about every report queued for central (one per summary, not one per refusal it counts). */
  readonly forwardListeners: ((kind: FailureKind) => void)[] = [];
  /** Refusal windows open now, by sender (or subject), kind and code. */
  private readonly bursts = new Map<string, Burst>();
  private readonly windowMs: number;
  private readonly maxSenders: number;

  constructor(
    private readonly node: string,
    private readonly log: Logger,
    opts: ErrorKernelOptions = {},
  ) {
    this.windowMs = opts.refusalWindowMs ?? 10_000;
    this.maxSenders = opts.maxRefusalSenders ?? 10;
  }

  /** Sets how reports reach central; before it is set, failures are only logged. */
  setForwarder(f: ErrorForwarder): void {
    this.forward = f;
  }

  /** Reports a failure. Never throws. */
  report(f: Failure): void {
    try {
      // Counted and told to the listeners (metrics) every time, whether reported now, later or in a summary.
      this.counts.set(f.kind, (this.counts.get(f.kind) ?? 0) + 1);
      for (const l of this.listeners) l(f);
      const key = this.refusalKey(f);
      if (key !== undefined && this.gathered(key, f)) return;
      this.emit(f);
    } catch (err) {
      // The last line of defence must not throw; say so loudly on stderr.
      console.error(`steward ${this.node}: error kernel failed:`, err);
    }
  }

  /** Reports the refusals still gathered in open windows now, and closes the windows. */
  flush(): void {
    for (const [key, b] of [...this.bursts]) {
      clearTimeout(b.timer);
      this.bursts.delete(key);
      if (b.more > 0) this.summarize(b);
    }
  }

  /** Logs `f`, and sends it to central unless it is local-only. */
  private emit(f: Failure): void {
    const cause = f.error instanceof Error ? f.error.message : f.error === undefined ? undefined : JSON.stringify(f.error);
    this.log.error(f.text, { kind: f.kind, id: f.messageId, subject: f.subject, peer: f.peer, cause });
    if (!f.localOnly && this.forward) {
      const where = [f.messageId && `id=${f.messageId}`, f.subject && `subject=${f.subject}`].filter(Boolean).join(' ');
      this.forward(`${f.kind}: ${f.text}${cause && !f.text.includes(cause) ? ` (${cause})` : ''}${where ? ` [${where}]` : ''}`);
      for (const l of this.forwardListeners) l(f.kind);
    }
  }

  /** The window key of a refusal, or undefined for a failure that is reported on its own. */
  private refusalKey(f: Failure): string | undefined {
    const code = refusalCode(f);
    // Only refusals on the wire, about a node or a subject; an operator's own bad inmsg.txt entry is reported one by one.
    const who = f.peer ?? f.subject;
    if (code === undefined || who === undefined) return undefined;
    // The method too: an ACL refusing CLICommand and one refusing ECHORequest from one node are two things to fix.
    return JSON.stringify([who, methodOf(f.subject), f.kind, code, f.localOnly === true]);
  }

  /**
   * Whether `f` is gathered into an open window (true), or opens one and is
   * to be reported now (false).
   */
  private gathered(key: string, f: Failure): boolean {
    const open = this.bursts.get(key);
    if (open) {
      open.more++;
      return true;
    }
    if (this.bursts.size < this.maxSenders) {
      this.open(key, f);
      return false;
    }
    // Beyond the cap: invented sender names each get no report of their own.
    const overflow = this.bursts.get(overflowKey);
    if (overflow) {
      overflow.more++;
      if (overflow.names!.size < maxOverflowNames) overflow.names!.add(f.peer ?? f.subject ?? '?');
      overflow.codes!.add(refusalCode(f) ?? f.kind);
      return true;
    }
    this.open(overflowKey, f, true);
    return false;
  }

  private open(key: string, f: Failure, overflow = false): void {
    const timer = setTimeout(() => this.windowEnded(key), this.windowMs);
    // A window must not keep a stopping process alive.
    timer.unref();
    this.bursts.set(key, {
      first: f,
      more: 0,
      since: Date.now(),
      timer,
      ...(overflow ? { names: new Set<string>(), codes: new Set<string>() } : {}),
    });
  }

  /** A window ended: summarize what it gathered and keep gathering for one more, or close it when it was quiet. */
  private windowEnded(key: string): void {
    try {
      const b = this.bursts.get(key);
      if (!b) return;
      if (b.more === 0) {
        this.bursts.delete(key);
        return;
      }
      this.summarize(b);
      // Still under fire: the next refusals go to the next summary, not to a report of their own.
      b.more = 0;
      b.since = Date.now();
      b.names?.clear();
      b.codes?.clear();
      b.timer = setTimeout(() => this.windowEnded(key), this.windowMs);
      b.timer.unref();
    } catch (err) {
      console.error(`steward ${this.node}: error kernel failed:`, err);
    }
  }

  /** Logs and forwards the summary of a window. */
  private summarize(b: Burst): void {
    const f = b.first;
    const n = b.more.toLocaleString('en-US');
    const secs = Math.max(1, Math.round((Date.now() - b.since) / 1000));
    const received = /^refused /.test(f.text);
    let what: string;
    if (b.names) {
      const senders =
        b.names.size >= maxOverflowNames ? `${maxOverflowNames.toLocaleString('en-US')}+` : b.names.size.toLocaleString('en-US');
      what = `${received ? `refused ${n} more messages` : `${n} more ${f.kind} failures`} from ${senders} other senders (codes ${[...b.codes!].join(', ')})`;
    } else {
      const who = f.peer !== undefined ? `from ${f.peer}` : `on ${f.subject}`;
      const method = f.peer !== undefined && methodOf(f.subject) ? `${methodOf(f.subject)} ` : '';
      what = `${received ? `refused ${n} more ${method}messages` : `${n} more ${f.kind} failures`} ${who} (code ${refusalCode(f) ?? f.kind})`;
    }
    const text = `${what} in the last ${secs} s; first: ${f.text}`;
    this.emit({
      kind: f.kind,
      text,
      ...(f.subject !== undefined && !b.names ? { subject: f.subject } : {}),
      ...(f.peer !== undefined && !b.names ? { peer: f.peer } : {}),
      ...(f.localOnly ? { localOnly: true } : {}),
    });
  }
}
