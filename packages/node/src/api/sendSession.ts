/**
 * One `send` request of the local API: journals its messages, answers
 * `accepted`, then (with `wait`) follows each message through the node's
 * event stream and streams its progress, its result and a final `done`.
 */
import { MessageKind, subjectOf, type MessageSpec, type WireMessage } from '@steward/core';
import { replyMethodOf } from '../execution/replyMessage.js';
import type { DeliveryEvent, ExecutionEvent } from '../node/nodeEvents.js';
import type { NodeServices } from '../node/services.js';
import { sentResult, type SentFacts } from './sendResult.js';
import {
  ErrorCode,
  outcomeOf,
  RequestError,
  SendStatus,
  withReqId,
  type SendRequest,
  type SendResult,
  type SocketResponse,
} from './socketProtocol.js';

/**
 * The ACK of a CommandACK comes only when the command has finished, and a
 * resend while it runs is answered only then: with the node's short default
 * ACK timeout, a command running longer than `timeout × (retries + 1)` would
 * be reported expired although it ran. So a CommandACK from the socket that
 * does not set `timeout` waits its `methodTimeout` plus the default timeout.
 * An unreachable node is still found at once (the broker answers "no responders").
 */
export function withRunTimeAckTimeout(
  spec: MessageSpec,
  defaults: { defaultMessageTimeout: number; defaultMethodTimeout: number },
): MessageSpec {
  if (spec.timeout !== undefined || spec.commandOrEvent !== MessageKind.CommandACK) return spec;
  const run = spec.methodTimeout ?? defaults.defaultMethodTimeout;
  if (run < 0) return spec;
  return { ...spec, timeout: Math.max(defaults.defaultMessageTimeout, run + defaults.defaultMessageTimeout) };
}

/** One message a `send` request waits for. */
interface Tracked {
  id: string;
  toNode: string;
  facts?: SentFacts;
  reply?: WireMessage;
  result?: SendResult;
  lastProgress?: string;
  timer?: NodeJS.Timeout;
}

type NodeEvent = { kind: 'delivery'; e: DeliveryEvent } | { kind: 'execution'; e: ExecutionEvent };

/** What a send request needs of its connection. @internal */
export interface SendClient {
  /** Writes one response line (nothing once closed). */
  respond(r: SocketResponse): void;
  /** Whether the connection has closed. */
  readonly closed: boolean;
  /** Run when the connection closes. */
  readonly cleanups: Set<() => void>;
}

/** One `send` request, from its first line to its `done` (or the connection closing). @internal */
export class SendSession {
  /** Events that came before the ids were known; routed once they are. */
  private readonly buffered: NodeEvent[] = [];
  private routing = false;
  private readonly timers = new Set<NodeJS.Timeout>();
  private tracked = new Map<string, Tracked>();
  private readonly counts = { total: 0, ok: 0, failed: 0, expired: 0, noReply: 0 };
  private finished = 0;

  constructor(
    private readonly s: NodeServices,
    private readonly client: SendClient,
    private readonly req: SendRequest,
  ) {}

  /** `send`: journal, answer `accepted`, then (with `wait`) stream progress and results. */
  async run(): Promise<void> {
    const s = this.s;
    const req = this.req;
    // Listen before submitting: a fast delivery must not finish between the commit and our listening.
    if (req.wait) {
      s.events.on('delivery', this.onDelivery);
      s.events.on('execution', this.onExecution);
      this.client.cleanups.add(this.unlisten);
    }
    let results;
    try {
      results = await s.submit(req.messages.map((spec) => ({ spec: withRunTimeAckTimeout(spec, s.config), source: 'socket' })));
    } catch (err) {
      this.unlisten();
      throw new RequestError(ErrorCode.Internal, `could not journal the messages; none was accepted: ${(err as Error).message}`, {
        cause: err,
        reqId: req.reqId,
      });
    }
    const accepted = results.map((r, index) => {
      const spec = req.messages[index]!;
      return { index, id: r.id, toNode: spec.toNode, method: spec.method, subject: subjectOf(spec) };
    });
    for (const a of accepted) s.log.info('accepted from the socket API', { id: a.id, subject: a.subject });
    this.client.respond({
      type: 'accepted',
      ...withReqId(req.reqId),
      messages: accepted,
      ...(req.warnings.length ? { warnings: req.warnings } : {}),
    });
    if (!req.wait || this.client.closed) {
      this.unlisten();
      return;
    }

    this.tracked = new Map<string, Tracked>(accepted.map((a) => [a.id, { id: a.id, toNode: a.toNode }]));
    this.counts.total = accepted.length;
    for (const ev of this.buffered.splice(0)) this.route(ev);
    this.routing = true;
  }

  private readonly onDelivery = (e: DeliveryEvent): void => this.deliver({ kind: 'delivery', e });
  private readonly onExecution = (e: ExecutionEvent): void => this.deliver({ kind: 'execution', e });

  /** Until the ids are known, events wait in `buffered`. */
  private deliver(ev: NodeEvent): void {
    if (this.routing) this.route(ev);
    else this.buffered.push(ev);
  }

  /** Stops listening to node events and clears the reply timers. */
  private readonly unlisten = (): void => {
    this.s.events.off('delivery', this.onDelivery);
    this.s.events.off('execution', this.onExecution);
    for (const t of this.timers) clearTimeout(t);
    this.client.cleanups.delete(this.unlisten);
  };

  /** Answers the result of one message; after the last one, `done` with the counts. */
  private finishOne(t: Tracked, r: SendResult): void {
    if (t.result) return;
    t.result = r;
    clearTimeout(t.timer);
    this.client.respond({ type: 'result', ...withReqId(this.req.reqId), ...r });
    this.counts[outcomeOf(r.status)]++;
    if (++this.finished === this.tracked.size) {
      this.unlisten();
      this.client.respond({ type: 'done', ...withReqId(this.req.reqId), ...this.counts });
    }
  }

  /** Answers a message whose result is known, or waits (up to replyTimeout) for the reply message it still expects. */
  private settle(t: Tracked): void {
    if (t.result || !t.facts) return;
    const r = sentResult(t.facts, t.reply);
    if (r) return this.finishOne(t, r);
    if (t.timer) return;
    // Delivered; the reply message is still to come.
    const methodTimeout = t.facts.message.methodTimeout;
    const wait = this.req.replyTimeout ?? (methodTimeout < 0 ? -1 : methodTimeout + 60);
    if (wait < 0) return;
    t.timer = setTimeout(() => {
      this.timers.delete(t.timer!);
      const rec = this.s.journal.findReplyTo(t.id);
      if (rec) {
        t.reply = rec.message;
        return this.settle(t);
      }
      this.finishOne(t, {
        id: t.id,
        toNode: t.toNode,
        method: t.facts!.message.method,
        attempts: t.facts!.attempts,
        status: SendStatus.NoReply,
        error: `delivered, but no reply came within ${wait}s; it may still come: steward status ${t.id}`,
      });
    }, wait * 1000);
    this.timers.add(t.timer);
  }

  /** Follows one node event: a delivery's progress or end, or the reply message to a tracked request. */
  private route(ev: NodeEvent): void {
    if (ev.kind === 'delivery') {
      const e = ev.e;
      const t = this.tracked.get(e.id);
      if (!t || t.result) return;
      if (e.state === 'delivered' || e.state === 'expired' || e.state === 'cancelled') {
        t.facts = {
          message: e.message,
          state: e.state,
          attempts: e.attempts,
          ...(e.reply ? { ack: e.reply } : {}),
          ...(e.lastError !== undefined ? { lastError: e.lastError } : {}),
        };
        this.settle(t);
      } else if (t.lastProgress !== `${e.state}/${e.attempts}`) {
        t.lastProgress = `${e.state}/${e.attempts}`;
        this.client.respond({
          type: 'progress',
          ...withReqId(this.req.reqId),
          id: e.id,
          toNode: t.toNode,
          state: e.state,
          attempts: e.attempts,
          ...(e.lastError !== undefined ? { lastError: e.lastError } : {}),
        });
      }
    } else {
      const m = ev.e.message;
      const t = m.previousMessageId === undefined ? undefined : this.tracked.get(m.previousMessageId);
      // Only the node the request went to can answer it, with the reply method the request asked for (as the reply guard checks).
      if (!t || t.result || t.reply || m.fromNode !== t.toNode) return;
      const request = this.s.journal.getOutbox(t.id)?.message;
      if (!request || m.method !== replyMethodOf(request)) return;
      t.reply = m;
      this.settle(t);
    }
  }
}
