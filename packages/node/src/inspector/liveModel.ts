/**
 * The live model of a node's message actors, built from its event stream
 * (`NodeEvents`): which delivery and execution actors are in flight and in
 * which state, the recent events of each message (its timeline), the
 * messages that just finished, and the recent failures and supervision
 * events. The inspector draws it and the metrics count in-flight actors
 * from it.
 *
 * Everything is bounded, so a node with thousands of actors, or one that
 * runs for months, keeps a model of fixed size.
 */
import type { Failure } from '../node/errorKernel.js';
import type { DeliveryEvent, ExecutionEvent, NodeEvents } from '../node/nodeEvents.js';
import type { SupervisorEvent } from '@steward/core';
import { publisherGroupOf } from '../delivery/publisherGroups.js';

/** Which side of a message an actor is: sending (delivery) or receiving (execution). */
export const ActorKind = { Delivery: 'delivery', Execution: 'execution' } as const;
/** Which side of a message an actor is. */
export type ActorKind = (typeof ActorKind)[keyof typeof ActorKind];

/** One message actor, in flight or just finished. */
export interface ActorEntry {
  kind: ActorKind;
  /** The message id. */
  id: string;
  subject: string;
  method: string;
  /** The other node: the receiver of a delivery, the sender of an execution. */
  peer: string;
  /** Path of the process that owns the actor, e.g. `root/publishers/g03/ship1.EventACK.TextLogging`. */
  process: string;
  /** The machine's (top-level) state. */
  state: string;
  /** Sends made so far (deliveries). */
  attempts?: number;
  /** Why the last attempt failed, or the execution's error. */
  lastError?: string;
  /** The receiver's result status (a delivery's ACK, an execution's outcome). */
  status?: string;
  startedAt: number;
  updatedAt: number;
  /** Set once the actor reached a final state. */
  finishedAt?: number;
}

/** One event of a message's life. */
export interface TimelineEntry {
  time: number;
  /** `delivery` and `execution` are state changes; `failure` a report to the error kernel. */
  kind: ActorKind | 'failure';
  state: string;
  attempts?: number;
  detail?: string;
}

/** A failure, as kept for display. */
export interface FailureEntry {
  time: number;
  kind: string;
  text: string;
  id?: string;
  subject?: string;
  peer?: string;
}

/** A supervision event, as kept for display. */
export interface SupervisionEntry {
  time: number;
  type: SupervisorEvent['type'];
  /** Path of the process the event is about, e.g. `root/inputs/inmsgFile`. */
  process: string;
  detail?: string;
}

/** Restarts and escalations of one process. */
export interface ProcessHealth {
  restarts: number;
  escalations: number;
  lastFailure?: string;
  lastFailureAt?: number;
}

/** Options of {@link LiveModel}. */
export interface LiveModelOptions {
  /**
   * Messages whose timeline is kept (least recently changed dropped first); 0 keeps none.
   * @defaultValue 2000
   */
  timelines?: number;
  /**
   * Events kept per message; the first few and the latest are kept when there are more.
   * @defaultValue 60
   */
  timelineLength?: number;
  /**
   * Finished actors kept for the "recent" list and to linger under their process.
   * @defaultValue 500
   */
  finished?: number;
  /**
   * Milliseconds a finished actor is still shown under its process.
   * @defaultValue 60000
   */
  lingerMs?: number;
  /**
   * Failures and supervision events kept.
   * @defaultValue 200
   */
  history?: number;
}

const finalDelivery = new Set(['delivered', 'expired', 'cancelled']);
// 'cancelled' here is a message cancelled before it arrived (one cancelled while running ends 'replied').
const finalExecution = new Set(['replied', 'duplicate', 'interrupted', 'cancelled']);

/** The method of a subject `<node>.<kind>.<method>`. */
export function methodOfSubject(subject: string): string {
  return subject.slice(subject.lastIndexOf('.') + 1);
}

/** Path of the publisher process of a subject (under its group supervisor, see publisherGroups.ts). */
export function publisherPath(subject: string): string {
  return `root/publishers/${publisherGroupOf(subject)}/${subject}`;
}

/** Path of the subscriber process of a method. */
export function subscriberPath(method: string): string {
  return `root/subscribers/${method}`;
}

/** Path of a supervisor's child, given the supervisor's name as it reports it. */
export function childPath(supervisor: string, childId: string): string {
  return supervisor === 'root' ? `root/${childId}` : `root/${supervisor}/${childId}`;
}

function keyOf(kind: ActorKind, id: string): string {
  return `${kind}:${id}`;
}

function errorText(err: unknown): string {
  if (err instanceof Error) return err.message;
  if (err === undefined) return '';
  if (typeof err === 'string') return err;
  try {
    return JSON.stringify(err);
  } catch {
    return 'unprintable error';
  }
}

/** A bounded list that drops its oldest items (a circular buffer: pushing is O(1)). */
class Ring<T> {
  private readonly items: T[] = [];
  /** Where the next item goes once the buffer is full (also the oldest item). */
  private next = 0;
  constructor(private readonly limit: number) {}
  push(item: T): void {
    if (this.items.length < this.limit) this.items.push(item);
    else {
      this.items[this.next] = item;
      this.next = (this.next + 1) % this.limit;
    }
  }
  /** Oldest first. */
  private ordered(): T[] {
    return this.items.length < this.limit ? this.items : [...this.items.slice(this.next), ...this.items.slice(0, this.next)];
  }
  /** Newest first. */
  latest(count = this.limit): T[] {
    return this.ordered().slice(-count).reverse();
  }
  /** Oldest first. */
  filter(pred: (item: T) => boolean): T[] {
    return this.ordered().filter(pred);
  }
}

/** See the module doc. */
export class LiveModel {
  /** Grows on every change; a view built at one revision is current until it moves. */
  rev = 0;
  /** Totals since the node started. */
  readonly totals = { delivered: 0, expired: 0, executed: 0, duplicates: 0, failures: 0, restarts: 0, escalations: 0 };
  private readonly opts: Required<LiveModelOptions>;
  private readonly active = new Map<string, ActorEntry>();
  private readonly finished: Ring<ActorEntry>;
  private readonly timelines = new Map<string, TimelineEntry[]>();
  private readonly subjects = new Map<string, string>();
  private readonly failureRing: Ring<FailureEntry>;
  private readonly supervisionRing: Ring<SupervisionEntry>;
  private readonly health = new Map<string, ProcessHealth>();
  private readonly detach: () => void;

  constructor(
    events: NodeEvents,
    options: LiveModelOptions = {},
    private readonly now: () => number = Date.now,
  ) {
    this.opts = { timelines: 2000, timelineLength: 60, finished: 500, lingerMs: 60_000, history: 200, ...options };
    this.finished = new Ring(this.opts.finished);
    this.failureRing = new Ring(this.opts.history);
    this.supervisionRing = new Ring(this.opts.history);
    const onDelivery = (e: DeliveryEvent) => this.guard(() => this.onDelivery(e));
    const onExecution = (e: ExecutionEvent) => this.guard(() => this.onExecution(e));
    const onFailure = (f: Failure) => this.guard(() => this.onFailure(f));
    const onSupervisor = (e: SupervisorEvent) => this.guard(() => this.onSupervisor(e));
    events.on('delivery', onDelivery);
    events.on('execution', onExecution);
    events.on('failure', onFailure);
    events.on('supervisor', onSupervisor);
    this.detach = () => {
      events.off('delivery', onDelivery);
      events.off('execution', onExecution);
      events.off('failure', onFailure);
      events.off('supervisor', onSupervisor);
    };
  }

  /** Stops listening. */
  dispose(): void {
    this.detach();
  }

  /** Actors in flight, of one kind or both. */
  activeCount(kind?: ActorKind): number {
    if (kind === undefined) return this.active.size;
    let n = 0;
    for (const a of this.active.values()) if (a.kind === kind) n++;
    return n;
  }

  /** Every actor in flight. */
  activeActors(): IterableIterator<ActorEntry> {
    return this.active.values();
  }

  /** Finished actors still lingering under their process (finished within `lingerMs`), oldest first. */
  lingering(): ActorEntry[] {
    const since = this.now() - this.opts.lingerMs;
    return this.finished.filter((a) => (a.finishedAt ?? 0) >= since);
  }

  /** The most recently finished actors, newest first. */
  recent(count: number): ActorEntry[] {
    return this.finished.latest(count);
  }

  /** The actors (in flight, then lingering) of one process, with their count by state. */
  actorsOf(process: string): ActorEntry[] {
    const inFlight = [...this.active.values()].filter((a) => a.process === process);
    const ended = this.lingering().filter((a) => a.process === process && !this.active.has(keyOf(a.kind, a.id)));
    return [...inFlight, ...ended.reverse()];
  }

  /** What is known of one message: its actors (in flight or finished) and its timeline. */
  message(id: string): { actors: ActorEntry[]; timeline: TimelineEntry[] } {
    const actors: ActorEntry[] = [];
    for (const kind of [ActorKind.Delivery, ActorKind.Execution]) {
      const a = this.active.get(keyOf(kind, id)) ?? this.finished.latest().find((f) => f.kind === kind && f.id === id);
      if (a) actors.push(a);
    }
    return { actors, timeline: [...(this.timelines.get(id) ?? [])] };
  }

  /** The subject of a message this node saw recently. */
  subjectOf(id: string): string | undefined {
    return (
      this.subjects.get(id) ??
      this.active.get(keyOf(ActorKind.Delivery, id))?.subject ??
      this.active.get(keyOf(ActorKind.Execution, id))?.subject
    );
  }

  /** Recent failures, newest first. */
  failures(count: number): FailureEntry[] {
    return this.failureRing.latest(count);
  }

  /** Recent supervision events, newest first. */
  supervision(count: number): SupervisionEntry[] {
    return this.supervisionRing.latest(count);
  }

  /** Restarts and escalations by process path. */
  processHealth(): ReadonlyMap<string, ProcessHealth> {
    return this.health;
  }

  private guard(fn: () => void): void {
    try {
      fn();
    } catch (err) {
      // Event listeners must not throw (they run inside the runtime); observability never breaks it.
      console.error('steward inspector: live model update failed', err);
    }
  }

  private onDelivery(e: DeliveryEvent): void {
    // The last error belongs to the attempt that just failed: show it where the machine reacts to it.
    const detail =
      e.state === 'delivered' && e.reply
        ? `ACK ${e.reply.status}${e.reply.duplicate ? " (duplicate: answered from the receiver's journal)" : ''}`
        : e.lastError && (e.state === 'retryWait' || e.state === 'expired')
          ? e.lastError
          : undefined;
    this.track(
      {
        kind: ActorKind.Delivery,
        id: e.id,
        subject: e.subject,
        method: e.message.method,
        peer: e.message.toNode,
        process: publisherPath(e.subject),
        state: e.state,
        attempts: e.attempts,
        ...(e.lastError !== undefined ? { lastError: e.lastError } : {}),
        ...(e.reply ? { status: e.reply.status } : {}),
      },
      finalDelivery.has(e.state),
      e.time,
      detail,
    );
    if (e.state === 'delivered') this.totals.delivered++;
    else if (e.state === 'expired') this.totals.expired++;
  }

  private onExecution(e: ExecutionEvent): void {
    const status = e.result?.status;
    const final = finalExecution.has(e.state);
    // The machine's own `replied` snapshot follows the subscriber's (which carries the result): one is enough.
    const known = this.active.get(keyOf(ActorKind.Execution, e.id));
    if (e.state === 'replied' && !e.result && !known) return;
    const detail = status ? `${status}${e.result?.error ? `: ${e.result.error}` : ''}` : undefined;
    this.track(
      {
        kind: ActorKind.Execution,
        id: e.id,
        subject: e.subject,
        method: e.message.method,
        peer: e.message.fromNode,
        process: subscriberPath(e.message.method),
        state: e.state,
        ...(status ? { status } : {}),
        ...(e.result?.error !== undefined ? { lastError: e.result.error } : {}),
      },
      final,
      e.time,
      detail,
    );
    if (e.state === 'duplicate') this.totals.duplicates++;
    else if (e.state === 'replied' || e.state === 'interrupted') this.totals.executed++;
  }

  private track(next: Omit<ActorEntry, 'startedAt' | 'updatedAt'>, final: boolean, time: number, detail: string | undefined): void {
    const key = keyOf(next.kind, next.id);
    const prev = this.active.get(key);
    let entry: ActorEntry;
    if (prev) {
      // Updated in place (a field `next` lacks, like an earlier status, stays): an entry is this model's own, and
      // whoever shows it reads it at once. Three or four changes per message make no new object.
      entry = Object.assign(prev, next);
      entry.updatedAt = time;
    } else {
      // `next` is a new object made by the caller: it becomes the entry.
      entry = next as ActorEntry;
      entry.startedAt = time;
      entry.updatedAt = time;
    }
    // Noted when a message is first seen and when its actor ends; in between, its entry in flight has the subject.
    if (!prev || final) this.rememberSubject(next.id, next.subject);
    if (this.opts.timelines > 0) {
      this.remember(next.id, {
        time,
        kind: next.kind,
        state: next.state,
        ...(next.attempts !== undefined ? { attempts: next.attempts } : {}),
        ...(detail !== undefined ? { detail } : {}),
      });
    }
    if (final) {
      this.active.delete(key);
      entry.finishedAt = time;
      this.finished.push(entry);
    } else {
      this.active.set(key, entry);
    }
    this.rev++;
  }

  /** Keeps the subject of a recent message (the most recently changed 1,000 at least). */
  private rememberSubject(id: string, subject: string | undefined): void {
    if (!subject) return;
    this.subjects.delete(id);
    this.subjects.set(id, subject);
    if (this.subjects.size > Math.max(this.opts.timelines, 1000)) this.subjects.delete(this.subjects.keys().next().value!);
  }

  /** Adds an event to a message's timeline (kept only when timelines are: the inspector is configured). */
  private remember(id: string, item: TimelineEntry): void {
    if (this.opts.timelines <= 0) return;
    const list = this.timelines.get(id) ?? [];
    const last = list.findLast((t) => t.kind === item.kind);
    // Repeated snapshots of one state (e.g. `replied` from the subscriber and from the machine) are one event.
    if (last && last.state === item.state && last.attempts === item.attempts && item.kind !== 'failure') {
      if (item.detail && !last.detail) last.detail = item.detail;
      return;
    }
    list.push(item);
    // Keep the first events (how it began) and the latest (where it is now).
    if (list.length > this.opts.timelineLength) list.splice(5, list.length - this.opts.timelineLength);
    // Re-inserting moves the message to the end: the map's order is least recently changed first.
    this.timelines.delete(id);
    this.timelines.set(id, list);
    if (this.timelines.size > this.opts.timelines) this.timelines.delete(this.timelines.keys().next().value!);
  }

  private onFailure(f: Failure): void {
    const cause = errorText(f.error);
    const entry: FailureEntry = {
      time: this.now(),
      kind: f.kind,
      text: cause && !f.text.includes(cause) ? `${f.text} (${cause})` : f.text,
      ...(f.messageId !== undefined ? { id: f.messageId } : {}),
      ...(f.subject !== undefined ? { subject: f.subject } : {}),
      ...(f.peer !== undefined ? { peer: f.peer } : {}),
    };
    this.failureRing.push(entry);
    this.totals.failures++;
    if (f.messageId) {
      this.rememberSubject(f.messageId, f.subject);
      this.remember(f.messageId, { time: entry.time, kind: 'failure', state: f.kind, detail: entry.text });
    }
    this.rev++;
  }

  private onSupervisor(e: SupervisorEvent): void {
    const process = childPath(e.supervisor, e.childId);
    const time = this.now();
    let detail: string | undefined;
    const health = this.health.get(process) ?? { restarts: 0, escalations: 0 };
    switch (e.type) {
      case 'child.failed':
        detail = errorText(e.error);
        health.lastFailure = detail;
        health.lastFailureAt = time;
        this.forgetActorsOf(process);
        break;
      case 'child.restarting':
        detail = `in ${e.delayMs} ms (restart ${e.restartCount})`;
        health.restarts++;
        this.totals.restarts++;
        break;
      case 'child.restarted':
        detail = `restart ${e.restartCount}`;
        break;
      case 'escalated':
        detail = e.error.message;
        health.escalations++;
        this.totals.escalations++;
        break;
      default:
        break;
    }
    this.health.set(process, health);
    this.supervisionRing.push({ time, type: e.type, process, ...(detail ? { detail } : {}) });
    this.rev++;
  }

  /**
   * A failed process was stopped with its actors; they resume, with new
   * actors, when it restarts. Forgetting them keeps the in-flight count true.
   */
  private forgetActorsOf(process: string): void {
    for (const [key, a] of this.active) {
      if (a.process === process || a.process.startsWith(process + '/')) this.active.delete(key);
    }
  }
}
