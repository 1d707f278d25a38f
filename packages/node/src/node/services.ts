/**
 * The services every process of a node shares: configuration, logger,
 * journal, broker connection, error kernel, audit log, and the way to put a
 * message in the outbox. Owned by the root node actor. @internal
 */
import {
  expandTargets,
  newMessageId,
  subjectOf,
  toWireMessage,
  type Journal,
  type MessageSpec,
  type OutboxSubmission,
  type SubmitResult,
  type WireMessage,
} from '@steward/core';
import type { AuditLog } from '../observability/audit.js';
import type { BrokerConnection } from '../transport/brokerConnection.js';
import type { NodeConfig } from './config.js';
import type { ErrorKernel } from './errorKernel.js';
import { KeyedLock } from '../execution/keyedLock.js';
import { InFlightBudget } from '../delivery/inFlightBudget.js';
import type { Logger } from '../observability/logger.js';
import type { Metrics } from '../observability/metrics.js';
import { NodeEvents } from './nodeEvents.js';
import type { ProcessTable } from './processTable.js';

/** One message to send, as given by an input. */
export interface SpecSubmission {
  spec: MessageSpec;
  /** Makes the submission idempotent (see Journal). */
  sourceKey?: string;
  /** Where it came from, for the audit log (e.g. `inmsg.txt`). */
  source?: string;
}

/** What {@link NodeServices.submit} tells about one submission. */
export interface FanOutResult extends SubmitResult {
  /** For a message with several targets (`toNodes`): one result per target node, in order. */
  fanOut?: (SubmitResult & { toNode: string })[];
}

/** @internal */
export class NodeServices {
  /** Called with the subjects that got new messages, so their publishers run. */
  onNewMessages: (subjects: string[]) => void = () => undefined;
  /** Live events of this node's actors (see {@link NodeEvents}). */
  readonly events = new NodeEvents();
  /** Messages in flight across this node's publishers, bounded by `maxInFlight` (see inFlightBudget.ts). */
  readonly inFlightBudget: InFlightBudget;
  /** Held by an append from its progress to its result, per file, across subscribers (see MethodHandler.appendsTo). */
  readonly appendLocks = new KeyedLock();
  /** The node's supervised processes, for the REQOpProcess* methods; set by the node once its tree exists. */
  processes?: ProcessTable;
  /**
   * Why this node must not send a reply of `method` to `to` on behalf of
   * `from`, the requester, when `to` is a third node (`replyToNode`): the
   * reply carries this node's signature, so it may go only where the
   * requester itself may send it (the ACL). Undefined: it may.
   * @defaultValue no check (set by the node when ACL checks are on)
   */
  relayRefusal?: (from: string, method: string, to: string, data: readonly string[]) => string | undefined;

  constructor(
    readonly config: NodeConfig,
    readonly log: Logger,
    readonly journal: Journal,
    readonly broker: BrokerConnection,
    readonly errors: ErrorKernel,
    readonly audit: AuditLog,
    readonly metrics: Metrics,
  ) {
    this.inFlightBudget = new InFlightBudget(config.maxInFlight);
  }

  /** Turns a spec into a wire message from this node, with the node's defaults. */
  toWire(spec: MessageSpec): WireMessage {
    return toWireMessage(
      spec,
      // Time-ordered, and flat: see newMessageId.
      { fromNode: this.config.node, id: newMessageId(), now: Date.now() },
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
  async submit(items: SpecSubmission[]): Promise<FanOutResult[]> {
    if (items.length === 0) return [];
    // Fan-out (toNodes) and "local" are resolved here, so every input has them.
    // Kept lean: a large submission's objects live until it is durable, and what lives that long is promoted to
    // V8's old generation, which is what a backlog's peak memory is made of.
    const groups: SpecSubmission[][] = items.map((i) => {
      const specs = expandTargets(i.spec, this.config.node);
      if (specs.length === 1) return specs[0] === i.spec ? [i] : [{ ...i, spec: specs[0]! }];
      return specs.map((spec) => ({
        ...i,
        spec,
        ...(i.sourceKey === undefined ? {} : { sourceKey: `${i.sourceKey}:${spec.toNode}` }),
      }));
    });
    const wires: (OutboxSubmission & { source?: string })[] = [];
    for (const g of groups) {
      for (const i of g) {
        const w: OutboxSubmission & { source?: string } = { message: this.toWire(i.spec), subject: subjectOf(i.spec) };
        if (i.sourceKey !== undefined) w.sourceKey = i.sourceKey;
        if (i.source !== undefined) w.source = i.source;
        wires.push(w);
      }
    }
    const results = await this.journal.submit(wires);
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
    // Only `steward watch` listens; with no watcher this costs one check per submit.
    if (this.events.listenerCount('accepted') > 0) {
      const time = Date.now();
      wires.forEach((w, i) => {
        if (results[i]!.duplicate) return;
        const { message, subject, source } = w;
        this.events.emit('accepted', { id: message.id, subject, message, time, ...(source !== undefined ? { source } : {}) });
      });
    }
    this.onNewMessages([...new Set(wires.map((w) => w.subject))]);
    // One result per item: a fanned-out item answers with its first message, and all of them in fanOut.
    let k = 0;
    return groups.map((g) => {
      const rs = results.slice(k, (k += g.length));
      return g.length === 1 ? rs[0]! : { ...rs[0]!, fanOut: rs.map((r, n) => ({ ...r, toNode: g[n]!.spec.toNode })) };
    });
  }
}
