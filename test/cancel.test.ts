/**
 * `steward cancel` (issue 14 item 1), end to end with real nodes: a message
 * never delivered is withdrawn and never runs, even when its node starts
 * right after; a running `sleep; touch` is stopped on the receiver with its
 * whole process tree, and the file never appears; cancelling a finished
 * message says so and changes nothing; cancelling twice is harmless. And the
 * attack: a Cancel from another node than a message's sender is refused.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { randomInt, randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';

import { connect, type NatsConnection } from '@nats-io/transport-node';

import {
  cleanupHarness,
  freePort,
  inboxRows,
  makeTempDir,
  outboxRows,
  startNatsServer,
  startNode,
  stewardBin,
  waitFor,
  type NatsServerHandle,
  type NodeHandle,
  runSteward as steward,
  showRun as show,
} from './helpers/index.js';

after(cleanupHarness);

/** The command lines of every process on the machine. */
function processLines(): string[] {
  return execFileSync('ps', ['-eo', 'args'], { encoding: 'utf8' }).split('\n');
}

interface Msg {
  id: string;
  toNode: string;
  fromNode: string;
  method: string;
  data: string[];
}
interface Reply {
  status: string;
  error?: string;
  output?: string;
}

describe('steward cancel', { timeout: 600_000 }, () => {
  const tag = randomUUID().slice(0, 6);
  const centralName = `cnc${tag}`;
  const shipName = `cns${tag}`;
  // These tests are about cancelling; the signature and ACL checks are tested elsewhere.
  const checksOff = ['--enableSignatureCheck', 'false', '--enableAclCheck', 'false'];
  let server: NatsServerHandle;
  let central: NodeHandle;
  let ship: NodeHandle | undefined;
  let dir: string;
  let metricsPort: number;

  before(async () => {
    server = await startNatsServer();
    dir = await makeTempDir('steward-cancel-');
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

  /** Puts one CLICommand for the ship in central's inmsg.txt; resolves with its outbox row. */
  async function command(argv: string[], extra: Record<string, unknown> = {}) {
    const marker = `m${randomInt(1e9)}`;
    await central.inmsg(
      JSON.stringify([{ toNode: shipName, method: 'CLICommand', commandOrEvent: 'CommandACK', data: argv, label: marker, ...extra }]) +
        '\n',
    );
    return waitFor(
      () =>
        outboxRows<Msg & { label?: string }, Reply>(central).find(
          (r) => r.message.toNode === shipName && r.message.data.join(' ') === argv.join(' '),
        ),
      { timeoutMs: 60_000, message: 'the message is accepted' },
    );
  }

  it('a message to an offline node is withdrawn: it never runs when the node starts', async () => {
    const never = join(dir, 'queued-ran');
    const row = await command(['touch', never], { timeout: 2, retries: -1 });
    const r = await steward(['cancel', '--no-wait', row.id], central.folder);
    assert.equal(r.code, 0, show(r));
    assert.match(r.stdout, new RegExp(`${row.id} to ${shipName}: cancelled`), show(r));
    const rec = outboxRows<Msg, Reply>(central).find((x) => x.id === row.id);
    assert.equal(rec?.state, 'cancelled', 'journaled cancelled before the answer');
    const status = await steward(['status', row.id], central.folder);
    assert.match(status.stdout, /state: +cancelled/, show(status));
    const jobs = await steward(['jobs', '--state', 'cancelled'], central.folder);
    assert.match(jobs.stdout, new RegExp(shipName), show(jobs));

    // The node comes back: a later message runs there (it serves), the cancelled one never did.
    const node = await startShip();
    const later = join(dir, 'later-ran');
    const laterRow = await command(['touch', later]);
    await waitFor(() => existsSync(later), { timeoutMs: 120_000, message: 'the later message runs on the started node' });
    await waitFor(() => outboxRows(central).find((x) => x.id === laterRow.id)?.state === 'delivered', {
      timeoutMs: 60_000,
      message: 'the later message is delivered',
    });
    // Its Cancel (if it had been sent once) reached the ship too, or nothing of it did.
    const cancelRow = outboxRows<Msg, Reply>(central).find((x) => x.message.data.includes(row.id) && x.id !== row.id);
    if (cancelRow)
      await waitFor(() => outboxRows(central).find((x) => x.id === cancelRow.id)?.state === 'delivered', {
        timeoutMs: 120_000,
        message: 'the Cancel is delivered',
      });
    assert.equal(existsSync(never), false, 'the cancelled message never ran');
    const inbox = inboxRows<Msg, Reply>(node).find((x) => x.id === row.id);
    assert.ok(inbox === undefined || inbox.state === 'cancelled', `the ship never ran it: ${JSON.stringify(inbox)}`);
    assert.equal(outboxRows(central).find((x) => x.id === row.id)?.state, 'cancelled', 'still cancelled');
  });

  it('a running `sleep; touch` is stopped on the receiver: its process tree is killed and the file never appears', async () => {
    await startShip();
    const file = join(dir, 'slept');
    const secs = `30.${randomInt(100_000, 999_999)}`;
    const row = await command(['bash', '-c', `sleep ${secs}; touch ${file}`], { methodTimeout: 120 });
    await waitFor(() => processLines().some((l) => l.includes(`sleep ${secs}`)), { timeoutMs: 120_000, message: 'the command runs' });
    // The operator follows it live: steward watch shows the delivery end cancelled.
    const env: NodeJS.ProcessEnv = { ...process.env, XDG_RUNTIME_DIR: '' };
    delete env['NODE_TEST_CONTEXT'];
    const watch = spawn(process.execPath, [stewardBin, 'watch', '--json', '--id', row.id], {
      cwd: central.folder,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let watched = '';
    watch.stdout.setEncoding('utf8').on('data', (d: string) => (watched += d));
    try {
      await waitFor(() => watched.includes('"watching"'), { timeoutMs: 60_000, message: 'steward watch is watching' });
      const r = await steward(['cancel', row.id], central.folder);
      assert.equal(r.code, 0, show(r));
      assert.match(r.stdout, /says: cancelled \(was running\)/, show(r));
      await waitFor(() => /"kind":"delivery"[^\n]*"state":"cancelled"/.test(watched), {
        timeoutMs: 60_000,
        message: () => `watch shows cancelled:\n${watched}`,
      });
    } finally {
      watch.kill('SIGINT');
    }
    // The receiver answered the message itself: cancelled.
    const rec = await waitFor(() => outboxRows<Msg, Reply>(central).find((x) => x.id === row.id && x.state === 'cancelled'), {
      timeoutMs: 120_000,
      message: 'the delivery ends cancelled',
    });
    assert.equal(rec.reply?.status, 'cancelled', JSON.stringify(rec));
    await waitFor(() => !processLines().some((l) => l.includes(`sleep ${secs}`) || l.includes(`touch ${file}`)), {
      timeoutMs: 60_000,
      message: 'no process of the command is left',
    });
    assert.equal(existsSync(file), false, 'the file never appears: the shell that would touch it is gone');
    const shipRow = inboxRows<Msg, Reply>(ship!).find((x) => x.id === row.id);
    assert.equal(shipRow?.state, 'cancelled');
    const metrics = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
    assert.match(metrics, /steward_messages_cancelled_total\{method="CLICommand",side="sender"[^}]*\} [1-9]/);

    // Cancelling again changes nothing, and says it is cancelled already.
    const again = await steward(['cancel', row.id], central.folder);
    assert.equal(again.code, 0, show(again));
    assert.match(again.stdout, /already finished \(cancelled, cancelled\): nothing changed/, show(again));
  });

  it('a `steward send` waiting for a message that is cancelled ends, saying cancelled (exit 1)', async () => {
    await startShip();
    const secs = `30.${randomInt(100_000, 999_999)}`;
    const sending = steward(['send', '--toNode', shipName, '--', 'bash', '-c', `sleep ${secs}`], central.folder);
    // The command itself (the steward send process's own arguments name it too).
    await waitFor(() => processLines().some((l) => l.trim().startsWith(`sleep ${secs}`)), {
      timeoutMs: 120_000,
      message: 'the command runs',
    });
    const row = await waitFor(() => outboxRows<Msg, Reply>(central).find((x) => x.message.data.join(' ').includes(`sleep ${secs}`)), {
      timeoutMs: 60_000,
      message: 'the message is in the outbox',
    });
    const c = await steward(['cancel', row.id], central.folder);
    assert.equal(c.code, 0, show(c));
    const r = await sending;
    assert.equal(r.code, 1, show(r));
    assert.match(r.stdout + r.stderr, /cancelled/, show(r));
  });

  it('--toNode cancels every unfinished message to a node at once; none runs when it starts', async () => {
    const name = `cnq${tag}`;
    const files = [1, 2, 3].map((i) => join(dir, `many-${i}`));
    await central.inmsg(
      JSON.stringify(
        files.map((f) => ({
          toNode: name,
          method: 'CLICommand',
          commandOrEvent: 'CommandACK',
          data: ['touch', f],
          timeout: 2,
          retries: -1,
        })),
      ) + '\n',
    );
    await waitFor(() => outboxRows<Msg, Reply>(central).filter((r) => r.message.toNode === name).length === 3, {
      timeoutMs: 60_000,
      message: 'the three messages are accepted',
    });
    const r = await steward(['cancel', '--no-wait', '--toNode', name], central.folder);
    assert.equal(r.code, 0, show(r));
    assert.equal(r.stdout.trim().split('\n').length, 3, show(r));
    const rows = outboxRows<Msg, Reply>(central).filter((x) => x.message.toNode === name && x.message.method === 'CLICommand');
    assert.deepEqual(
      rows.map((x) => x.state),
      ['cancelled', 'cancelled', 'cancelled'],
    );
    const node = await startNode({
      name,
      folder: join(dir, name),
      brokerHostPort: server.hostPort,
      args: [...checksOff, '--centralNodeName', centralName],
    });
    const later = join(dir, 'many-later');
    await central.inmsg(
      JSON.stringify([{ toNode: name, method: 'CLICommand', commandOrEvent: 'CommandACK', data: ['touch', later] }]) + '\n',
    );
    await waitFor(() => existsSync(later), { timeoutMs: 120_000, message: 'a later message runs on the started node' });
    // Every Cancel told to it is answered before looking.
    await waitFor(
      () =>
        outboxRows<Msg, Reply>(central)
          .filter((x) => x.message.toNode === name && x.message.method === 'Cancel')
          .every((x) => x.state === 'delivered'),
      { timeoutMs: 120_000, message: 'the Cancel messages are delivered' },
    );
    for (const f of files) assert.equal(existsSync(f), false, `${f} never appears`);
    for (const row of rows) {
      const inbox = inboxRows<Msg, Reply>(node).find((x) => x.id === row.id);
      assert.ok(inbox === undefined || inbox.state === 'cancelled', JSON.stringify(inbox));
    }
    const again = await steward(['cancel', '--toNode', name, '--state', 'queued'], central.folder);
    assert.equal(again.code, 1, 'nothing left to cancel: ' + show(again));
    assert.match(again.stderr, /no message matched/, show(again));
  });

  it('a finished message says so, and nothing changes', async () => {
    await startShip();
    const row = await command(['echo', 'done']);
    await waitFor(() => outboxRows(central).find((x) => x.id === row.id)?.state === 'delivered', {
      timeoutMs: 120_000,
      message: 'delivered',
    });
    const r = await steward(['cancel', row.id], central.folder);
    assert.equal(r.code, 1, show(r));
    assert.match(r.stdout, /already finished \(delivered, succeeded\): nothing changed/, show(r));
    const rec = outboxRows<Msg, Reply>(central).find((x) => x.id === row.id);
    assert.equal(rec?.state, 'delivered');
    assert.equal(rec?.reply?.status, 'succeeded');
  });

  it('retry of an expired message after its node starts: it runs once; a succeeded one is not sent again without --force', async () => {
    const otherName = `cnr${tag}`;
    const file = join(dir, 'retried');
    await central.inmsg(
      JSON.stringify([
        {
          toNode: otherName,
          method: 'CLICommand',
          commandOrEvent: 'CommandACK',
          data: ['bash', '-c', `echo ran >> ${file}`],
          timeout: 1,
          retries: 0,
        },
      ]) + '\n',
    );
    const row = await waitFor(() => outboxRows<Msg, Reply>(central).find((r) => r.message.toNode === otherName && r.state === 'expired'), {
      timeoutMs: 120_000,
      message: 'the message to the offline node expires',
    });
    await startNode({
      name: otherName,
      folder: join(dir, otherName),
      brokerHostPort: server.hostPort,
      args: [...checksOff, '--centralNodeName', centralName],
    });
    const r = await steward(['retry', row.id], central.folder);
    assert.equal(r.code, 0, show(r));
    const again = /sent again as (\S+)/.exec(r.stderr)?.[1];
    assert.ok(again && again !== row.id, show(r));
    const newRow = outboxRows<Msg, Reply>(central).find((x) => x.id === again);
    assert.equal(newRow?.state, 'delivered');
    assert.deepEqual(newRow?.message.data, row.message.data, 'the same fields');
    const { readFileSync } = await import('node:fs');
    assert.equal(readFileSync(file, 'utf8'), 'ran\n', 'it ran once');

    const refused = await steward(['retry', again], central.folder);
    assert.equal(refused.code, 1, show(refused));
    assert.match(refused.stderr, /succeeded\): not sent again without --force/, show(refused));
    assert.equal(readFileSync(file, 'utf8'), 'ran\n', 'not run again');
  });

  it('attack: a Cancel from another node than the sender is refused; the message runs on', async () => {
    const node = await startShip();
    const file = join(dir, 'not-cancelled');
    const secs = `4.${randomInt(100_000, 999_999)}`;
    const row = await command(['bash', '-c', `sleep ${secs}; touch ${file}`], { methodTimeout: 120 });
    await waitFor(() => processLines().some((l) => l.includes(`sleep ${secs}`)), { timeoutMs: 120_000, message: 'the command runs' });
    // A broken-into node (rogue) sends the ship a Cancel of central's message.
    const nc: NatsConnection = await connect({ servers: server.hostPort });
    try {
      const rogue = `rogue${tag}`;
      const cancelId = randomUUID();
      const now = Date.now();
      const m = {
        id: cancelId,
        toNode: shipName,
        fromNode: rogue,
        method: 'Cancel',
        commandOrEvent: 'CommandACK',
        data: [row.id],
        timeout: 10,
        retries: 0,
        methodTimeout: 10,
        createdAt: now,
      };
      const ack = await nc.request(`${shipName}.CommandACK.Cancel`, JSON.stringify(m), { timeout: 60_000 });
      const reply = JSON.parse(ack.string()) as Reply;
      assert.equal(reply.status, 'failed', JSON.stringify(reply));
      assert.match(reply.output ?? '', new RegExp(`${row.id} refused: not sent by ${rogue}`));
    } finally {
      await nc.close();
    }
    // The command was not stopped: it finishes and its file appears.
    await waitFor(() => existsSync(file), { timeoutMs: 120_000, message: 'the command ran to its end' });
    await waitFor(() => outboxRows<Msg, Reply>(central).find((x) => x.id === row.id && x.state === 'delivered'), {
      timeoutMs: 120_000,
      message: 'delivered, succeeded',
    });
    assert.equal(inboxRows<Msg, Reply>(node).find((x) => x.id === row.id)?.state, 'succeeded');
  });
});
