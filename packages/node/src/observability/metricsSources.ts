/**
 * Feeds the node's {@link Metrics} from what the node already knows, without
 * hooks in the runtime: the live event stream (ACK round trips, method run
 * times, missed ACKs, ErrorLogs received), the journal (open messages by
 * state and method, file size, commit latency, nodes seen by SayHello), the
 * broker connection (state, traffic) and the actor tree (processes running).
 *
 * Gauges are computed when Prometheus scrapes (`collect`), so an idle node
 * does no metrics work.
 */
import { statSync } from 'node:fs';
import type { AnyActorRef } from 'xstate';
import Database from 'better-sqlite3';
import { methodInfo } from '@steward/core';
import client from 'prom-client';
import { FailureKind } from '../node/errorKernel.js';
import { ActorKind, methodOfSubject, type LiveModel } from '../inspector/liveModel.js';
import { listProcesses } from './processList.js';
import type { Metrics } from './metrics.js';
import type { DeliveryEvent, ExecutionEvent } from '../node/nodeEvents.js';
import type { NodeServices } from '../node/services.js';

/** What {@link bindMetricSources} reads. */
export interface MetricSources {
  services: NodeServices;
  /** In-flight actors, from the event stream. */
  live: LiveModel;
  /** The root supervisor, once started. */
  root: () => AnyActorRef | undefined;
}

/** Binds the metric sources; returns a function that unbinds them. */
export function bindMetricSources(metrics: Metrics, src: MetricSources): () => void {
  const registers = [metrics.registry];
  const disposers: (() => void)[] = [];
  bindEventSources(metrics, src, registers, disposers);
  bindJournalSources(metrics, src, registers, disposers);
  bindTreeSources(src, registers);
  bindBrokerSources(metrics, src, registers, disposers);
  return () => {
    for (const d of disposers.splice(0)) {
      try {
        d();
      } catch {
        // unbinding is best effort
      }
    }
  };
}

/** From the event stream: ACK round trips, missed ACKs, method run times, ErrorLogs, actors in flight. */
function bindEventSources(metrics: Metrics, src: MetricSources, registers: client.Registry[], disposers: (() => void)[]): void {
  const { services: s, live } = src;
  const firstSend = new Map<string, number>();
  const lastDeliveryState = new Map<string, string>();
  const runningSince = new Map<string, number>();

  const onDelivery = (e: DeliveryEvent) => {
    const method = e.message.method;
    const prev = lastDeliveryState.get(e.id);
    if (e.state === 'sending' && !firstSend.has(e.id)) firstSend.set(e.id, e.time);
    // Only an attempt that waited for its ACK can miss it (a publish error is not a missed ACK).
    if (e.state === 'retryWait' && prev === 'awaitingAck') metrics.missedAcks.inc({ method });
    if (e.state === 'expired' && prev === 'awaitingAck') metrics.missedAcks.inc({ method });
    if (e.state === 'delivered' || e.state === 'expired' || e.state === 'cancelled') {
      const sentAt = firstSend.get(e.id);
      if (e.state === 'delivered' && e.reply && sentAt !== undefined) metrics.ackRoundTrip.observe({ method }, (e.time - sentAt) / 1000);
      if (e.state === 'expired') metrics.failedAcks.inc({ method });
      firstSend.delete(e.id);
      lastDeliveryState.delete(e.id);
    } else {
      lastDeliveryState.set(e.id, e.state);
    }
  };
  const onExecution = (e: ExecutionEvent) => {
    const method = e.message.method;
    if (e.state === 'running') runningSince.set(e.id, e.time);
    else if (e.state === 'succeeded' || e.state === 'failed' || e.state === 'timedOut') {
      const since = runningSince.get(e.id);
      if (since !== undefined) metrics.methodRunTime.observe({ method, status: e.state }, (e.time - since) / 1000);
      runningSince.delete(e.id);
    } else if (e.state === 'replied' || e.state === 'interrupted') {
      runningSince.delete(e.id);
    }
    // Error reports of both generations (ErrorLog, REQErrorLog): the method table marks them.
    if (e.state === 'replied' && e.result?.status === 'succeeded' && methodInfo(method)?.errorReport === true)
      metrics.errorMessagesReceived.inc({ fromNode: e.message.fromNode });
  };
  // Told by the error kernel when it queues a report: a summary of many refusals is one ErrorLog.
  const onForwarded = (kind: FailureKind) => metrics.errorMessagesSent.inc({ kind });
  s.errors.forwardListeners.push(onForwarded);
  disposers.push(() => {
    const i = s.errors.forwardListeners.indexOf(onForwarded);
    if (i >= 0) s.errors.forwardListeners.splice(i, 1);
  });
  s.events.on('delivery', onDelivery);
  s.events.on('execution', onExecution);
  disposers.push(() => {
    s.events.off('delivery', onDelivery);
    s.events.off('execution', onExecution);
  });
  metrics.sampled.inflight = () => live.activeCount(ActorKind.Delivery);
  new client.Gauge({
    name: 'steward_executions_inflight',
    help: 'Execution actors in progress on this node (received, running or replying)',
    registers,
    collect() {
      this.set(live.activeCount(ActorKind.Execution));
    },
  });
}

/** From the journal: commit latency, open messages by state and method, file sizes, nodes seen by SayHello. */
function bindJournalSources(metrics: Metrics, src: MetricSources, registers: client.Registry[], disposers: (() => void)[]): void {
  const s = src.services;
  const journal = s.journal;
  const previousOnCommit = journal.onCommit;
  journal.onCommit = (ms, writes) => {
    previousOnCommit?.(ms, writes);
    metrics.journalCommit.observe(ms / 1000);
    metrics.journalWrites.inc(writes);
  };
  disposers.push(() => (journal.onCommit = previousOnCommit));

  // Counting by state reads the tables through a read-only connection of its own, opened for the
  // scrape only: it never blocks the writer (WAL), and never outlives the journal.
  const readAll = <T>(queries: string[]): T[][] => {
    const reader = new Database(journal.path, { readonly: true, fileMustExist: true });
    try {
      return queries.map((q) => reader.prepare(q).all() as T[]);
    } finally {
      reader.close();
    }
  };

  new client.Gauge({
    name: 'steward_db_messages_current',
    help: 'Messages in the outbox not yet delivered or expired',
    registers,
    collect() {
      this.set(journal.countOpenOutbox());
    },
  });
  new client.Gauge({
    name: 'steward_messages',
    help: 'Unfinished messages in the journal, by direction (out = outbox, in = inbox), state and method',
    labelNames: ['direction', 'state', 'method'],
    registers,
    collect() {
      this.reset();
      const count = (direction: string, rows: { subject: string; state: string; n: number }[]) => {
        const sums = new Map<string, { state: string; method: string; n: number }>();
        for (const r of rows) {
          const method = methodOfSubject(r.subject);
          const k = `${r.state}\0${method}`;
          const cur = sums.get(k) ?? { state: r.state, method, n: 0 };
          cur.n += r.n;
          sums.set(k, cur);
        }
        for (const v of sums.values()) this.set({ direction, state: v.state, method: v.method }, v.n);
      };
      // Both queries use the partial indexes on unfinished rows, so they stay cheap on a large journal.
      const [out, inb] = readAll<{ subject: string; state: string; n: number }>([
        `SELECT subject, state, COUNT(*) AS n FROM outbox WHERE state NOT IN ('delivered','expired','cancelled') GROUP BY subject, state`,
        `SELECT subject, state, COUNT(*) AS n FROM inbox WHERE state IN ('received','running') GROUP BY subject, state`,
      ]);
      count('out', out ?? []);
      count('in', inb ?? []);
    },
  });
  new client.Gauge({
    name: 'steward_journal_size_bytes',
    help: 'Size of the journal files: the SQLite database and its write-ahead log',
    labelNames: ['file'],
    registers,
    collect() {
      for (const [file, path] of [
        ['db', journal.path],
        ['wal', `${journal.path}-wal`],
      ] as const) {
        try {
          this.set({ file }, statSync(path).size);
        } catch {
          this.set({ file }, 0);
        }
      }
    },
  });
  new client.Gauge({
    name: 'steward_hello_nodes_total',
    help: 'Nodes that said hello to this (central) node since the journal was created',
    registers,
    collect() {
      this.set(journal.listNodes().length);
    },
  });
  new client.Gauge({
    name: 'steward_hello_node_contact_last',
    help: 'Unix time (seconds) of the last hello from each node',
    labelNames: ['nodeName'],
    registers,
    collect() {
      this.reset();
      for (const n of journal.listNodes()) this.set({ nodeName: n.name }, Math.floor(n.lastSeen / 1000));
    },
  });
}

/** From the actor tree: the processes running. */
function bindTreeSources(src: MetricSources, registers: client.Registry[]): void {
  new client.Gauge({
    name: 'steward_processes_total',
    help: 'Processes (supervised actors: publishers, subscribers, inputs...) running now',
    registers,
    collect() {
      this.set(listProcesses(src.root()).filter((p) => p.running).length);
    },
  });
  new client.Gauge({
    name: 'steward_processes_all_running',
    help: 'One series per process: 1 while it runs, 0 while it waits to be restarted',
    labelNames: ['processName'],
    registers,
    collect() {
      this.reset();
      for (const p of listProcesses(src.root())) this.set({ processName: p.path.replace(/^root\//, '') }, p.running ? 1 : 0);
    },
  });
}

/** From the broker connection: its state and traffic. */
function bindBrokerSources(metrics: Metrics, src: MetricSources, registers: client.Registry[], disposers: (() => void)[]): void {
  const s = src.services;
  const broker = s.broker;
  metrics.sampled.brokerConnected = () => broker.connected;
  const natsStat = (name: string, help: string, key: 'inMsgs' | 'outMsgs' | 'inBytes' | 'outBytes') => {
    let last = 0;
    new client.Counter({
      name,
      help,
      registers,
      collect() {
        const now = broker.current()?.stats()[key] ?? last;
        if (now > last) this.inc(now - last);
        last = now;
      },
    });
  };
  natsStat(
    'steward_nats_received_messages_total',
    'NATS messages received from the broker (all subjects, ACKs included; a frame counts once)',
    'inMsgs',
  );
  natsStat('steward_nats_sent_messages_total', 'NATS messages published to the broker (ACKs included; a frame counts once)', 'outMsgs');
  natsStat('steward_nats_received_bytes_total', 'Bytes received from the broker', 'inBytes');
  natsStat('steward_nats_sent_bytes_total', 'Bytes published to the broker', 'outBytes');
  let watching = true;
  disposers.push(() => (watching = false));
  void broker.ready().then(async (nc) => {
    for await (const st of nc.status()) {
      if (!watching) break;
      if (st.type === 'disconnect' || st.type === 'reconnect') metrics.brokerStatusChanges.inc({ event: st.type });
    }
  });
}
