/**
 * Expiry by age (issue 14 item 6), end to end with real nodes: the `ttl`
 * message field (inmsg.txt) and `steward send --ttl` become the wire field
 * `deadline` at acceptance. A message still queued when its deadline passes
 * is expired with "deadline passed" and never runs, even when its node comes
 * back; one within its ttl is delivered; a message that arrives after its
 * deadline is refused by the receiver.
 */
import assert from 'node:assert/strict';

import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';

import { connect, type NatsConnection } from '@nats-io/transport-node';

import {
  cleanupHarness,
  freePort,
  makeTempDir,
  outboxRows,
  startNatsServer,
  startNode,
  waitFor,
  type NatsServerHandle,
  type NodeHandle,
  runSteward as steward,
  showRun as show,
} from './helpers/index.js';

after(cleanupHarness);

interface Msg {
  toNode: string;
  data: string[];
  createdAt: number;
  ttl?: number;
  deadline?: number;
}

describe('expiry by age: ttl and deadline', { timeout: 300_000 }, () => {
  const tag = randomUUID().slice(0, 6);
  const centralName = `ttlc${tag}`;
  const shipName = `ttls${tag}`;
  // Both checks off: these tests are about the deadline alone (signed messages carry it the same way).
  const checksOff = ['--enableSignatureCheck', 'false', '--enableAclCheck', 'false'];
  let server: NatsServerHandle;
  let central: NodeHandle;
  let ship: NodeHandle | undefined;
  let dir: string;
  let metricsPort: number;

  before(async () => {
    server = await startNatsServer();
    dir = await makeTempDir('steward-ttl-');
    metricsPort = await freePort();
    central = await startNode({
      name: centralName,
      folder: join(dir, centralName),
      brokerHostPort: server.hostPort,
      args: [...checksOff, '--centralNodeName', centralName, '--promHostAndPort', `127.0.0.1:${metricsPort}`],
    });
  });

  const startShip = async () =>
    (ship ??= await startNode({
      name: shipName,
      folder: join(dir, shipName),
      brokerHostPort: server.hostPort,
      args: [...checksOff, '--centralNodeName', centralName],
    }));

  it('a message with a 3 s ttl to an offline node is expired ("deadline passed") and never runs when the node starts 6 s later', async () => {
    const early = join(dir, 'early-ran');
    const sentAt = Date.now();
    // The message field, from inmsg.txt; retries -1 would otherwise resend it for ever.
    await central.inmsg(
      JSON.stringify([
        { toNode: shipName, method: 'CLICommand', commandOrEvent: 'CommandACK', data: ['touch', early], ttl: 3, timeout: 1, retries: -1 },
      ]) + '\n',
    );
    const row = await waitFor(() => outboxRows<Msg, unknown>(central).find((r) => r.message.toNode === shipName), {
      timeoutMs: 60_000,
      message: 'the message is accepted',
    });
    assert.equal(row.message.ttl, 3);
    assert.equal(row.message.deadline, row.message.createdAt + 3000, 'deadline = accepted + ttl');

    // The operator's view: status says expired, with the reason.
    const status = await waitFor(
      async () => {
        const r = await steward(['status', row.id], central.folder);
        return /state: +expired/.test(r.stdout) && r;
      },
      { timeoutMs: 60_000, intervalMs: 500, message: () => `the message never expired: ${JSON.stringify(outboxRows(central))}` },
    );
    assert.match(status.stdout, /last error: deadline passed/, show(status));
    assert.match(status.stdout, /deadline: +\S+ \(its ttl: never sent or run after\)/, show(status));
    const expiredAfter = Date.now() - sentAt;
    assert.ok(expiredAfter >= 2_900, `expired after ${expiredAfter} ms, not before its deadline`);
    const jobs = await steward(['jobs', '--state', 'expired'], central.folder);
    assert.match(jobs.stdout, new RegExp(`${shipName}.*deadline passed`), show(jobs));
    const metrics = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
    assert.match(metrics, /steward_messages_deadline_passed_total\{[^}]*method="CLICommand"[^}]*side="sender"[^}]*\} 1/);
    assert.match(metrics, /steward_messages_expired_total\{[^}]*method="CLICommand"[^}]*\} 1/);

    // The ship starts 6 s after the send; a later message on the same subject (ordered behind the
    // expired one) runs: the ship is serving, and the expired message was not sent before it.
    await waitFor(() => Date.now() - sentAt >= 6_000, { timeoutMs: 10_000, message: '6 s since the send' });
    await startShip();
    const later = join(dir, 'later-ran');
    const r = await steward(['send', '--toNode', shipName, '--', 'touch', later], central.folder);
    assert.equal(r.code, 0, show(r));
    assert.ok(existsSync(later), 'the later message ran');
    assert.equal(existsSync(early), false, 'the expired message never ran');
    const done = outboxRows<Msg, unknown>(central).find((x) => x.id === row.id)!;
    assert.equal(done.state, 'expired');
    assert.equal(done.lastError, 'deadline passed (last attempt: no responders)');
    assert.ok(!ship!.log().includes(row.id), 'the ship never heard of the expired message');
  });

  it('a message within its ttl is delivered, and carries its deadline on the wire next to its other fields', async () => {
    await startShip();
    const nc: NatsConnection = await connect({ servers: server.url });
    try {
      const seen: Record<string, unknown>[] = [];
      nc.subscribe(`${shipName}.CommandACK.CLICommand`, {
        callback: (_e, m) => {
          seen.push(m.json());
        },
      });
      await nc.flush();
      const r = await steward(['send', '--toNode', shipName, '--ttl', '60', '--', 'echo', 'within-ttl'], central.folder);
      assert.equal(r.code, 0, show(r));
      assert.equal(r.stdout, 'within-ttl\n');
      const wire = seen.find((m) => Array.isArray(m.data) && m.data.includes('within-ttl'));
      assert.ok(wire, 'the message was seen on the broker');
      assert.equal(wire.ttl, 60);
      assert.equal(wire.deadline, (wire.createdAt as number) + 60_000);
    } finally {
      await nc.close();
    }
  });

  it('the receiver refuses a message that arrives after its deadline, and runs one that arrives before', async () => {
    await startShip();
    const nc = await connect({ servers: server.url });
    try {
      const subject = `${shipName}.CommandACK.CLICommand`;
      const message = (file: string, deadline: number) => ({
        id: randomUUID(),
        fromNode: centralName,
        toNode: shipName,
        method: 'CLICommand',
        commandOrEvent: 'CommandACK',
        data: ['touch', file],
        createdAt: Date.now() - 10_000,
        timeout: 10,
        retries: 0,
        methodTimeout: 10,
        ttl: 5,
        deadline,
      });
      const lateFile = join(dir, 'late-ran');
      const late = (await nc.request(subject, JSON.stringify(message(lateFile, Date.now() - 5_000)), { timeout: 30_000 })).json<{
        status: string;
        error?: string;
      }>();
      // The refusal ACK is the positive sign that the ship took the message and decided.
      assert.equal(late.status, 'rejected');
      assert.match(late.error ?? '', /^deadline passed: the message had to run by .* \(its ttl\)/);
      const intime = join(dir, 'intime-ran');
      const ok = (await nc.request(subject, JSON.stringify(message(intime, Date.now() + 60_000)), { timeout: 30_000 })).json<{
        status: string;
      }>();
      assert.equal(ok.status, 'succeeded');
      assert.ok(existsSync(intime));
      assert.equal(existsSync(lateFile), false, 'the late message never ran');
      assert.match(ship!.log(), /deadline passed/);
    } finally {
      await nc.close();
    }
  });
});
