/**
 * Payloads too big for one broker message even compressed (issue 14 item 4),
 * end to end with real nodes that check signatures: a 3 MB incompressible
 * output travels as journaled, SHA-256 checked `Chunk` messages plus a
 * reference (see packages/node/src/execution/chunks.ts), and arrives byte
 * for byte in the ACK (`steward send` of a CLICommand) and in a reply
 * message (CLICommandRequest), and a 3 MB TextLogging is written whole, with
 * signature and ACL checks on (the ship's chunks need no ACL rule: they
 * answer central's request). A crash test kills both nodes while an output
 * is in chunks. Attack: chunks another approved node makes up for the same
 * whole are never read.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';

import { chunkData, splitText } from '@steward/core';
import { sliceBytesFor } from '../packages/node/src/execution/chunks.js';

import {
  cleanupHarness,
  makeTempDir,
  startNatsServer,
  startNode,
  stewardBin,
  waitFor,
  type NatsServerHandle,
  type NodeHandle,
  runSteward as steward,
  type CliRun,
} from './helpers/index.js';
import { adoptedKeySet, approveKey, keysOf } from './helpers/keys.js';

after(cleanupHarness);

const show = (r: CliRun) => `exit ${r.code}\nstdout (${r.stdout.length} chars):\n${r.stdout.slice(0, 300)}\nstderr:\n${r.stderr}`;

/** Bytes into the broker so far, from its monitoring endpoint. */
async function inBytes(server: NatsServerHandle): Promise<number> {
  const v = (await (await fetch(`http://127.0.0.1:${server.monitorPort}/varz`)).json()) as { in_bytes: number };
  return v.in_bytes;
}

/** `bytes` of random base64 text (gzip cannot bring it under 1 MB), in a file. */
function randomText(file: string, bytes: number): string {
  execFileSync('bash', ['-c', `head -c ${Math.ceil((bytes * 3) / 4) + 3} /dev/urandom | base64 -w0 | head -c ${bytes} > ${file}`]);
  return readFileSync(file, 'utf8');
}

describe('outputs above max_payload arrive whole, in chunks', { timeout: 900_000 }, () => {
  const tag = randomUUID().slice(0, 6);
  const centralName = `chc${tag}`;
  const shipName = `chs${tag}`;
  const otherName = `cho${tag}`;
  // Signatures and ACL on. The ship has no ACL rule to central: its chunks pass as part of the answer to
  // central's request. The other node may send central chunks of its own (as for a large TextLogging), so
  // its made-up chunks reach central's inbox and the attack test means something.
  const common = ['--centralNodeName', centralName, '--enableSignatureCheck', '--enableAclCheck', '--sayHelloInterval', '1'];
  let server: NatsServerHandle;
  let central: NodeHandle;
  let ship: NodeHandle;
  let other: NodeHandle;
  let dir: string;

  const keys = (...args: string[]) => keysOf(central.folder, ...args);
  const approve = (node: string) => approveKey(central.folder, node);
  const adopted = adoptedKeySet;

  before(async () => {
    server = await startNatsServer();
    dir = await makeTempDir('steward-chunked-output-');
    await mkdir(join(dir, centralName, 'state'), { recursive: true });
    const rules = [
      { to: '*', from: centralName, method: '*' },
      { to: centralName, from: otherName, method: 'Chunk' },
    ];
    writeFileSync(join(dir, 'acl.json'), JSON.stringify({ rules }));
    execFileSync(process.execPath, [stewardBin, 'acl', 'set', join(dir, 'acl.json'), '--nodeFolder', join(dir, centralName)]);
    const args = [...common, '--keysPushInterval', '1'];
    central = await startNode({ name: centralName, folder: join(dir, centralName), brokerHostPort: server.hostPort, args });
    ship = await startNode({ name: shipName, folder: join(dir, shipName), brokerHostPort: server.hostPort, args });
    other = await startNode({ name: otherName, folder: join(dir, otherName), brokerHostPort: server.hostPort, args });
    for (const n of [shipName, otherName]) {
      await waitFor(() => keys('list').includes(n), { timeoutMs: 120_000, message: `${n}'s key known at central` });
      approve(n);
    }
    await waitFor(() => adopted(ship).includes(shipName) && adopted(other).includes(otherName), {
      timeoutMs: 120_000,
      message: 'the ships adopt the key set with their own keys',
    });
  });

  it('a 3 MB incompressible output arrives byte-identical via steward send (CommandACK)', async () => {
    const file = join(dir, 'ack.txt');
    const expected = randomText(file, 3_000_000);
    const before = await inBytes(server);
    const r = await steward(['send', '--toNode', shipName, '--', 'cat', file], central.folder, 300_000);
    assert.equal(r.code, 0, show(r));
    assert.equal(r.stdout.length, expected.length, show(r));
    assert.ok(r.stdout === expected, 'steward send prints the output byte for byte');
    // In chunks, once: about the output's size (gzip saves a little), not several copies of it.
    const wire = (await inBytes(server)) - before;
    assert.ok(wire < 4_500_000, `the broker received ${wire} bytes for a 3 MB output`);
    // And in the command output log at central, whole.
    const log = central.dataFile(shipName, `${shipName}.CommandACK.CLICommand.log`);
    await waitFor(() => existsSync(log) && readFileSync(log, 'utf8').includes(expected.slice(-1000)), {
      timeoutMs: 60_000,
      message: 'the output log at central has the output',
    });
    assert.ok(readFileSync(log, 'utf8').endsWith(expected), 'the output log ends with the whole output');
  });

  it('a 3 MB incompressible CLICommandRequest reply arrives byte-identical', async () => {
    const file = join(dir, 'reply.txt');
    const expected = randomText(file, 3_000_000);
    const r = await steward(['send', '--toNode', shipName, '--method', 'CLICommandRequest', '--', 'cat', file], central.folder, 300_000);
    assert.equal(r.code, 0, show(r));
    assert.equal(r.stdout.length, expected.length, show(r));
    assert.ok(r.stdout === expected, 'the reply is the output byte for byte');
    // CLICommandReply appends the output to its file at central: whole, once.
    const file2 = central.dataFile(shipName, `${centralName}.EventACK.CLICommandReply.log`);
    assert.ok(readFileSync(file2, 'utf8') === expected, 'the reply file at central is byte-identical');
  });

  it('a 3 MB incompressible TextLogging (central to ship) is written byte-identical', async () => {
    const expected = randomText(join(dir, 'log.txt'), 3_000_000);
    const messages = join(dir, 'textlogging.json');
    writeFileSync(messages, JSON.stringify([{ toNode: shipName, method: 'TextLogging', data: [expected] }]));
    const r = await steward(['send', '--file', messages], central.folder, 300_000);
    assert.equal(r.code, 0, show(r));
    const file = ship.dataFile(centralName, `${shipName}.EventACK.TextLogging.log`);
    await waitFor(() => existsSync(file) && readFileSync(file).length >= expected.length, {
      timeoutMs: 120_000,
      message: 'the text reaches the ship',
    });
    assert.ok(readFileSync(file, 'utf8') === expected, 'the file on the ship is byte-identical');
  });

  it('ATTACK: chunks another approved node makes up for the same whole are never read', async () => {
    // The attacker knows the output (so it can name its hash) and the request's id (seen on the broker),
    // and gets its made-up first chunk journaled at central before the real ones come.
    const file = join(dir, 'attack.txt');
    const go = join(dir, 'attack-go');
    const expected = randomText(file, 2_500_000);
    const sent = await steward(
      ['send', '--no-wait', '--toNode', shipName, '--', 'bash', '-c', `while [ ! -e ${go} ]; do sleep 0.1; done; cat ${file}`],
      central.folder,
    );
    assert.equal(sent.code, 0, show(sent));
    const id = /[0-9a-f]{8}-[0-9a-f-]{27}/.exec(sent.stdout)?.[0];
    assert.ok(id, show(sent));
    const whole = splitText(expected, sliceBytesFor(undefined));
    assert.ok(whole.ref.count > 1, 'the output needs several chunks');
    const forged = chunkData({ ref: whole.ref, slices: [Buffer.from('not the output').toString('base64')] }, id, 'output', 0);
    const inject = await steward(['send', '--toNode', centralName, '--method', 'Chunk', '--', ...forged], other.folder);
    // Exit 0: central ACKed it, so it is journaled there (under the whole it names) before the output is made.
    assert.equal(inject.code, 0, show(inject));
    writeFileSync(go, '');
    const log = central.dataFile(shipName, `${shipName}.CommandACK.CLICommand.log`);
    const size = existsSync(log) ? readFileSync(log).length : 0;
    await waitFor(() => existsSync(log) && readFileSync(log).length > size, { timeoutMs: 120_000, message: 'the output reaches central' });
    const added = readFileSync(log, 'utf8').slice(size);
    assert.ok(added === expected, `central took the ship's own output, not the forged chunk: ${added.slice(0, 200)}`);
  });
});

describe('a chunked output survives both nodes being killed', { timeout: 900_000 }, () => {
  it('central and then the ship killed while the output is in chunks: after both restart it arrives whole, once', async () => {
    const server = await startNatsServer();
    const dir = await makeTempDir('steward-chunked-crash-');
    const tag = randomUUID().slice(0, 6);
    const centralName = `ckc${tag}`;
    const shipName = `cks${tag}`;
    const args = ['--centralNodeName', centralName, '--sayHelloInterval', '5'];
    const central = await startNode({ name: centralName, folder: join(dir, centralName), brokerHostPort: server.hostPort, args });
    const ship = await startNode({ name: shipName, folder: join(dir, shipName), brokerHostPort: server.hostPort, args });
    const file = join(dir, 'crash.txt');
    const started = join(dir, 'started');
    const go = join(dir, 'go');
    const expected = randomText(file, 3_000_000);
    const command = `touch ${started}; while [ ! -e ${go} ]; do sleep 0.1; done; cat ${file}`;
    const sent = await steward(
      ['send', '--no-wait', '--retries', '-1', '--timeout', '5', '--toNode', shipName, '--', 'bash', '-c', command],
      central.folder,
    );
    assert.equal(sent.code, 0, show(sent));
    await waitFor(() => existsSync(started), { timeoutMs: 120_000, message: 'the command runs on the ship' });
    await central.kill9();
    writeFileSync(go, '');
    // The ship journals the result and the chunks of its output (to the dead central), then dies too.
    await waitFor(() => /output of 3000000 bytes goes to \S+ in \d+ chunk/.test(ship.log()), {
      timeoutMs: 120_000,
      message: () => `the ship journals the output's chunks; ship log:\n${ship.log().slice(-2000)}`,
    });
    await ship.kill9();
    await ship.restart();
    await central.restart();
    const log = central.dataFile(shipName, `${shipName}.CommandACK.CLICommand.log`);
    await waitFor(() => existsSync(log) && readFileSync(log).length >= expected.length, {
      timeoutMs: 300_000,
      message: () => `the output reaches central; central log:\n${central.log().slice(-3000)}`,
    });
    assert.ok(readFileSync(log, 'utf8') === expected, 'central has the output byte for byte, once');
    const status = await steward(
      [
        'status',
        sent.stdout
          .trim()
          .split(/\s+/)
          .find((w) => /^[0-9a-f]{8}-/.test(w)) ?? '',
      ],
      central.folder,
    );
    assert.match(status.stdout, /delivered/, show(status));
    await Promise.all([central.stop(), ship.stop()]);
    await server.stop();
  });
});
