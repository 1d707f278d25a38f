/**
 * The error kernel: every failure of the node lands here. It is logged with
 * its message id and subject, counted, and sent as an ErrorLog message to the
 * central error logger, which appends it to its error log.
 */
import type { Logger } from './logger.js';

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
}

/** Where the error kernel sends reports for central. */
export type ErrorForwarder = (text: string) => void;

/** Collects failures; see module doc. */
export class ErrorKernel {
  private forward?: ErrorForwarder;
  /** Failures seen, by kind (for metrics). */
  readonly counts = new Map<FailureKind, number>();
  /** Listeners told about every failure (metrics, inspector). */
  readonly listeners: ((f: Failure) => void)[] = [];

  constructor(
    private readonly node: string,
    private readonly log: Logger,
  ) {}

  /** Sets how reports reach central; before it is set, failures are only logged. */
  setForwarder(f: ErrorForwarder): void {
    this.forward = f;
  }

  /** Reports a failure. Never throws. */
  report(f: Failure): void {
    try {
      this.counts.set(f.kind, (this.counts.get(f.kind) ?? 0) + 1);
      const cause = f.error instanceof Error ? f.error.message : f.error === undefined ? undefined : JSON.stringify(f.error);
      this.log.error(f.text, { kind: f.kind, id: f.messageId, subject: f.subject, peer: f.peer, cause });
      for (const l of this.listeners) l(f);
      if (!f.localOnly && this.forward) {
        const where = [f.messageId && `id=${f.messageId}`, f.subject && `subject=${f.subject}`].filter(Boolean).join(' ');
        this.forward(`${f.kind}: ${f.text}${cause && !f.text.includes(cause) ? ` (${cause})` : ''}${where ? ` [${where}]` : ''}`);
      }
    } catch (err) {
      // The last line of defence must not throw; say so loudly on stderr.
      console.error(`steward ${this.node}: error kernel failed:`, err);
    }
  }
}
