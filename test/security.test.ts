/**
 * Attacks against real nodes in secure mode (issue 6). `central` and `ship`
 * run with --enableSignatureCheck; the ship's key is approved with
 * `steward keys allow`. A raw NATS client captures a legitimate signed
 * message on the broker, then replays, alters, strips and forges messages,
 * and the tests check that none of them runs anything.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { generateKeyPairSync, randomUUID, createPrivateKey, sign } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';

import { connect, nkeys, type Msg, type NatsConnection } from '@nats-io/transport-node';

import {
  cleanupHarness,
  makeTempDir,
  readFileOr,
  repoRoot,
  startNatsServer,
  startNode,
  stewardBin,
  waitFor,
  type NatsServerHandle,
  type NodeHandle,
} from './helpers/index.js';

after(cleanupHarness);

/** Canonical JSON as the nodes sign it (sorted keys, no spaces): written here again on purpose, as an attacker would. */
function canonical(v: unknown): string {
  if (v === null || typeof v !== 'object') return JSON.stringify(v);
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  const o = v as Record<string, unknown>;
  return `{${Object.keys(o)
    .filter((k) => o[k] !== undefined)
    .sort()
    .map((k) => `${JSON.stringify(k)}:${canonical(o[k])}`)
    .join(',')}}`;
}

function signWith(obj: Record<string, unknown>, pem: string): Record<string, unknown> {
  const copy = { ...obj };
  delete copy.signature;
  const signature = sign(null, Buffer.from(canonical(copy)), createPrivateKey(pem)).toString('base64');
  return { ...copy, signature };
}

interface Ack {
  id: string;
  status: string;
  error?: string;
  duplicate?: boolean;
}

async function request(nc: NatsConnection, subject: string, body: Record<string, unknown> | string): Promise<Ack> {
  const reply = await nc.request(subject, typeof body === 'string' ? body : JSON.stringify(body), { timeout: 20_000 });
  return JSON.parse(reply.string()) as Ack;
}

/** How often `re` (a /g expression) matches `text`: a log line counted before and after an event. */
function countMatches(text: string, re: RegExp): number {
  return text.match(re)?.length ?? 0;
}

describe('secure mode: signed messages, trust from central, replay protection', { timeout: 300_000 }, () => {
  const tag = randomUUID().slice(0, 6);
  const centralName = `secc${tag}`;
  const shipName = `secs${tag}`;
  let server: NatsServerHandle;
  let central: NodeHandle;
  let ship: NodeHandle;
  let nc: NatsConnection;
  let runsFile: string;
  const captured: Msg[] = [];
  const cliSubject = `${shipName}.CommandACK.CLICommand`;
  const common = ['--centralNodeName', centralName, '--enableSignatureCheck', '--sayHelloInterval', '1', '--keysPushInterval', '1'];

  /** The trusted list of the last key set a node adopted ('' before any). */
  const adopted = (n: NodeHandle) => {
    const lines = n
      .log()
      .split('\n')
      .filter((l) => l.includes('adopted key set version'));
    return lines.length ? (lines[lines.length - 1]!.split('trusted=')[1] ?? '-') : '';
  };
  const runs = () => readFileOr(runsFile, '').split('\n').filter(Boolean);
  const keys = (...args: string[]) =>
    execFileSync(process.execPath, [stewardBin, 'keys', ...args, '--nodeFolder', central.folder], { encoding: 'utf8' });
  const sendFromCentral = (cmd: string) =>
    central.inmsg(JSON.stringify([{ toNode: shipName, method: 'CLICommand', commandOrEvent: 'CommandACK', data: ['bash', '-c', cmd] }]));
  /** A message from the ship to itself, signed with the ship's own private key (read from its key file). */
  const signedByShip = (extra: Record<string, unknown> = {}) =>
    signWith(
      {
        id: randomUUID(),
        fromNode: shipName,
        toNode: shipName,
        method: 'CLICommand',
        commandOrEvent: 'CommandACK',
        data: ['bash', '-c', `echo ship-signed >> ${runsFile}`],
        createdAt: Date.now(),
        timeout: 10,
        retries: 0,
        methodTimeout: 10,
        expiresAt: Date.now() + 60_000,
        ...extra,
      },
      readFileSync(join(ship.folder, 'state', 'keys', 'node.key'), 'utf8'),
    );

  before(async () => {
    server = await startNatsServer();
    const dir = await makeTempDir('steward-security-');
    runsFile = join(dir, 'runs.txt');
    // The ACL is written before central starts, as an operator would prepare it.
    await mkdir(join(dir, centralName, 'state'), { recursive: true });
    const policy = {
      nodeGroups: { commanders: [centralName] },
      commandGroups: { appendOnly: [`bash -c 'echo * >> ${runsFile}'`] },
      rules: [
        { to: shipName, from: '@commanders', method: 'CLICommand', commands: ['@appendOnly'] },
        { to: shipName, from: shipName, method: '*' },
      ],
    };
    writeFileSync(join(dir, 'acl.json'), JSON.stringify(policy));
    execFileSync(process.execPath, [stewardBin, 'acl', 'set', join(dir, 'acl.json'), '--nodeFolder', join(dir, centralName)], {
      encoding: 'utf8',
    });
    central = await startNode({
      name: centralName,
      folder: join(dir, centralName),
      brokerHostPort: server.hostPort,
      args: [...common, '--centralErrorLogger'],
    });
    ship = await startNode({
      name: shipName,
      folder: join(dir, shipName),
      brokerHostPort: server.hostPort,
      args: [...common, '--maxPayloadBytes', '65536', '--enableAclCheck'],
    });
    // The ship's key arrives with its hello and waits for the operator.
    await waitFor(() => keys('list').includes(`${shipName}`) && keys('list').includes('pending'), {
      timeoutMs: 60_000,
      message: 'ship key pending at central',
    });
    // The operator names the fingerprint `keys list` showed (and `steward keys show` prints on the ship).
    const fingerprint = new RegExp(`^${shipName}\\s+pending\\s+(SHA256:[0-9a-f]+)`, 'm').exec(keys('list'))?.[1];
    assert.ok(fingerprint, 'keys list shows the pending fingerprint');
    assert.match(keys('allow', shipName, fingerprint), /allowed/);
    await waitFor(() => adopted(ship).includes(shipName), { timeoutMs: 60_000, message: 'ship adopts the set with its own key' });
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

  it('runs a legitimate signed command from central, and the message on the wire is signed', async () => {
    await sendFromCentral(`echo legit >> ${runsFile}`);
    await waitFor(() => runs().length === 1, { timeoutMs: 60_000, message: 'legit command ran' });
    const m = captured.find((c) => c.subject === cliSubject);
    assert.ok(m, 'captured the command on the broker');
    const obj = JSON.parse(m.string()) as Record<string, unknown>;
    assert.equal(typeof obj.signature, 'string');
    assert.equal(typeof obj.expiresAt, 'number');
  });

  it('(a) a replayed captured message is not run again', async () => {
    const m = captured.find((c) => c.subject === cliSubject)!;
    const notRunBefore = countMatches(ship.log(), /not run again/g);
    const ack = await request(nc, cliSubject, m.string());
    // Answered from the journal (or, if the first run is still finishing, with its result): never run twice.
    assert.notEqual(ack.status, 'rejected');
    // The ship says it recognised the replay: only then is "it did not run" a finding.
    await waitFor(() => countMatches(ship.log(), /not run again/g) > notRunBefore, {
      timeoutMs: 30_000,
      message: () => `the ship never logged the replay as a duplicate:\n${ship.log().slice(-2000)}`,
    });
    assert.deepEqual(runs(), ['legit']);
  });

  it('(b) the captured message with changed arguments is refused (same id and new id)', async () => {
    const obj = JSON.parse(captured.find((c) => c.subject === cliSubject)!.string()) as Record<string, unknown>;
    obj.data = ['bash', '-c', `echo evil >> ${runsFile}`];
    const same = await request(nc, cliSubject, obj);
    assert.equal(same.status, 'rejected');
    assert.match(same.error ?? '', /signature does not verify/);
    const fresh = await request(nc, cliSubject, { ...obj, id: randomUUID() });
    assert.equal(fresh.status, 'rejected');
    const later = await request(nc, cliSubject, {
      ...obj,
      data: (JSON.parse(captured.find((c) => c.subject === cliSubject)!.string()) as { data: string[] }).data,
      expiresAt: Date.now() + 1e9,
    });
    assert.equal(later.status, 'rejected', 'stretching the expiry breaks the signature too');
    // Each refusal ACK above is the ship's final word on that message: nothing can run after it.
    assert.deepEqual(runs(), ['legit']);
  });

  it('(c) an unsigned message is refused', async () => {
    const obj = JSON.parse(captured.find((c) => c.subject === cliSubject)!.string()) as Record<string, unknown>;
    delete obj.signature;
    const ack = await request(nc, cliSubject, { ...obj, id: randomUUID(), data: ['bash', '-c', `echo unsigned >> ${runsFile}`] });
    assert.equal(ack.status, 'rejected');
    assert.match(ack.error ?? '', /unsigned/);
  });

  it("(d) a message from an unapproved node, or forged in central's name, is refused", async () => {
    const { privateKey } = generateKeyPairSync('ed25519');
    const pem = privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
    const base = JSON.parse(captured.find((c) => c.subject === cliSubject)!.string()) as Record<string, unknown>;
    const evil = { ...base, id: randomUUID(), data: ['bash', '-c', `echo intruder >> ${runsFile}`], expiresAt: Date.now() + 60_000 };
    const intruder = await request(nc, cliSubject, signWith({ ...evil, fromNode: 'intruder' }, pem));
    assert.equal(intruder.status, 'rejected');
    assert.match(intruder.error ?? '', /no approved key/);
    const forged = await request(nc, cliSubject, signWith(evil, pem));
    assert.equal(forged.status, 'rejected');
    assert.match(forged.error ?? '', /does not verify/);
    // The refusal ACKs are the final word; the log line shows the refusal was also reported.
    await waitFor(() => /refused CLICommand from intruder/.test(ship.log()), { timeoutMs: 30_000, message: 'refusal logged' });
    assert.deepEqual(runs(), ['legit']);
  });

  it('a message signed by an approved key runs; the same one past its expiry is refused', async () => {
    const ok = await request(nc, cliSubject, signedByShip());
    assert.equal(ok.status, 'succeeded', JSON.stringify(ok));
    const expired = await request(
      nc,
      cliSubject,
      signedByShip({ expiresAt: Date.now() - 1000, data: ['bash', '-c', `echo expired >> ${runsFile}`] }),
    );
    assert.equal(expired.status, 'rejected');
    assert.match(expired.error ?? '', /expired/);
    assert.deepEqual(runs(), ['legit', 'ship-signed']);
  });

  it('(g) bad node names and file names are refused; a reply cannot be written outside the data folder', async () => {
    const badNode = await request(nc, cliSubject, signedByShip({ toNode: '../../etc' }));
    assert.equal(badNode.status, 'rejected');
    assert.match(badNode.error ?? '', /toNode/);
    const reqSubject = `${shipName}.EventACK.CLICommandRequest`;
    const request1 = { method: 'CLICommandRequest', commandOrEvent: 'EventACK', data: ['echo', 'pwned'] };
    const badFile = await request(nc, reqSubject, signedByShip({ ...request1, fileName: '../x' }));
    assert.equal(badFile.status, 'rejected');
    assert.match(badFile.error ?? '', /fileName/);
    const outside = `steward-pwned-${tag}`;
    const ack = await request(nc, reqSubject, signedByShip({ ...request1, directory: '/etc', fileName: outside }));
    assert.equal(ack.status, 'received', 'a trusted request with an absolute directory is taken; its reply must not escape');
    // The request came from a raw client, not from the ship's own outbox: its reply answers nothing the ship
    // sent, so the reply guard refuses it before the path rules are even asked (they are tested in attackPaths).
    await waitFor(() => /refused CLICommandReply from \S+ .*unsolicited/.test(ship.log()), {
      timeoutMs: 30_000,
      message: 'reply refused',
    });
    assert.ok(!existsSync(join('/etc', outside)), 'nothing written to /etc');
    assert.ok(!existsSync(join('/etc', shipName, outside)), 'nothing written to /etc/<node>');
  });

  it('(h) an oversized payload is refused and the node keeps serving', async () => {
    const big = JSON.stringify(signedByShip({ data: ['bash', '-c', 'echo big', 'x'.repeat(100_000)] }));
    const ack = await request(nc, cliSubject, big);
    assert.equal(ack.status, 'rejected');
    assert.match(ack.error ?? '', /larger than 65536 bytes/);
    await sendFromCentral(`echo after-big >> ${runsFile}`);
    await waitFor(() => runs().includes('after-big'), { timeoutMs: 60_000, message: 'ship still serves' });
  });

  it('(e) a revoked key is refused after the next push', async () => {
    assert.match(keys('revoke', shipName), /revoked/);
    await waitFor(() => adopted(ship) !== '' && !adopted(ship).includes(shipName), {
      timeoutMs: 60_000,
      message: 'ship adopts the set without its key',
    });
    const ack = await request(nc, cliSubject, signedByShip({ data: ['bash', '-c', `echo revoked >> ${runsFile}`] }));
    assert.equal(ack.status, 'rejected');
    assert.match(ack.error ?? '', /no approved key/);
    assert.ok(!runs().includes('revoked'));
    // Central's own commands still run.
    await sendFromCentral(`echo after-revoke >> ${runsFile}`);
    await waitFor(() => runs().includes('after-revoke'), { timeoutMs: 60_000, message: 'central still commands the ship' });
  });

  it('(f) the ACL refuses a command and a method it does not allow, and allows them once a rule is added', async () => {
    const echoLog = join(central.folder, 'data', shipName, `${centralName}.EventACK.ECHOReply.log`);
    await central.inmsg(JSON.stringify([{ toNode: shipName, method: 'CLICommand', data: ['bash', '-c', `touch ${runsFile}.acl`] }]));
    await central.inmsg(JSON.stringify([{ toNode: shipName, method: 'ECHORequest', data: ['ping-acl'] }]));
    await waitFor(() => /ACL allows .* but not the command "bash -c touch/.test(ship.log()), {
      timeoutMs: 60_000,
      message: 'command refused',
    });
    await waitFor(() => /ACL allows no ECHORequest from/.test(ship.log()), { timeoutMs: 60_000, message: 'method refused' });
    assert.ok(!existsSync(`${runsFile}.acl`));
    assert.ok(!existsSync(echoLog));
    const adoptedBefore = countMatches(ship.log(), /adopted key set version/g);
    const out = execFileSync(
      process.execPath,
      [stewardBin, 'acl', 'add', '--to', shipName, '--from', centralName, '--method', 'ECHORequest', '--nodeFolder', central.folder],
      { encoding: 'utf8' },
    );
    assert.match(out, /rule 3 added/);
    // The ACL travels with the key set: once the ship adopts a newer set, the rule is in force.
    await waitFor(() => countMatches(ship.log(), /adopted key set version/g) > adoptedBefore, {
      timeoutMs: 60_000,
      message: () => `the ship never adopted the set with the new rule:\n${ship.log().slice(-2000)}`,
    });
    await central.inmsg(JSON.stringify([{ toNode: shipName, method: 'ECHORequest', data: ['ping-acl-2'] }]));
    await waitFor(() => /ECHORequest succeeded/.test(ship.log()), { timeoutMs: 60_000, message: 'ECHORequest allowed after acl add' });
    // The ship's key was revoked in (e): its ECHOReply is refused at central, the revocation holds everywhere.
    await waitFor(() => new RegExp(`refused ECHOReply from ${shipName} .*untrusted`).test(central.log()), {
      timeoutMs: 30_000,
      message: 'central refuses the revoked ship',
    });
  });

  it('refusals reach the error kernel: logged with their reason and sent to central', async () => {
    await waitFor(() => /refused CLICommand from intruder/.test(readFileOr(join(central.folder, 'data', 'errorLog.log'), '')), {
      timeoutMs: 30_000,
      message: 'refusal in central error log',
    });
    assert.ok(!existsSync(join(ship.folder, 'evil')));
  });
});

describe('broker credentials', { timeout: 120_000 }, () => {
  it('(i) wrong credentials: a clear error, retries, no secret in the log; right credentials work', async () => {
    const password = 'right-Pass-77';
    const wrong = 'wrong-Secret-42';
    const server = await startNatsServer({ args: ['--user', 'alice', '--pass', password] });
    const dir = await makeTempDir('steward-creds-');
    const name = `cred${randomUUID().slice(0, 6)}`;
    const child = spawn(
      process.execPath,
      [
        stewardBin,
        'start',
        '--node',
        name,
        '--brokerAddress',
        server.hostPort,
        '--promHostAndPort',
        'off',
        '--sayHelloInterval',
        '0',
        '--socketPath',
        'off',
        '--brokerUser',
        'alice',
        '--brokerPassword',
        wrong,
      ],
      { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    try {
      // Two refusals prove the node retried after the first one instead of giving up.
      await waitFor(() => countMatches(out, /refused this node's credentials/g) >= 2, {
        timeoutMs: 60_000,
        message: () => `no retry after the refused credentials:\n${out.slice(-2000)}`,
      });
      assert.equal(child.exitCode, null, 'the node keeps running and retrying');
      assert.ok(!out.includes(wrong), 'the wrong password is not in the log');
      assert.ok(!out.includes(password));
      assert.match(out, /ERROR/);
    } finally {
      child.kill('SIGKILL');
    }
    const good = await startNode({
      name: `${name}ok`,
      folder: join(dir, 'ok'),
      brokerHostPort: server.hostPort,
      args: ['--brokerUser', 'alice', '--socketPath', 'off'],
      env: { STEWARD_BROKER_PASSWORD: password },
    });
    assert.match(good.log(), /connected to broker/);
    assert.ok(!good.log().includes(password));
    await good.stop();
  });

  it('nkey authentication with a seed file (examples/secure/nats-server-nkeys.conf)', async () => {
    const dir = await makeTempDir('steward-nkey-');
    const user = nkeys.createUser();
    const seedFile = join(dir, 'node.nk');
    writeFileSync(seedFile, new TextDecoder().decode(user.getSeed()) + '\n', { mode: 0o600 });
    writeFileSync(
      join(dir, 'nats.conf'),
      `authorization { users = [ { nkey: "${user.getPublicKey()}", permissions: { publish: { allow: [">"] }, subscribe: { allow: ["nk1.>", "_INBOX.>"] } } } ] }\n`,
    );
    const server = await startNatsServer({ args: ['-c', join(dir, 'nats.conf')] });
    const node = await startNode({
      name: 'nk1',
      folder: join(dir, 'nk1'),
      brokerHostPort: server.hostPort,
      args: ['--brokerNkeySeedFile', seedFile, '--socketPath', 'off'],
    });
    assert.match(node.log(), /nkey seed file/);
    assert.ok(!node.log().includes(new TextDecoder().decode(user.getSeed())), 'the seed is not logged');
    await node.stop();
  });

  it('TLS with client certificates and per-node subject permissions (examples/secure/nats-server-tls.conf)', async () => {
    const dir = await makeTempDir('steward-tls-');
    execFileSync('sh', [join(repoRoot, 'examples', 'secure', 'make-test-certs.sh'), dir], { stdio: 'ignore' });
    const conf = readFileSync(join(repoRoot, 'examples', 'secure', 'nats-server-tls.conf'), 'utf8').replaceAll('"./', `"${dir}/`);
    writeFileSync(join(dir, 'nats.conf'), conf);
    const server = await startNatsServer({ args: ['-c', join(dir, 'nats.conf')] });
    const tlsArgs = (n: string) => [
      '--brokerTlsCa',
      join(dir, 'ca.pem'),
      '--brokerTlsCert',
      join(dir, `${n}-cert.pem`),
      '--brokerTlsKey',
      join(dir, `${n}-key.pem`),
    ];
    const ship1 = await startNode({
      name: 'ship1',
      folder: join(dir, 'ship1'),
      brokerHostPort: server.hostPort,
      args: [...tlsArgs('ship1'), '--socketPath', 'off'],
    });
    assert.match(ship1.log(), /TLS with client certificate/);
    // The ship's certificate allows its own subjects only: reading central's is refused by the broker.
    const spy = await connect({
      servers: server.url,
      tls: { caFile: join(dir, 'ca.pem'), certFile: join(dir, 'ship1-cert.pem'), keyFile: join(dir, 'ship1-key.pem') },
    });
    const denied = new Promise<string>((resolve) => {
      void (async () => {
        for await (const st of spy.status()) if (st.type === 'error') resolve(String(st.error));
      })();
      spy.subscribe('central.>', {
        callback: (err) => {
          if (err) resolve(String(err));
        },
      });
    });
    assert.match(await denied, /permission/i);
    await spy.close();
    // Without a client certificate the broker refuses the connection.
    await assert.rejects(connect({ servers: server.url, tls: { caFile: join(dir, 'ca.pem') }, reconnect: false }));
    await ship1.stop();
  });
});
