/**
 * One `watch` request of the local API: the node's live events, filtered,
 * one `event` line each, until the connection closes.
 *
 * A watcher never slows the node. Each event is a listener call that
 * filters and writes one line; nothing waits. The queue of a watcher is its
 * socket's write buffer, bounded at {@link maxWatchBacklogBytes}: when a
 * reader falls that far behind, the events meant for it are dropped and
 * counted (steward_watch_events_dropped_total) until the buffer has drained
 * to empty, and then one `dropped` line says how many were lost. The
 * journal, `steward status` and `steward jobs` still have every message.
 *
 * With no watcher, the node does nothing for this: no listener is attached.
 */
import type { Failure } from '../node/errorKernel.js';
import type { AcceptedEvent, DeliveryEvent, ExecutionEvent } from '../node/nodeEvents.js';
import type { NodeServices } from '../node/services.js';
import type { AckReply, SupervisorEvent, WireMessage } from '@steward/core';
import { withReqId, type SocketResponse } from './socketProtocol.js';
import { watchFilter, type WatchEvent, type WatchFilter, type WatchRequest } from './watchProtocol.js';

/**
 * Bytes a watcher may have waiting in its socket's write buffer before its
 * events are dropped: a few thousand lines, far more than a reader that keeps
 * up ever has waiting (a second of events at 5,000 a second), and a small
 * bound on what a stalled one costs.
 */
export const maxWatchBacklogBytes = 1024 * 1024;

/** What a watch needs of its connection. @internal */
export interface WatchClient {
  /** Writes one response line (nothing once closed). */
  respond(r: SocketResponse): void;
  /** Whether the connection has closed. */
  readonly closed: boolean;
  /** Run when the connection closes. */
  readonly cleanups: Set<() => void>;
  /** Bytes written but not yet taken by the kernel. */
  backlog(): number;
  /** Holds this turn's writes and sends them together when the event loop turns. */
  batchWrites(): void;
  /** Calls `fn` once, when the write buffer has drained. */
  onceDrained(fn: () => void): void;
}

/** One `watch` request, from its `watching` line to the connection closing. @internal */
export class WatchSession {
  private readonly filter: WatchFilter;
  private dropped = 0;
  private droppedSince = 0;

  constructor(
    private readonly s: NodeServices,
    private readonly client: WatchClient,
    private readonly req: WatchRequest,
  ) {
    this.filter = watchFilter(req);
  }

  /** Answers `watching`, then streams events until the connection closes. */
  run(): void {
    const ev = this.s.events;
    this.client.respond({ type: 'watching', ...withReqId(this.req.reqId), node: this.s.config.node });
    if (this.client.closed) return;
    ev.on('accepted', this.onAccepted);
    ev.on('delivery', this.onDelivery);
    ev.on('received', this.onExecution);
    ev.on('execution', this.onExecution);
    ev.on('failure', this.onFailure);
    ev.on('supervisor', this.onSupervisor);
    this.s.metrics.watchers.inc();
    this.client.cleanups.add(this.stop);
  }

  private readonly stop = (): void => {
    const ev = this.s.events;
    ev.off('accepted', this.onAccepted);
    ev.off('delivery', this.onDelivery);
    ev.off('received', this.onExecution);
    ev.off('execution', this.onExecution);
    ev.off('failure', this.onFailure);
    ev.off('supervisor', this.onSupervisor);
    this.s.metrics.watchers.dec();
    this.client.cleanups.delete(this.stop);
  };

  private readonly onAccepted = (e: AcceptedEvent): void => {
    this.push({
      ...messageFields('delivery', e, 'accepted'),
      ...(e.source !== undefined ? { source: e.source } : {}),
    });
  };

  private readonly onDelivery = (e: DeliveryEvent): void => {
    const error = e.lastError ?? e.reply?.error;
    this.push({
      ...messageFields('delivery', e, e.state),
      attempts: e.attempts,
      ...resultFields(e.reply),
      ...(error !== undefined ? { error } : {}),
    });
  };

  private readonly onExecution = (e: ExecutionEvent): void => {
    this.push({
      ...messageFields('execution', e, e.state),
      ...resultFields(e.result),
      ...(e.result?.error !== undefined ? { error: e.result.error } : {}),
    });
  };

  private readonly onFailure = (f: Failure): void => {
    this.push({
      kind: 'failure',
      time: Date.now(),
      failureKind: f.kind,
      text: f.text,
      ...(f.messageId !== undefined ? { id: f.messageId } : {}),
      ...(f.subject !== undefined ? { subject: f.subject } : {}),
      ...(f.peer !== undefined ? { peer: f.peer } : {}),
    });
  };

  private readonly onSupervisor = (e: SupervisorEvent): void => {
    // A finished child (an idle publisher stopping) is routine, not a restart.
    if (e.type === 'child.done') return;
    const process = `${e.supervisor}/${e.childId}`;
    const time = Date.now();
    switch (e.type) {
      case 'child.failed':
        return this.push({ kind: 'process', time, state: 'failed', process, error: errorText(e.error) });
      case 'child.restarting':
        return this.push({ kind: 'process', time, state: 'restarting', process, restartCount: e.restartCount, delayMs: e.delayMs });
      case 'child.restarted':
        return this.push({ kind: 'process', time, state: 'restarted', process, restartCount: e.restartCount });
      case 'escalated':
        return this.push({ kind: 'process', time, state: 'escalated', process, error: errorText(e.error) });
    }
  };

  /** Writes one event, or drops it when the reader is behind; never throws (it runs inside the node's emit). */
  private push(e: WatchEvent): void {
    try {
      if (this.client.closed || !this.filter.matches(e)) return;
      // Once dropping, keep dropping until the buffer is empty: the reader sees one gap, not many.
      if (this.dropped > 0 || this.client.backlog() > maxWatchBacklogBytes) {
        if (this.dropped++ === 0) {
          this.droppedSince = e.time;
          this.client.onceDrained(this.resume);
        }
        this.s.metrics.watchDropped.inc();
        return;
      }
      this.client.batchWrites();
      this.client.respond({ type: 'event', ...withReqId(this.req.reqId), ...e });
    } catch (err) {
      this.s.log.warn(`watch: an event could not be written: ${(err as Error)?.message ?? String(err)}`);
    }
  }

  /** The reader caught up: say how many events it missed, then stream again. */
  private readonly resume = (): void => {
    if (this.client.closed || this.dropped === 0) return;
    const count = this.dropped;
    this.dropped = 0;
    this.client.respond({ type: 'dropped', ...withReqId(this.req.reqId), count, since: this.droppedSince });
  };
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** The fields every delivery and execution event of one message carries. */
function messageFields<K extends 'delivery' | 'execution'>(
  kind: K,
  e: { time: number; id: string; subject: string; message: WireMessage },
  state: string,
) {
  const m = e.message;
  return {
    kind,
    time: e.time,
    id: e.id,
    subject: e.subject,
    fromNode: m.fromNode,
    toNode: m.toNode,
    method: m.method,
    state,
    ...(m.previousMessageId !== undefined ? { previousMessageId: m.previousMessageId } : {}),
  };
}

/** The outcome fields of an ACK or an execution result, when there is one. */
function resultFields(r: AckReply | undefined): { status?: string; exitCode?: number | null } {
  if (!r) return {};
  return { status: r.status, ...(r.exitCode !== undefined ? { exitCode: r.exitCode } : {}) };
}
