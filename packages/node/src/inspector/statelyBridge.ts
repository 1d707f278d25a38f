/**
 * `--inspectStately`: forwards the node's actors to Stately's inspector
 * (`@statelyai/inspect`) for those who are online: the supervision tree
 * through XState's own inspection API, and the message actors (which live
 * outside the tree) as actor registrations and snapshots made from the
 * node's event stream.
 *
 * `sky` (or no value) uses Stately Sky, which prints a link to a live
 * session; a `ws://` or `wss://` URL sends to a WebSocket inspector, e.g.
 * one run locally. The package is imported only when asked for, and every
 * failure (package missing, no network) is logged, never fatal: the node
 * works the same without it.
 */
import type { AnyActorRef, InspectionEvent } from 'xstate';
import { deliveryMachine, executionMachine } from '@steward/core';
import type { Logger } from '../observability/logger.js';
import type { DeliveryEvent, ExecutionEvent, NodeEvents } from '../node/nodeEvents.js';
import { actorAt } from '../node/processTable.js';
import { publisherGroupOf } from '../delivery/publisherGroups.js';

/** Options of {@link attachStately}. */
export interface StatelyOptions {
  /** `sky`, or the URL of a WebSocket inspector. */
  target: string;
  /** The root supervisor, once created; give the returned `inspect` to `createActor` when creating it. */
  root: () => AnyActorRef | undefined;
  events: NodeEvents;
  log: Logger;
  /**
   * Resolves when the node has stopped: forwarding stops then, and the
   * process is made to exit shortly after (the package's clients reconnect
   * forever and cannot all be closed). Leave it out when embedding.
   * @defaultValue none: call the returned function to stop
   */
  exited?: Promise<number>;
}

/** The part of `@statelyai/inspect`'s inspector the bridge uses. */
interface StatelyInspector {
  inspect: { next?: (e: InspectionEvent) => void };
  actor(ref: unknown, snapshot?: object, info?: object): void;
  snapshot(ref: unknown, snapshot: object, info?: object): void;
  start(): void;
  stop(): void;
}

interface StatelyModule {
  createSkyInspector(o: { onerror?: (e: Error) => void }): StatelyInspector;
  createInspector(adapter: StatelyAdapter): StatelyInspector;
}

/** Where `@statelyai/inspect` sends its events (its `Adapter`). */
interface StatelyAdapter {
  start(): void;
  stop(): void;
  send(event: unknown): void;
}

/** The part of a `ws` WebSocket the adapter uses. */
interface WsSocket {
  on(event: 'open' | 'close', fn: () => void): void;
  on(event: 'error', fn: (err: Error) => void): void;
  send(text: string): void;
  terminate(): void;
}
type WsConstructor = new (url: string) => WsSocket;

/** JSON that survives cycles and what JSON cannot hold (functions, bigints, maps). */
function safeStringify(value: unknown): string {
  const seen = new WeakSet<object>();
  return JSON.stringify(value, (_k, v: unknown) => {
    if (typeof v === 'bigint') return v.toString();
    if (typeof v === 'function') return undefined;
    if (v instanceof Map) return Object.fromEntries(v as Map<unknown, unknown>) as Record<string, unknown>;
    if (typeof v === 'object' && v !== null) {
      if (seen.has(v)) return '[circular]';
      seen.add(v);
    }
    return v;
  });
}

/**
 * Sends to a WebSocket inspector (`ws://`), reconnecting every 5 s while it
 * is away and keeping the last events meanwhile. Unlike the package's own
 * WebSocket adapter it can be stopped for good, and its timers never keep
 * the process alive.
 */
class WebSocketAdapter implements StatelyAdapter {
  private ws?: WsSocket;
  private open = false;
  private stopped = false;
  private timer?: NodeJS.Timeout;
  private readonly queue: string[] = [];

  constructor(
    private readonly url: string,
    private readonly WebSocket: WsConstructor,
    private readonly onError: (err: Error) => void,
  ) {}

  start(): void {
    if (this.stopped || this.ws) return;
    const ws = new this.WebSocket(this.url);
    this.ws = ws;
    ws.on('open', () => {
      this.open = true;
      for (const text of this.queue.splice(0)) ws.send(text);
    });
    ws.on('error', (err) => this.onError(err));
    ws.on('close', () => {
      this.open = false;
      this.ws = undefined;
      if (this.stopped) return;
      this.timer = setTimeout(() => this.start(), 5000);
      this.timer.unref();
    });
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
    this.ws?.terminate();
    this.ws = undefined;
  }

  send(event: unknown): void {
    const text = safeStringify(event);
    if (this.open && this.ws) this.ws.send(text);
    else {
      this.queue.push(text);
      if (this.queue.length > bufferLimit) this.queue.shift();
    }
  }
}

/** A stand-in actor ref for a message actor (the package reads these fields). */
interface MessageRef {
  sessionId: string;
  id: string;
  logic: { config: unknown };
  _parent?: { sessionId: string };
  send: () => void;
  getSnapshot: () => undefined;
  subscribe: () => { unsubscribe: () => void };
}

const bufferLimit = 1000;

/** What {@link attachStately} returns. */
export interface StatelyBridge {
  /** The inspection observer to pass as `createActor(logic, { inspect })` for the root. */
  inspect: (e: InspectionEvent) => void;
  /** Stops forwarding. */
  stop: () => void;
}

/** Starts forwarding; see {@link StatelyBridge}. */
export function attachStately(o: StatelyOptions): StatelyBridge {
  const target = o.target === '' || o.target === 'true' ? 'sky' : o.target;
  let inspector: StatelyInspector | undefined;
  let failed = false;
  let stopped = false;
  const buffer: (() => void)[] = [];
  const run = (fn: () => void) => {
    if (failed || stopped) return;
    if (!inspector) {
      if (buffer.length < bufferLimit) buffer.push(fn);
      return;
    }
    try {
      fn();
    } catch (err) {
      o.log.debug(`stately inspector: ${(err as Error).message}`);
    }
  };

  // The tree: XState reports every actor of the root's system to the observer given at its creation.
  const inspect = (e: InspectionEvent) => run(() => inspector!.inspect.next?.(e));

  // Message actors: registered on their first event, then one snapshot per state.
  const refs = new Map<string, MessageRef>();
  const parentOf = (kind: 'delivery' | 'execution', e: DeliveryEvent | ExecutionEvent): { sessionId: string } | undefined => {
    const path = kind === 'delivery' ? ['publishers', publisherGroupOf(e.subject), e.subject] : ['subscribers', e.message.method];
    const child = actorAt(o.root(), path);
    return child ? { sessionId: child.sessionId } : undefined;
  };
  const forward = (kind: 'delivery' | 'execution', e: DeliveryEvent | ExecutionEvent, final: boolean, context: object) => {
    run(() => {
      const key = `${kind}:${e.id}`;
      let ref = refs.get(key);
      const snapshot = { status: final ? 'done' : 'active', value: e.state, context };
      if (!ref) {
        const parent = parentOf(kind, e);
        ref = {
          sessionId: `${o.root()?.sessionId ?? 'steward'}.${key}`,
          id: `${kind === 'delivery' ? 'message' : 'execution'}-${e.id}`,
          logic: { config: (kind === 'delivery' ? deliveryMachine : executionMachine).config },
          ...(parent ? { _parent: parent } : {}),
          send: () => undefined,
          getSnapshot: () => undefined,
          subscribe: () => ({ unsubscribe: () => undefined }),
        };
        refs.set(key, ref);
        inspector!.actor(ref, snapshot);
      }
      inspector!.snapshot(ref, snapshot, { event: { type: `steward.${e.state}` } });
      if (final) refs.delete(key);
    });
  };
  const onDelivery = (e: DeliveryEvent) =>
    forward('delivery', e, e.state === 'delivered' || e.state === 'expired' || e.state === 'cancelled', {
      subject: e.subject,
      attempts: e.attempts,
      ...(e.lastError ? { lastError: e.lastError } : {}),
    });
  const onExecution = (e: ExecutionEvent) =>
    forward('execution', e, e.state === 'replied' || e.state === 'duplicate' || e.state === 'interrupted' || e.state === 'cancelled', {
      subject: e.subject,
      fromNode: e.message.fromNode,
      ...(e.result ? { status: e.result.status } : {}),
    });
  o.events.on('delivery', onDelivery);
  o.events.on('execution', onExecution);

  let lastError = 0;
  const onerror = (err: Error) => {
    // An offline node would log this at every reconnect: once a minute is enough.
    if (Date.now() - lastError < 60_000) return;
    lastError = Date.now();
    o.log.warn(`stately inspector: ${err?.message || 'connection failed'} (the node works the same without it)`);
  };

  const wsModule = 'ws';
  Promise.all([import('@statelyai/inspect'), target === 'sky' ? undefined : (import(wsModule) as Promise<{ WebSocket: WsConstructor }>)])
    .then(([m, ws]) => {
      if (stopped) return;
      const mod = m as unknown as StatelyModule;
      if (target === 'sky') inspector = mod.createSkyInspector({ onerror });
      else {
        inspector = mod.createInspector(new WebSocketAdapter(target, ws!.WebSocket, onerror));
        inspector.start();
      }
      o.log.info(`forwarding actor events to the Stately inspector (${target === 'sky' ? 'Stately Sky' : target})`);
      for (const fn of buffer.splice(0)) run(fn);
    })
    .catch((err: unknown) => {
      failed = true;
      buffer.length = 0;
      o.log.warn(`--inspectStately: cannot load @statelyai/inspect (${(err as Error).message}); continuing without it`);
    });

  const stop = () => {
    if (stopped) return;
    stopped = true;
    o.events.off('delivery', onDelivery);
    o.events.off('execution', onExecution);
    try {
      inspector?.stop();
    } catch {
      // best effort
    }
  };
  void o.exited?.then(() => {
    const started = inspector !== undefined;
    stop();
    // Stately Sky's client reconnects forever and cannot be closed; once the
    // node has stopped it must not keep the process alive (unref: this timer
    // alone does not either).
    if (started && target === 'sky') setTimeout(() => process.exit(), 1500).unref();
  });
  return { inspect, stop };
}
