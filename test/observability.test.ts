/**
 * Metrics and logs an operator reads, checked after real traffic between
 * real nodes: `central` (the central error logger) and `ship1`, each with
 * its Prometheus endpoint on a free port, scraped over HTTP the way
 * Prometheus does. Also the JSON log format (`--logFormat json`): every line
 * is one JSON object, and lines about a message name its id, subject and node.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';

import { stewardVersion } from '../packages/node/src/version.js';
import {
  cleanupHarness,
  freePort,
  makeTempDir,
  readLines,
  startNatsServer,
  startNode,
  tailLines,
  waitFor,
  type NatsServerHandle,
  type NodeHandle,
} from './helpers/index.js';

after(cleanupHarness);

/** One sample of the Prometheus text format. */
interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** Parses the Prometheus text exposition format (what `/metrics` serves). */
function parseMetrics(text: string): Sample[] {
  const out: Sample[] = [];
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)$/.exec(line);
    if (!m) continue;
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]!] = l[2]!;
    out.push({ name: m[1]!, labels, value: Number(m[3]) });
  }
  return out;
}

/** A node's metrics endpoint. */
class Scraper {
  constructor(readonly url: string) {}

  async samples(): Promise<Sample[]> {
    const res = await fetch(this.url);
    assert.equal(res.status, 200, `GET ${this.url}`);
    assert.match(res.headers.get('content-type') ?? '', /^text\/plain/);
    return parseMetrics(await res.text());
  }

  /** The sum of the series of `name` whose labels include `labels`. */
  async value(name: string, labels: Record<string, string> = {}): Promise<number> {
    return sum(await this.samples(), name, labels);
  }
}

function sum(samples: Sample[], name: string, labels: Record<string, string> = {}): number {
  return samples
    .filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))
    .reduce((a, s) => a + s.value, 0);
}

function textLogging(toNode: string, text: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { toNode, method: 'TextLogging', commandOrEvent: 'EventACK', data: [`${text}\n`], ...extra };
}

function cliCommand(toNode: string, script: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { toNode, method: 'CLICommand', commandOrEvent: 'CommandACK', data: ['bash', '-c', script], ...extra };
}

describe('observability', () => {
  let nats: NatsServerHandle;
  let central: NodeHandle;
  let ship1: NodeHandle;
  let centralMetrics: Scraper;
  let ship1Metrics: Scraper;

  before(async () => {
    nats = await startNatsServer();
    const root = await makeTempDir('steward-observability-');
    const [centralPort, shipPort] = [await freePort(), await freePort()];
    [central, ship1] = await Promise.all([
      startNode({
        name: 'central',
        folder: join(root, 'central'),
        brokerHostPort: nats.hostPort,
        args: ['--centralErrorLogger', '--promHostAndPort', `127.0.0.1:${centralPort}`],
      }),
      startNode({
        name: 'ship1',
        folder: join(root, 'ship1'),
        brokerHostPort: nats.hostPort,
        args: ['--promHostAndPort', `127.0.0.1:${shipPort}`, '--logFormat', 'json'],
      }),
    ]);
    centralMetrics = new Scraper(`http://127.0.0.1:${centralPort}/metrics`);
    ship1Metrics = new Scraper(`http://127.0.0.1:${shipPort}/metrics`);
  });

  it('serves the build version, the broker state and the default process metrics', { timeout: 60_000 }, async () => {
    const samples = await waitFor(
      async () => {
        const s = await centralMetrics.samples();
        return sum(s, 'steward_nats_connected') === 1 && s;
      },
      { timeoutMs: 30_000, message: 'central never reported steward_nats_connected 1' },
    );
    assert.equal(sum(samples, 'steward_build_version', { version: stewardVersion, node: 'central' }), 1);
    assert.ok(sum(samples, 'process_resident_memory_bytes') > 0, 'default process metrics');
    assert.ok(
      samples.some((s) => s.name === 'nodejs_eventloop_lag_seconds'),
      'default Node.js metrics',
    );
    assert.equal(sum(samples, 'steward_processes_all_running', { processName: 'inputs/inmsgFile' }), 1);
    assert.equal(sum(samples, 'steward_processes_all_running', { processName: 'subscribers/TextLogging' }), 1);
    assert.ok(sum(samples, 'steward_processes_total') >= 5, 'processes running');
    assert.ok(sum(samples, 'steward_journal_size_bytes', { file: 'db' }) > 0, 'journal size');
    // Anything else is a 404 that says where the metrics are.
    const other = await fetch(centralMetrics.url.replace('/metrics', '/'));
    assert.equal(other.status, 404);
  });

  it('counts deliveries, executions by outcome and ACK round trips after real traffic', { timeout: 90_000 }, async () => {
    await central.inmsg(
      JSON.stringify([
        textLogging('ship1', 'one'),
        textLogging('ship1', 'two'),
        textLogging('ship1', 'three'),
        cliCommand('ship1', 'echo fine'),
        cliCommand('ship1', 'echo broken >&2; exit 3'),
      ]) + '\n',
    );
    await waitFor(async () => (await centralMetrics.value('steward_nats_delivered_total', { node: 'central' })) >= 5, {
      timeoutMs: 60_000,
      message: () => `central did not deliver the 5 messages; central log:\n${tailLines(central.log(), 15)}`,
    });
    const c = await centralMetrics.samples();
    assert.equal(sum(c, 'steward_nats_delivered_total', { method: 'TextLogging' }), 3);
    assert.equal(sum(c, 'steward_nats_delivered_total', { method: 'CLICommand' }), 2);
    assert.equal(sum(c, 'steward_user_messages_total', { method: 'TextLogging' }), 3);
    assert.equal(sum(c, 'steward_ack_round_trip_seconds_count', { method: 'TextLogging' }), 3);
    assert.equal(sum(c, 'steward_ack_round_trip_seconds_count', { method: 'CLICommand' }), 2);
    assert.ok(sum(c, 'steward_ack_round_trip_seconds_sum', { method: 'CLICommand' }) > 0);
    assert.equal(sum(c, 'steward_messages_expired_total'), 0);
    assert.ok(sum(c, 'steward_journal_commit_seconds_count') > 0, 'journal commits timed');
    assert.ok(sum(c, 'steward_journal_writes_total') >= sum(c, 'steward_journal_commit_seconds_count'));
    // Broker messages, not steward messages: with frames, the messages of one subject that are ready
    // together share one NATS message, so 5 messages on 2 subjects are at least 2 publishes.
    assert.ok(sum(c, 'steward_nats_sent_messages_total') >= 2, 'broker publishes counted');
    assert.ok(sum(c, 'steward_nats_sent_bytes_total') > 0, 'broker bytes counted');

    const s = await waitFor(
      async () => {
        const all = await ship1Metrics.samples();
        return sum(all, 'steward_executions_total') >= 5 && all;
      },
      { timeoutMs: 30_000, message: 'ship1 did not count 5 executions' },
    );
    assert.equal(sum(s, 'steward_executions_total', { method: 'TextLogging', status: 'succeeded' }), 3);
    assert.equal(sum(s, 'steward_executions_total', { method: 'CLICommand', status: 'succeeded' }), 1);
    assert.equal(sum(s, 'steward_executions_total', { method: 'CLICommand', status: 'failed' }), 1);
    assert.equal(sum(s, 'steward_method_run_seconds_count', { method: 'CLICommand' }), 2);
    assert.equal(sum(s, 'steward_method_run_seconds_count', { method: 'TextLogging', status: 'succeeded' }), 3);
    assert.equal(sum(s, 'steward_duplicates_suppressed_total'), 0);
    assert.equal(sum(s, 'steward_executions_inflight'), 0);
  });

  it('counts a resend answered without running again as a duplicate suppressed', { timeout: 90_000 }, async () => {
    const before = await ship1Metrics.samples();
    // The command outlives the 1 s ACK timeout, so central resends while ship1 runs it.
    await central.inmsg(JSON.stringify([cliCommand('ship1', 'sleep 3; echo slow', { timeout: 1, retries: 8 })]) + '\n');
    await waitFor(
      async () =>
        (await centralMetrics.value('steward_nats_delivered_total', { method: 'CLICommand' })) >= 3 &&
        (await ship1Metrics.value('steward_executions_total', { method: 'CLICommand' })) >= 3,
      { timeoutMs: 60_000, message: () => `the slow command was not delivered; central log:\n${tailLines(central.log(), 15)}` },
    );
    const after = await ship1Metrics.samples();
    assert.ok(
      sum(after, 'steward_duplicates_suppressed_total', { method: 'CLICommand' }) >= 1,
      'ship1 answered at least one resend without running the command again',
    );
    // Run once, however many resends came.
    assert.equal(
      sum(after, 'steward_executions_total', { method: 'CLICommand', status: 'succeeded' }) -
        sum(before, 'steward_executions_total', { method: 'CLICommand', status: 'succeeded' }),
      1,
    );
    const c = await centralMetrics.samples();
    assert.ok(sum(c, 'steward_nats_messages_missed_acks_total', { method: 'CLICommand' }) >= 1, 'missed ACKs counted');
    assert.ok(sum(c, 'steward_message_retries_total', { method: 'CLICommand' }) >= 1, 'resends counted');
    // The round trip of that message counts from its first send: at least the 3 s it ran.
    const buckets = c.filter((x) => x.name === 'steward_ack_round_trip_seconds_bucket' && x.labels.method === 'CLICommand');
    const under = (le: string) => buckets.find((b) => b.labels.le === le)?.value ?? 0;
    assert.equal(under('+Inf') - under('2.5'), 1, 'one CLICommand ACK took longer than 2.5 s');
  });

  it('counts expired deliveries, open messages by state and the ErrorLogs they cause', { timeout: 90_000 }, async () => {
    await central.inmsg(
      JSON.stringify([
        textLogging('nowhere', 'lost', { timeout: 1, retries: 1 }),
        textLogging('faraway', 'waiting', { timeout: 1, retries: 1000 }),
      ]) + '\n',
    );
    await waitFor(async () => (await centralMetrics.value('steward_messages_expired_total', { method: 'TextLogging' })) === 1, {
      timeoutMs: 45_000,
      message: () => `the delivery to "nowhere" did not expire; central log:\n${tailLines(central.log(), 15)}`,
    });
    const c = await waitFor(
      async () => {
        const all = await centralMetrics.samples();
        return sum(all, 'steward_error_messages_received_total', { fromNode: 'central' }) >= 1 && all;
      },
      { timeoutMs: 45_000, message: () => `central did not log its own ErrorLog; central log:\n${tailLines(central.log(), 15)}` },
    );
    assert.equal(sum(c, 'steward_nats_messages_failed_acks_total', { method: 'TextLogging' }), 1);
    assert.equal(sum(c, 'steward_error_messages_sent_total', { kind: 'deliveryExpired' }), 1);
    assert.equal(sum(c, 'steward_failures_total', { kind: 'deliveryExpired' }), 1);
    assert.ok(sum(c, 'steward_nats_messages_missed_acks_total', { method: 'TextLogging' }) >= 2, 'both attempts missed their ACK');
    // The message to "faraway" keeps retrying: it is open in the journal and in flight (once the ErrorLog's ACK is in).
    const open = await waitFor(
      async () => {
        const all = await centralMetrics.samples();
        return sum(all, 'steward_db_messages_current') === 1 && sum(all, 'steward_messages_inflight') === 1 && all;
      },
      { timeoutMs: 30_000, message: 'central did not settle on one open message' },
    );
    assert.equal(sum(open, 'steward_messages', { direction: 'out', method: 'TextLogging' }), 1);
    assert.ok(
      open.some(
        (x) => x.name === 'steward_messages' && ['sending', 'awaitingAck', 'retryWait'].includes(x.labels.state ?? '') && x.value === 1,
      ),
      'the open message is counted under its delivery state',
    );
  });

  it('writes JSON log lines that name the id, subject and node of each message', { timeout: 30_000 }, async () => {
    const lines = readLines(ship1.logFile).filter((l) => l.startsWith('{'));
    assert.ok(lines.length > 10, `ship1 wrote JSON lines:\n${tailLines(ship1.log(), 10)}`);
    const records = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    for (const r of records) {
      assert.equal(r.node, 'ship1');
      assert.equal(typeof r.time, 'string');
      assert.ok(['info', 'warn', 'error', 'debug'].includes(r.level as string), JSON.stringify(r));
      assert.equal(typeof r.message, 'string');
    }
    assert.ok(
      records.some((r) => r.message === 'node ship1 ready'),
      'the ready line keeps its words',
    );
    const about = records.filter((r) => r.id !== undefined);
    assert.ok(about.length >= 5, 'lines about messages');
    for (const r of about) assert.match(String(r.subject), /^[\w-]+\.\w+\.\w+$/, JSON.stringify(r));
    assert.ok(records.some((r) => r.message === 'duplicate answered from the journal, not run again' || /resend/.test(String(r.message))));
    // Text lines (central) name the node on every line about a message.
    const textLines = central
      .log()
      .split('\n')
      .filter((l) => / id=\S+/.test(l));
    assert.ok(textLines.length > 5);
    for (const l of textLines) assert.match(l, / subject=\S+.* node=central/, l);
  });
});
