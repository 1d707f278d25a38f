/**
 * Prometheus metrics (prom-client) and the HTTP endpoint that serves them on
 * `--promHostAndPort` at `/metrics`.
 */
import { createServer, type Server } from 'node:http';
import client from 'prom-client';

/** The node's metrics. */
export class Metrics {
  readonly registry = new client.Registry();
  readonly accepted;
  readonly delivered;
  readonly expired;
  readonly retries;
  readonly duplicates;
  readonly executions;
  readonly failures;
  readonly restarts;
  readonly escalations;
  readonly inflight;
  readonly brokerConnected;
  private server?: Server;

  constructor(node: string) {
    this.registry.setDefaultLabels({ node });
    client.collectDefaultMetrics({ register: this.registry });
    const r = [this.registry];
    this.accepted = new client.Counter({
      name: 'steward_user_messages_total',
      help: 'Messages accepted into the outbox, by method',
      labelNames: ['method'],
      registers: r,
    });
    this.delivered = new client.Counter({
      name: 'steward_nats_delivered_total',
      help: 'Messages delivered (ACKed, or published for NACK kinds), by method',
      labelNames: ['method'],
      registers: r,
    });
    this.expired = new client.Counter({
      name: 'steward_messages_expired_total',
      help: 'Messages whose retries were used up without an ACK, by method',
      labelNames: ['method'],
      registers: r,
    });
    this.retries = new client.Counter({
      name: 'steward_nats_messages_missed_acks_total',
      help: 'Resends after an ACK timeout or publish error, by method',
      labelNames: ['method'],
      registers: r,
    });
    this.duplicates = new client.Counter({
      name: 'steward_duplicates_suppressed_total',
      help: 'Received resends of messages already handled, answered from the journal',
      labelNames: ['method'],
      registers: r,
    });
    this.executions = new client.Counter({
      name: 'steward_executions_total',
      help: 'Received messages run, by method and outcome',
      labelNames: ['method', 'status'],
      registers: r,
    });
    this.failures = new client.Counter({
      name: 'steward_error_messages_sent_total',
      help: 'Failures reported to the error kernel, by kind',
      labelNames: ['kind'],
      registers: r,
    });
    this.restarts = new client.Counter({
      name: 'steward_actor_restarts_total',
      help: 'Restarts of supervised processes, by process',
      labelNames: ['process'],
      registers: r,
    });
    this.escalations = new client.Counter({
      name: 'steward_actor_escalations_total',
      help: 'Restart-intensity escalations, by process',
      labelNames: ['process'],
      registers: r,
    });
    this.inflight = new client.Gauge({ name: 'steward_messages_inflight', help: 'Deliveries in progress', registers: r });
    this.brokerConnected = new client.Gauge({ name: 'steward_nats_connected', help: '1 while connected to the broker', registers: r });
  }

  /** Serves `/metrics` on `host:port`; resolves once listening. */
  listen(hostAndPort: string): Promise<void> {
    const i = hostAndPort.lastIndexOf(':');
    const host = hostAndPort.slice(0, i) || '0.0.0.0';
    const port = Number(hostAndPort.slice(i + 1));
    this.server = createServer((req, res) => {
      if (req.url !== '/metrics') {
        res.writeHead(404).end('see /metrics\n');
        return;
      }
      this.registry.metrics().then(
        (body) => res.writeHead(200, { 'content-type': this.registry.contentType }).end(body),
        (err: unknown) => res.writeHead(500).end(String(err)),
      );
    });
    return new Promise((resolve, reject) => {
      this.server!.once('error', reject);
      this.server!.listen(port, host, () => resolve());
    });
  }

  /** Stops serving. */
  close(): Promise<void> {
    return new Promise((r) => (this.server ? this.server.close(() => r()) : r()));
  }
}
