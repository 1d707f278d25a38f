/**
 * Large outputs (issue 14 item 4), end to end with real nodes that check
 * signatures: output above the compression threshold travels gzipped in the
 * ACK and in reply messages (see packages/core/src/payloadEncoding.ts), so a
 * 2 MB compressible output arrives whole and costs well under 1 MB on the
 * wire (measured on the nats-server monitoring endpoint). Attacks: a signed
 * compressed payload altered on the way is refused, and a gzip bomb from any
 * broker client is refused without being inflated past the bound.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { gunzipSync, gzipSync } from 'node:zlib';

import { connect, type Msg, type NatsConnection } from '@nats-io/transport-node';

import {
  cleanupHarness,
  makeTempDir,
  startNatsServer,
  startNode,
  waitFor,
  type NatsServerHandle,
  type NodeHandle,
  runSteward as steward,
  type CliRun,
} from './helpers/index.js';
import { adoptedKeySet, approveKey, keysOf } from './helpers/keys.js';

after(cleanupHarness);

const show = (r: CliRun) => `exit ${r.code}\nstdout (${r.stdout.length} chars):\n${r.stdout.slice(0, 300)}\nstderr:\n${r.stderr}`;

interface Ack {
  id: string;
  status: string;
  error?: string;
}

/** Bytes in and out of the broker so far, from its monitoring endpoint. */
async function varz(server: NatsServerHandle): Promise<{ in: number; out: number }> {
  const v = (await (await fetch(`http://127.0.0.1:${server.monitorPort}/varz`)).json()) as { in_bytes: number; out_bytes: number };
  return { in: v.in_bytes, out: v.out_bytes };
}

describe('large outputs: compressed on the wire, whole at the sender', { timeout: 900_000 }, () => {
  const tag = randomUUID().slice(0, 6);
  const centralName = `loc${tag}`;
  const shipName = `los${tag}`;
  const checks = ['--enableSignatureCheck', '--enableAclCheck', 'false'];
  const common = ['--centralNodeName', centralName, ...checks, '--sayHelloInterval', '1', '--keysPushInterval', '1'];
  let server: NatsServerHandle;
  let central: NodeHandle;
  let ship: NodeHandle;
  let dir: string;
  let nc: NatsConnection;
  const captured: Msg[] = [];

  const keys = (...args: string[]) => keysOf(central.folder, ...args);
  const approve = (node: string) => approveKey(central.folder, node);
  const adopted = adoptedKeySet;

  before(async () => {
    server = await startNatsServer();
    dir = await makeTempDir('steward-large-output-');
    central = await startNode({ name: centralName, folder: join(dir, centralName), brokerHostPort: server.hostPort, args: common });
    ship = await startNode({ name: shipName, folder: join(dir, shipName), brokerHostPort: server.hostPort, args: common });
    await waitFor(() => keys('list').includes(shipName), { timeoutMs: 120_000, message: 'ship key known at central' });
    approve(shipName);
    await waitFor(() => adopted(ship).includes(shipName), {
      timeoutMs: 120_000,
      message: 'the ship adopts the key set with its own key',
    });
    nc = await connect({ servers: server.url });
    nc.subscribe(`${shipName}.>`, {
      callback: (_e, m) => {
        captured.push(m);
      },
    });
    await nc.flush();
  });

  after(async () => {
    await nc?.close();
  });

  it('a 2 MB compressible output arrives whole via steward send (CommandACK) and costs well under 1 MB on the wire', async () => {
    const line = 'steward large output test line 0123456789 abcdefghijklmnopqrstuvwxyz\n';
    const expected = line.repeat(Math.ceil(2_000_000 / line.length)).slice(0, 2_000_000);
    const before = await varz(server);
    const r = await steward(
      ['send', '--toNode', shipName, '--', 'bash', '-c', `yes '${line.trimEnd()}' | head -c 2000000`],
      central.folder,
    );
    const afterSend = await varz(server);
    assert.equal(r.code, 0, show(r));
    assert.equal(r.stdout.length, expected.length, show(r));
    assert.ok(r.stdout === expected, 'steward send prints the output exactly');
    const wire = afterSend.in - before.in;
    assert.ok(wire < 200_000, `the broker received ${wire} bytes for a 2 MB output`);
  });

  it('a 2 MB compressible CLICommandRequest reply arrives whole', async () => {
    const line = 'reply line for the large output test, compressible text\n';
    const expected = line.repeat(Math.ceil(2_000_000 / line.length)).slice(0, 2_000_000);
    const before = await varz(server);
    const r = await steward(
      ['send', '--toNode', shipName, '--method', 'CLICommandRequest', '--', 'bash', '-c', `yes '${line.trimEnd()}' | head -c 2000000`],
      central.folder,
    );
    const afterSend = await varz(server);
    assert.equal(r.code, 0, show(r));
    assert.ok(r.stdout === expected, `the reply is the output exactly\n${show(r)}`);
    assert.ok(afterSend.in - before.in < 200_000, `the broker received ${afterSend.in - before.in} bytes`);
  });

  it('a 700 kB random base64 output (about 25 % compressible) arrives byte-identical', async () => {
    const file = join(dir, 'random.txt');
    execFileSync('bash', ['-c', `head -c 600000 /dev/urandom | base64 -w0 | head -c 700000 > ${file}`]);
    const expected = readFileSync(file, 'utf8');
    const r = await steward(['send', '--toNode', shipName, '--', 'cat', file], central.folder);
    assert.equal(r.code, 0, show(r));
    assert.ok(r.stdout === expected, `identical text\n${show(r)}`);
  });

  it('ATTACK: a signed compressed message altered on the way (its gzip value replaced) is refused and never runs', async () => {
    const pwned = join(dir, 'pwned-tamper');
    const padding = 'x'.repeat(40_000); // past the compression threshold: the command travels compressed
    const ran = join(dir, 'ran-legit');
    captured.length = 0;
    const r = await steward(['send', '--toNode', shipName, '--', 'bash', '-c', `: ${padding}; touch ${ran}`], central.folder);
    assert.equal(r.code, 0, show(r));
    assert.ok(existsSync(ran), 'the legitimate command ran');
    const original = captured.find((m) => m.subject === `${shipName}.CommandACK.CLICommand` && m.string().includes('gzip+base64'));
    assert.ok(original, 'the compressed command was seen on the broker');
    const body = JSON.parse(original.string()) as Record<string, unknown> & { data: { encoding: string; value: string } };
    const inner = JSON.parse(gunzipSync(Buffer.from(body.data.value, 'base64')).toString('utf8')) as { data: string[] };
    assert.ok(inner.data[2]?.includes(ran));
    inner.data[2] = `: ${padding}; touch ${pwned}`;
    // Same id, same signature, new compressed value (a fresh id would not verify either).
    const forged = { ...body, data: { encoding: 'gzip+base64', value: gzipSync(JSON.stringify(inner)).toString('base64') } };
    const ack = JSON.parse((await nc.request(original.subject, JSON.stringify(forged), { timeout: 60_000 })).string()) as Ack;
    assert.equal(ack.status, 'rejected', JSON.stringify(ack));
    assert.match(ack.error ?? '', /signature/i, JSON.stringify(ack));
    assert.equal(existsSync(pwned), false, 'the altered command never ran');
  });

  it('ATTACK: a gzip bomb from any broker client is refused at the inflate bound; the node stays up and small', async () => {
    const pwned = join(dir, 'pwned-bomb');
    const hwm = () => Number(/VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${ship.pid}/status`, 'utf8'))?.[1] ?? NaN);
    const peakBefore = hwm();
    // Half a megabyte on the wire that inflates to 256 MB of JSON-looking text.
    const prefix = Buffer.from(`{"data":["bash","-c","touch ${pwned}; : `);
    const bomb = gzipSync(Buffer.concat([prefix, Buffer.alloc(256 * 1024 * 1024, 0x61), Buffer.from('"]}')]), { level: 9 });
    const msg = {
      id: randomUUID(),
      fromNode: centralName,
      toNode: shipName,
      method: 'CLICommand',
      commandOrEvent: 'CommandACK',
      data: { encoding: 'gzip+base64', value: bomb.toString('base64') },
      createdAt: Date.now(),
      timeout: 10,
      retries: 0,
      methodTimeout: 10,
    };
    const ack = JSON.parse(
      (await nc.request(`${shipName}.CommandACK.CLICommand`, JSON.stringify(msg), { timeout: 120_000 })).string(),
    ) as Ack;
    assert.equal(ack.status, 'rejected', JSON.stringify(ack));
    assert.match(ack.error ?? '', /within 67108864 bytes/, JSON.stringify(ack));
    assert.equal(existsSync(pwned), false, 'nothing ran');
    // What an operator checks: the node's peak memory grew by far less than the 256 MB the bomb holds.
    const grown = hwm() - peakBefore;
    assert.ok(grown < 180_000, `ship peak RSS grew by ${grown} kB (from ${peakBefore} kB)`);
    const r = await steward(['send', '--toNode', shipName, '--', 'echo', 'still-up'], central.folder);
    assert.equal(r.stdout, 'still-up\n', show(r));
  });
});
