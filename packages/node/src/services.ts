/**
 * The services every process of a node shares: configuration, logger,
 * journal, broker connection, error kernel, audit log, and the way to put a
 * message in the outbox. Owned by the root node actor. @internal
 */
import { randomUUID } from 'node:crypto';
import { subjectOf, toWireMessage, type Journal, type MessageSpec, type SubmitResult, type WireMessage } from '@steward/core';
import type { AuditLog } from './audit.js';
import type { BrokerConnection } from './broker.js';
import type { NodeConfig } from './config.js';
import type { ErrorKernel } from './errorKernel.js';
import type { Logger } from './logger.js';
import type { Metrics } from './metrics.js';
import { NodeEvents } from './nodeEvents.js';

/** One message to send, as given by an input. */
export interface SpecSubmission {
  spec: MessageSpec;
  /** Makes the submission idempotent (see Journal). */
  sourceKey?: string;
  /** Where it came from, for the audit log (e.g. `inmsg.txt`). */
  source?: string;
}

/** @internal */
export class NodeServices {
  /** Called with the subjects that got new messages, so their publishers run. */
  onNewMessages: (subjects: string[]) => void = () => undefined;
  /** Live events of this node's actors (see {@link NodeEvents}). */
  readonly events = new NodeEvents();

  constructor(
    readonly config: NodeConfig,
    readonly log: Logger,
    readonly journal: Journal,
    readonly broker: BrokerConnection,
    readonly errors: ErrorKernel,
    readonly audit: AuditLog,
    readonly metrics: Metrics,
  ) {}

  /** Turns a spec into a wire message from this node, with the node's defaults. */
  toWire(spec: MessageSpec): WireMessage {
    return toWireMessage(
      spec,
      { fromNode: this.config.node, id: randomUUID(), now: Date.now() },
      {
        timeout: this.config.defaultMessageTimeout,
        retries: this.config.defaultMessageRetries,
        methodTimeout: this.config.defaultMethodTimeout,
      },
    );
  }

  /**
   * Puts messages in the outbox, in order. Resolves once they are durable;
   * only then may the input that gave them forget them.
   */
  async submit(items: SpecSubmission[]): Promise<SubmitResult[]> {
    if (items.length === 0) return [];
    const wires = items.map((i) => ({
      message: this.toWire(i.spec),
      subject: subjectOf(i.spec),
      sourceKey: i.sourceKey,
      source: i.source,
    }));
    const results = await this.journal.submit(
      wires.map((w) =>
        w.sourceKey === undefined
          ? { message: w.message, subject: w.subject }
          : { message: w.message, subject: w.subject, sourceKey: w.sourceKey },
      ),
    );
    this.audit.append(
      wires
        .filter((_, i) => !results[i]!.duplicate)
        .map((w) =>
          w.source === undefined
            ? { event: 'accepted' as const, message: w.message, subject: w.subject }
            : { event: 'accepted' as const, message: w.message, subject: w.subject, source: w.source },
        ),
    );
    for (const w of wires) this.metrics.accepted.inc({ method: w.message.method });
    this.onNewMessages([...new Set(wires.map((w) => w.subject))]);
    return results;
  }
}
