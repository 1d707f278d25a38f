/**
 * End-to-end delivery guarantees: order on one subject, delivery to a node
 * that comes online late, expiry when it never does, and a broker that dies
 * (SIGKILL) mid-stream. Real nats-server, real nodes, real journals.
 */
import assert from 'node:assert/strict';
import { appendFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';

import Database from 'better-sqlite3';

import {
  cleanupHarness,
  makeTempDir,
  readFileOr,
  readLines,
  readNatsInfo,
  startNatsServer,
  startNode,
  tailLines,
  waitFor,
  type NatsServerHandle,
  type NodeHandle,
  assertSequence,
  range,
} from './helpers/index.js';

/** One numbered TextLogging message as an inmsg.txt entry. */
function numbered(toNode: string, n: number, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { toNode, method: 'TextLogging', commandOrEvent: 'EventACK', data: [`${n}\n`], ...extra };
}

/** Counts the numbered lines that have arrived; used to wait for the stream. */
function countLines(file: string): number {
  return readLines(file).length;
}

interface OutboxRow {
  id: string;
  subject: string;
  state: string;
  attempts: number;
  message: string;
  reply: string | null;
  last_error: string | null;
}

/** Outbox rows of a node on one subject, read-only, oldest first. */
function outbox(node: NodeHandle, subject: string): OutboxRow[] {
  const db = new Database(join(node.folder, 'state', 'journal.db'), { readonly: true, fileMustExist: true });
  try {
    return db
      .prepare('SELECT id, subject, state, attempts, message, reply, last_error FROM outbox WHERE subject = ? ORDER BY seq')
      .all(subject) as OutboxRow[];
  } finally {
    db.close();
  }
}

describe('delivery', () => {
  let nats: NatsServerHandle;
  let root: string;
  let central: NodeHandle;
  let ship1: NodeHandle;
  /** ship1's TextLogging file from central. */
  let received: string;

  before(async () => {
    nats = await startNatsServer();
    root = await makeTempDir('steward-delivery-');
    [central, ship1] = await Promise.all([
      startNode({ name: 'central', folder: join(root, 'central'), brokerHostPort: nats.hostPort, args: ['--centralErrorLogger'] }),
      startNode({ name: 'ship1', folder: join(root, 'ship1'), brokerHostPort: nats.hostPort }),
    ]);
    received = ship1.dataFile('central', 'ship1.EventACK.TextLogging.log');
  });

  after(cleanupHarness);

  it('keeps the order of 150 events written to inmsg.txt at once', { timeout: 90_000 }, async () => {
    const expected = range(1, 150);
    await central.inmsg(JSON.stringify(expected.map((n) => numbered('ship1', n))) + '\n');

    await waitFor(() => countLines(received) >= 150, {
      timeoutMs: 75_000,
      message: () => `ship1 has ${countLines(received)} of 150 lines; central log:\n${tailLines(central.log(), 15)}`,
    });
    assertSequence(readLines(received), expected, 'ship1 file after 150 events');
    assert.equal(readFileOr(join(central.folder, 'inmsg.rejected.txt')), '', 'central rejected none of the entries');
  });

  it('keeps per-subject order when two writers interleave their appends', { timeout: 90_000 }, async () => {
    const base = countLines(received);
    const inmsg = join(central.folder, 'inmsg.txt');
    // Two writers, each appending its 50 entries one write at a time, concurrently.
    const writer = async (numbers: number[]): Promise<void> => {
      for (const n of numbers) await appendFile(inmsg, JSON.stringify(numbered('ship1', n)) + '\n');
    };
    await Promise.all([writer(range(1001, 1050)), writer(range(2001, 2050))]);

    await waitFor(() => countLines(received) - base >= 100, {
      timeoutMs: 75_000,
      message: () => `ship1 has ${countLines(received) - base} of 100 new lines; central log:\n${tailLines(central.log(), 15)}`,
    });
    const lines = readLines(received).slice(base);
    assert.equal(lines.length, 100, `exactly 100 new lines:\n${lines.join(' ')}`);
    // Each writer's own entries arrive in the order it wrote them, all once.
    assertSequence(
      lines.filter((l) => l.startsWith('1')),
      range(1001, 1050),
      'first writer',
    );
    assertSequence(
      lines.filter((l) => l.startsWith('2')),
      range(2001, 2050),
      'second writer',
    );
  });

  it('delivers to a node that comes online after resends started, in order and once', { timeout: 90_000 }, async () => {
    const logBefore = central.log().length;
    const expected = range(1, 20);
    await central.inmsg(JSON.stringify(expected.map((n) => numbered('ship2', n, { timeout: 1, retries: -1 }))) + '\n');

    // A few resends of the first message to the offline node.
    await waitFor(
      () =>
        (central
          .log()
          .slice(logBefore)
          .match(/resending \(attempt \d+\).*subject=ship2\./g)?.length ?? 0) >= 2,
      {
        timeoutMs: 30_000,
        message: () => `central did not resend to the offline ship2; central log:\n${tailLines(central.log(), 15)}`,
      },
    );
    assert.equal(
      outbox(central, 'ship2.EventACK.TextLogging').filter((r) => r.state === 'delivered').length,
      0,
      'nothing delivered while ship2 is down',
    );

    const ship2 = await startNode({ name: 'ship2', folder: join(root, 'ship2'), brokerHostPort: nats.hostPort });
    const file = ship2.dataFile('central', 'ship2.EventACK.TextLogging.log');
    await waitFor(() => countLines(file) >= 20 && outbox(central, 'ship2.EventACK.TextLogging').every((r) => r.state === 'delivered'), {
      timeoutMs: 60_000,
      message: () => `ship2 has ${countLines(file)} of 20 lines; central log:\n${tailLines(central.log(), 15)}`,
    });
    assertSequence(readLines(file), expected, 'ship2 file');
    const rows = outbox(central, 'ship2.EventACK.TextLogging');
    assert.equal(rows.length, 20);
    assert.ok(rows[0]!.attempts >= 3, `the first message was resent while ship2 was down (attempts ${rows[0]!.attempts})`);
  });

  it('expires a message to a node that never comes up and reports it', { timeout: 60_000 }, async () => {
    const subject = 'ghost.EventACK.TextLogging';
    await central.inmsg(JSON.stringify([numbered('ghost', 1, { timeout: 1, retries: 1 })]) + '\n');

    const row = await waitFor(() => outbox(central, subject).find((r) => r.state === 'expired'), {
      timeoutMs: 30_000,
      message: () => `no expired message to ghost in central's journal: ${JSON.stringify(outbox(central, subject))}`,
    });
    assert.equal(row.attempts, 2, 'first try plus one retry');
    assert.equal(outbox(central, subject).length, 1);

    const audit = readLines(join(central.folder, 'state', 'audit.log')).map((l) => JSON.parse(l) as Record<string, unknown>);
    const expired = audit.filter((e) => e['event'] === 'expired' && e['id'] === row.id);
    assert.equal(expired.length, 1, `one expired audit line for ${row.id}`);
    assert.equal(expired[0]!['subject'], subject);
    assert.equal(expired[0]!['attempts'], 2);
    assert.ok(!audit.some((e) => e['event'] === 'delivered' && e['id'] === row.id), 'never audited as delivered');

    const errorLog = join(central.folder, 'data', 'errorLog.log');
    const line = await waitFor(() => readLines(errorLog).find((l) => l.includes('deliveryExpired') && l.includes(row.id)), {
      timeoutMs: 30_000,
      message: () => `no deliveryExpired line for ${row.id} in ${errorLog}:\n${readFileOr(errorLog)}`,
    });
    assert.match(line, /^\S+Z central: deliveryExpired: delivery to ghost expired after 2 attempt\(s\)/);
    assert.ok(line.includes(`subject=${subject}`), line);
  });

  it('uses up the retries of one message at a time for a node that is down, as stop-and-wait did', { timeout: 60_000 }, async () => {
    // Pipelined delivery sends a window at once; with nobody listening the window closes to the oldest message.
    const subject = 'ghost2.EventACK.TextLogging';
    await central.inmsg(JSON.stringify([1, 2, 3].map((n) => numbered('ghost2', n, { timeout: 2, retries: 1 }))) + '\n');
    const rows = await waitFor(
      () => {
        const r = outbox(central, subject);
        return r.length === 3 && r[0]!.state === 'expired' ? r : undefined;
      },
      { timeoutMs: 30_000, message: () => `the first message to ghost2 did not expire: ${JSON.stringify(outbox(central, subject))}` },
    );
    // The second is the probe now (its first send, not counted before, may be under way); the third was never counted.
    assert.equal(rows[2]!.state, 'queued', `third message: ${JSON.stringify(rows[2])}`);
    assert.equal(rows[2]!.attempts, 0, 'the third message has used none of its tries');
    const done = await waitFor(
      () => {
        const r = outbox(central, subject);
        return r.every((x) => x.state === 'expired') ? r : undefined;
      },
      { timeoutMs: 45_000, message: () => `not all messages to ghost2 expired: ${JSON.stringify(outbox(central, subject))}` },
    );
    assert.deepEqual(
      done.map((r) => r.attempts),
      [2, 2, 2],
      'each expired after its own first try plus one retry',
    );
  });

  it('delivers every message once and in order across a broker SIGKILL and restart', { timeout: 90_000 }, async () => {
    const base = countLines(received);
    const expected = range(5001, 5200);
    // The first half is on its way when the broker dies; the second is handed to central while it is down.
    await central.inmsg(JSON.stringify(expected.slice(0, 100).map((n) => numbered('ship1', n, { timeout: 1, retries: -1 }))) + '\n');

    await waitFor(() => countLines(received) - base >= 30, {
      timeoutMs: 45_000,
      intervalMs: 10,
      message: () => `ship1 has ${countLines(received) - base} of 30 lines before the broker kill`,
    });
    await nats.kill9();
    const killedAt = countLines(received) - base;
    await waitFor(async () => (await readNatsInfo(nats.port, '127.0.0.1', 500)) === undefined, {
      timeoutMs: 10_000,
      message: `nats-server still answers on ${nats.port} after SIGKILL`,
    });
    await waitFor(() => /disconnected from broker/.test(central.log()) && /disconnected from broker/.test(ship1.log()), {
      timeoutMs: 15_000,
      message: () => `the nodes did not notice the broker was gone:\n${tailLines(central.log(), 10)}\n${tailLines(ship1.log(), 10)}`,
    });
    await central.inmsg(JSON.stringify(expected.slice(100).map((n) => numbered('ship1', n, { timeout: 1, retries: -1 }))) + '\n');
    await nats.restart();

    const allDelivered = (): boolean => outbox(central, 'ship1.EventACK.TextLogging').every((r) => r.state === 'delivered');
    const reconnected = (): boolean => [central, ship1].every((node) => /reconnected to broker/.test(node.log()));
    await waitFor(() => countLines(received) - base >= 200 && allDelivered() && reconnected(), {
      timeoutMs: 60_000,
      message: () =>
        `ship1 has ${countLines(received) - base} of 200 lines (${killedAt} at the kill); ` +
        `central log:\n${tailLines(central.log(), 15)}\nship1 log:\n${tailLines(ship1.log(), 10)}`,
    });
    assert.ok(killedAt < 200, `the broker was killed mid-stream (${killedAt} lines had arrived)`);
    for (const node of [central, ship1]) {
      assert.match(node.log(), /reconnected to broker/, `${node.name} logged its reconnection`);
    }
    assertSequence(readLines(received).slice(base), expected, 'ship1 file across the broker restart');
  });
});
