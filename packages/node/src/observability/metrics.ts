/**
 * Prometheus metrics (prom-client) and the HTTP endpoint that serves them on
 * `--promHostAndPort` at `/metrics`.
 *
 * The names of the Go steward are kept where the meaning is the same
 * (`steward_processes_total`, `steward_nats_delivered_total`, ...), so its
 * dashboards keep working; the rest are new and prefixed `steward_` too.
 * Counters that the runtime bumps itself are fields here; the gauges and
 * histograms fed from the node's event stream, the journal and the broker
 * connection are bound in `metricsSources.ts`. Every series carries the
 * label `node`.
 */
import { createServer, type Server } from 'node:http';
import client from 'prom-client';
import { stewardVersion } from '../version.js';

/** Histogram buckets, in seconds. */
const ackBuckets = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300];
const runBuckets = [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600];
const commitBuckets = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5];

/** The node's metrics. */
export class Metrics {
  readonly registry = new client.Registry();

  // Sending side.
  /** Messages accepted into the outbox (Go: steward_user_messages_total). */
  readonly accepted;
  /** Deliveries that got their ACK (or were published, for NACK kinds). */
  readonly delivered;
  /** Deliveries whose retries were used up. */
  readonly expired;
  /** The Go name for expired ACK deliveries: no ACK after the last retry. */
  readonly failedAcks;
  /** Attempts whose ACK did not come in time. */
  readonly missedAcks;
  /** Resends (attempt 2 and later). */
  readonly retries;
  /** Seconds from the first send of a message to its ACK. */
  readonly ackRoundTrip;
  /** Delivery actors in progress; set from the event stream at each scrape (see metricsSources.ts). */
  readonly inflight;

  // Receiving side.
  /** Resends of messages already handled or in progress, not run again. */
  readonly duplicates;
  /** Received messages run, by outcome. */
  readonly executions;
  /** Seconds a method ran, by outcome. */
  readonly methodRunTime;
  /** ErrorLog messages received (central error logger). */
  readonly errorMessagesReceived;

  // Failures and supervision.
  /** Failures reported to the error kernel, by kind. */
  readonly failures;
  /** Failures sent to the central error logger as ErrorLog messages, by kind. */
  readonly errorMessagesSent;
  /** Restarts of supervised processes. */
  readonly restarts;
  /** Restart-intensity escalations. */
  readonly escalations;
  /** ACKs ignored: not the target's own signed answer (forged, unsigned, or from an unapproved key). */
  readonly acksIgnored;
  /** Received messages refused before anything ran, by code (unsigned, untrusted, badSignature, expired, acl, unsolicited). */
  readonly refused;

  // Journal and broker.
  /** Seconds per journal commit (one transaction, one fsync). */
  readonly journalCommit;
  /** Journal writes committed (several share one commit). */
  readonly journalWrites;
  /** 1 while connected to the broker. */
  readonly brokerConnected;

  // Local API.
  /** `steward watch` clients connected. */
  readonly watchers;
  /** Events not written to a `steward watch` client that did not keep up. */
  readonly watchDropped;
  /** Broker connection losses and recoveries. */
  readonly brokerStatusChanges;

  /** Values read when Prometheus scrapes, set by `bindMetricSources`; a gauge without one keeps what was set. */
  readonly sampled: { inflight?: () => number; brokerConnected?: () => boolean } = {};
  private server?: Server;
  private processMetrics = false;

  constructor(node: string) {
    this.registry.setDefaultLabels({ node });
    // The process metrics (CPU, memory, GC, event loop lag) are collected from the first listen() on: only the
    // endpoint reads them, and the event loop lag monitor wakes the process every 10 ms, also on a node without one.
    const registers = [this.registry];
    const counter = (name: string, help: string, labelNames: string[] = []) => new client.Counter({ name, help, labelNames, registers });

    this.accepted = counter(
      'steward_user_messages_total',
      'Messages accepted into the outbox (inputs, replies, errors, hellos), by method',
      ['method'],
    );
    this.delivered = counter('steward_nats_delivered_total', 'Messages delivered: ACKed, or published for NACK kinds, by method', [
      'method',
    ]);
    this.expired = counter('steward_messages_expired_total', 'Messages whose retries were used up without an ACK, by method', ['method']);
    this.failedAcks = counter(
      'steward_nats_messages_failed_acks_total',
      'Messages given up after the last retry got no ACK (the Go name; equals steward_messages_expired_total), by method',
      ['method'],
    );
    this.missedAcks = counter('steward_nats_messages_missed_acks_total', 'Attempts whose ACK did not come within the timeout, by method', [
      'method',
    ]);
    this.retries = counter('steward_message_retries_total', 'Resends of a message (attempt 2 and later), by method', ['method']);
    this.ackRoundTrip = new client.Histogram({
      name: 'steward_ack_round_trip_seconds',
      help: 'Seconds from the first send of a message to its ACK, retries included, by method',
      labelNames: ['method'],
      buckets: ackBuckets,
      registers,
    });
    const sampled = this.sampled;
    this.inflight = new client.Gauge({
      name: 'steward_messages_inflight',
      help: 'Delivery actors in progress on this node',
      registers,
      collect() {
        const n = sampled.inflight?.();
        if (n !== undefined) this.set(n);
      },
    });

    this.duplicates = counter(
      'steward_duplicates_suppressed_total',
      'Received resends of messages already handled or running, answered without running them again, by method',
      ['method'],
    );
    this.executions = counter('steward_executions_total', 'Received messages run, by method and outcome', ['method', 'status']);
    this.methodRunTime = new client.Histogram({
      name: 'steward_method_run_seconds',
      help: 'Seconds a method ran (running to succeeded, failed or timedOut), by method and outcome',
      labelNames: ['method', 'status'],
      buckets: runBuckets,
      registers,
    });
    this.errorMessagesReceived = counter(
      'steward_error_messages_received_total',
      'ErrorLog messages received and written to the error log (central error logger), by sending node',
      ['fromNode'],
    );

    this.failures = counter('steward_failures_total', 'Failures reported to the error kernel, by kind', ['kind']);
    this.errorMessagesSent = counter(
      'steward_error_messages_sent_total',
      'Failures queued as ErrorLog messages to the central error logger, by kind',
      ['kind'],
    );
    this.restarts = counter('steward_actor_restarts_total', 'Restarts of supervised processes, by process', ['process']);
    this.escalations = counter('steward_actor_escalations_total', 'Restart-intensity escalations, by process', ['process']);
    this.acksIgnored = counter(
      'steward_acks_ignored_total',
      "ACKs ignored because they are not the target's own signed answer, by reason (unsigned, untrusted, badSignature, wrongNode)",
      ['reason'],
    );
    this.refused = counter(
      'steward_messages_refused_total',
      'Received messages refused before anything ran, by code (unsigned, untrusted, badSignature, expired, acl, unsolicited)',
      ['code'],
    );

    this.journalCommit = new client.Histogram({
      name: 'steward_journal_commit_seconds',
      help: 'Seconds per journal commit (one SQLite transaction and fsync for a batch of writes)',
      buckets: commitBuckets,
      registers,
    });
    this.journalWrites = counter('steward_journal_writes_total', 'Journal writes committed');
    this.brokerConnected = new client.Gauge({
      name: 'steward_nats_connected',
      help: '1 while connected to the NATS broker, else 0',
      registers,
      collect() {
        const up = sampled.brokerConnected?.();
        if (up !== undefined) this.set(up ? 1 : 0);
      },
    });
    this.brokerStatusChanges = counter('steward_nats_connection_events_total', 'Broker connection events: disconnect, reconnect', [
      'event',
    ]);

    this.watchers = new client.Gauge({ name: 'steward_watchers', help: 'steward watch clients connected', registers });
    this.watchDropped = counter(
      'steward_watch_events_dropped_total',
      'Events dropped for steward watch clients that did not keep up (each is told how many with a "dropped" line)',
    );

    new client.Gauge({
      name: 'steward_build_version',
      help: 'Always 1; the label says which steward version runs',
      labelNames: ['version'],
      registers,
    }).set({ version: stewardVersion }, 1);
  }

  /**
   * Serves `/metrics` on `host:port` (an empty host means all interfaces);
   * resolves once listening, rejects when the address cannot be bound.
   */
  listen(hostAndPort: string): Promise<void> {
    if (!this.processMetrics) {
      client.collectDefaultMetrics({ register: this.registry });
      this.processMetrics = true;
    }
    const i = hostAndPort.lastIndexOf(':');
    const host = hostAndPort.slice(0, i) || '0.0.0.0';
    const port = Number(hostAndPort.slice(i + 1));
    const server = createServer((req, res) => {
      const path = (req.url ?? '/').split('?')[0];
      if (req.method !== 'GET' && req.method !== 'HEAD') {
        res.writeHead(405, { allow: 'GET, HEAD' }).end();
        return;
      }
      if (path !== '/metrics') {
        res.writeHead(404, { 'content-type': 'text/plain' }).end('steward: metrics are at /metrics\n');
        return;
      }
      this.registry.metrics().then(
        (body) => res.writeHead(200, { 'content-type': this.registry.contentType }).end(body),
        (err: unknown) => res.writeHead(500, { 'content-type': 'text/plain' }).end(`steward: collecting metrics failed: ${String(err)}\n`),
      );
    });
    this.server = server;
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host.replace(/^\[(.*)\]$/, '$1'), () => {
        server.off('error', reject);
        resolve();
      });
    });
  }

  /** Stops serving. */
  close(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    return new Promise((r) => (server ? server.close(() => r()) : r()));
  }
}
