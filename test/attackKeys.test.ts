/**
 * Attack on key approval (issue 12, hole 3), against real nodes: central and
 * two ships, signature and ACL checks on. A rogue raw NATS client sends
 * central a SayHello in a ship's name, signed by its own key, between the
 * operator's `steward keys list` and `steward keys allow`. Before the fix
 * the forged key replaced the pending one and `keys allow <ship>` approved
 * it; now the operator names the fingerprint they checked, the forged key
 * is only recorded as an offered key (CONFLICT in `keys list`, WARN at
 * central), and a wrong fingerprint approves nothing.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { generateKeyPairSync, randomUUID } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';

import { connect, type NatsConnection } from '@nats-io/transport-node';
import { publicKeyToText, signedJson } from '@steward/core';

import {
  cleanupHarness,
  makeTempDir,
  startNatsServer,
  startNode,
  stewardBin,
  waitFor,
  type NatsServerHandle,
  type NodeHandle,
} from './helpers/index.js';

after(cleanupHarness);

interface Ack {
  id: string;
  status: string;
  error?: string;
}

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `steward <args>` and returns its exit code and output. */
function steward(...args: string[]): Run {
  const env = { ...process.env };
  delete env['NODE_TEST_CONTEXT'];
  const r = spawnSync(process.execPath, [stewardBin, ...args], { encoding: 'utf8', env, timeout: 60_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

const show = (r: Run) => `exit ${r.code}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`;

describe('attack on key approval: a hello forged between keys list and keys allow', { timeout: 300_000 }, () => {
  const tag = randomUUID().slice(0, 6);
  const centralName = `kc${tag}`;
  const shipName = `ks${tag}`;
  const otherName = `ko${tag}`;
  let server: NatsServerHandle;
  let central: NodeHandle;
  let ship: NodeHandle;
  let other: NodeHandle;
  let nc: NatsConnection;
  const attacker = generateKeyPairSync('ed25519');
  const attackerKey = publicKeyToText(attacker.publicKey);
  const common = [
    '--centralNodeName',
    centralName,
    '--enableSignatureCheck',
    '--enableAclCheck',
    '--sayHelloInterval',
    '1',
    '--keysPushInterval',
    '1',
  ];

  const keys = (...args: string[]) => steward('keys', ...args, '--nodeFolder', central.folder);
  /** The fingerprint `keys list` shows on the node's own line, and its status. */
  const listed = (node: string) => {
    const m = new RegExp(`^${node}\\s+(\\w+)\\s+(SHA256:[0-9a-f]+)`, 'm').exec(keys('list').stdout);
    return m ? { status: m[1]!, fingerprint: m[2]! } : undefined;
  };
  /** The approved key of `node` in central's register. */
  const registry = () =>
    JSON.parse(readFileSync(join(central.folder, 'state', 'keys', 'registry.json'), 'utf8')) as {
      version: number;
      nodes: Record<string, { publicKey: string; status: string }>;
    };
  const ownKey = (n: NodeHandle) => readFileSync(join(n.folder, 'state', 'keys', 'node.pub'), 'utf8').trim();
  const adopted = (n: NodeHandle) => {
    const lines = n
      .log()
      .split('\n')
      .filter((l) => l.includes('adopted key set version'));
    return lines.length ? (lines[lines.length - 1]!.split('trusted=')[1] ?? '') : '';
  };
  /** A SayHello in `node`'s name carrying the attacker's key and signed by it, as central checks a hello. */
  const forgedHello = (node: string) =>
    signedJson(
      {
        id: randomUUID(),
        fromNode: node,
        toNode: centralName,
        method: 'SayHello',
        commandOrEvent: 'EventNACK',
        data: ['steward 0.1.0', `publicKey=${attackerKey}`],
        createdAt: Date.now(),
        timeout: 10,
        retries: 0,
        methodTimeout: 10,
        expiresAt: Date.now() + 60_000,
      },
      attacker.privateKey,
    );
  const request = async (subject: string, body: string): Promise<Ack> =>
    JSON.parse((await nc.request(subject, body, { timeout: 30_000 })).string()) as Ack;
  /** A hello that central takes gets no ACK (it is an event); one it refuses gets a `rejected` ACK. */
  const sayHello = (body: string): Promise<Ack> =>
    request(`${centralName}.EventNACK.SayHello`, body).catch(() => ({ id: '', status: 'no ACK: central took the hello' }));

  before(async () => {
    server = await startNatsServer();
    const dir = await makeTempDir('steward-attack-keys-');
    await mkdir(join(dir, centralName, 'state'), { recursive: true });
    writeFileSync(join(dir, 'acl.json'), JSON.stringify({ rules: [{ to: '*', from: centralName, method: '*' }] }));
    const acl = steward('acl', 'set', join(dir, 'acl.json'), '--nodeFolder', join(dir, centralName));
    assert.equal(acl.code, 0, show(acl));
    central = await startNode({
      name: centralName,
      folder: join(dir, centralName),
      brokerHostPort: server.hostPort,
      args: [...common, '--centralErrorLogger', '--socketPath', 'off'],
    });
    const startShip = (name: string) =>
      startNode({ name, folder: join(dir, name), brokerHostPort: server.hostPort, args: [...common, '--socketPath', 'off'] });
    [ship, other] = await Promise.all([startShip(shipName), startShip(otherName)]);
    nc = await connect({ servers: server.url });
    for (const name of [shipName, otherName])
      await waitFor(() => listed(name)?.status === 'pending', { timeoutMs: 60_000, message: `${name}'s key pending at central` });
  });

  after(async () => {
    await nc?.close();
  });

  it('the forged key is refused and reported, and the fingerprint the operator checked approves the real key', async () => {
    // 1. The operator lists the pending keys and checks the ship's fingerprint on the ship itself.
    const seen = listed(shipName)!;
    const onShip = steward('keys', 'show', '--nodeFolder', ship.folder);
    assert.equal(onShip.code, 0, show(onShip));
    assert.equal(onShip.stdout.trim(), ownKey(ship), 'keys show prints the key alone on stdout');
    assert.match(onShip.stderr, new RegExp(`fingerprint ${seen.fingerprint}`), 'the fingerprint on the ship is the one central lists');

    // 2. Meanwhile the attacker says hello in the ship's name with its own key.
    const ack = await sayHello(forgedHello(shipName));
    assert.equal(ack.status, 'rejected', JSON.stringify(ack));
    assert.match(ack.error ?? '', /recorded as an offered key, not trusted/);
    await waitFor(() => /WARN.*said hello with another key SHA256:[0-9a-f]+ \(its pending key/.test(central.log()), {
      timeoutMs: 30_000,
      message: 'WARN at central',
    });
    const list = keys('list');
    assert.match(list.stdout, new RegExp(`CONFLICT: 2 keys offered for ${shipName}`), show(list));
    assert.equal(listed(shipName)?.fingerprint, seen.fingerprint, 'the pending key was not replaced');
    assert.equal(registry().nodes[shipName]!.publicKey, ownKey(ship));

    // 3. "keys allow <ship>" without naming the key approves nothing and says which fingerprints are on offer.
    const unnamed = keys('allow', shipName);
    assert.notEqual(unnamed.code, 0, show(unnamed));
    assert.match(unnamed.stderr, new RegExp(seen.fingerprint), show(unnamed));
    assert.match(unnamed.stderr, /offered/, show(unnamed));
    assert.match(unnamed.stderr, new RegExp(`steward keys allow ${shipName} `), show(unnamed));
    assert.equal(registry().nodes[shipName]!.status, 'pending');

    // 4. The operator approves the fingerprint they checked.
    const allow = keys('allow', shipName, seen.fingerprint);
    assert.equal(allow.code, 0, show(allow));
    assert.match(allow.stdout, new RegExp(`allowed ${seen.fingerprint}`), show(allow));
    assert.match(allow.stdout, /dropped the other offered keys SHA256:/, show(allow));
    assert.equal(registry().nodes[shipName]!.status, 'allowed');
    assert.equal(registry().nodes[shipName]!.publicKey, ownKey(ship), "the approved key is the ship's own key");
    await waitFor(() => adopted(ship).split(',').includes(shipName), { timeoutMs: 60_000, message: 'ship adopts the set with its key' });
    assert.equal(listed(shipName)?.status, 'allowed');

    // 5. The attacker's key does not speak for the ship: its signed message to central is refused.
    const evil = signedJson(
      {
        id: randomUUID(),
        fromNode: shipName,
        toNode: centralName,
        method: 'ErrorLog',
        commandOrEvent: 'EventACK',
        data: ['forged by the attacker'],
        createdAt: Date.now(),
        timeout: 10,
        retries: 0,
        methodTimeout: 10,
        expiresAt: Date.now() + 60_000,
      },
      attacker.privateKey,
    );
    const refused = await request(`${centralName}.EventACK.ErrorLog`, evil);
    assert.equal(refused.status, 'rejected', JSON.stringify(refused));
    assert.match(refused.error ?? '', /does not verify/);

    // 6. A later forged hello is refused again and shows again; the approved key stays.
    const again = await sayHello(forgedHello(shipName));
    assert.equal(again.status, 'rejected', JSON.stringify(again));
    await waitFor(() => new RegExp(`CONFLICT: 2 keys offered for ${shipName}`).test(keys('list').stdout), {
      timeoutMs: 30_000,
      message: 'conflict shown again',
    });
    assert.equal(registry().nodes[shipName]!.publicKey, ownKey(ship));
    assert.equal(registry().nodes[shipName]!.status, 'allowed');
  });

  it('keys allow with a wrong fingerprint exits non-zero and approves nothing', async () => {
    const seen = listed(otherName)!;
    const before = registry();
    const wrong = `SHA256:${'0123456789abcdef'.repeat(2)}`;
    const r = keys('allow', otherName, wrong);
    assert.notEqual(r.code, 0, show(r));
    assert.match(r.stderr, new RegExp(wrong), 'names the fingerprint given');
    assert.match(r.stderr, new RegExp(seen.fingerprint), "names the node's fingerprint");
    assert.match(r.stderr, /nothing changed/);
    // The attacker's own key, named whole, is refused too: the node never offered it.
    const whole = keys('allow', otherName, '--publicKey', attackerKey);
    assert.notEqual(whole.code, 0, show(whole));
    const after = registry();
    assert.equal(after.version, before.version, 'the approved set did not change');
    assert.equal(after.nodes[otherName]!.status, 'pending');
    assert.equal(after.nodes[otherName]!.publicKey, ownKey(other));
    assert.ok(!adopted(other).split(',').includes(otherName), 'no node trusts it');
  });
});
