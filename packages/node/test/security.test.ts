/**
 * Unit tests of the security module: signatures over the canonical form,
 * the node key files, key-set trust (pinning, versions, forgeries), the key
 * register, ACL matching, and that broker secrets never reach a log line.
 */
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { canonicalJson, keyFingerprint, publicKeyToText, signedJson, signMessage, verifyMessage } from '@steward/core';
import { aclRefusal, parseAcl } from '../src/security/acl.js';
import { brokerConnectOptions, describeBrokerAuth, redactSecrets } from '../src/security/brokerAuth.js';
import { decideKey, KeyStatus, readRegistry, recordHelloKey } from '../src/security/keyRegistry.js';
import { loadOrCreateNodeKeys } from '../src/security/keyStore.js';
import { signKeySet, TrustStore } from '../src/security/trustStore.js';

const dirs: string[] = [];
const tempDir = () => {
  const d = mkdtempSync(join(tmpdir(), 'steward-sec-unit-'));
  dirs.push(d);
  return d;
};
after(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

describe('signatures', () => {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const msg = { id: 'a1', fromNode: 'central', toNode: 'ship1', method: 'CLICommand', data: ['ls', '-l'], createdAt: 1, expiresAt: 2 };

  it('canonical JSON ignores key order and undefined, keeps every value', () => {
    assert.equal(canonicalJson({ b: 1, a: [1, { d: 2, c: undefined }] }), '{"a":[1,{"d":2}],"b":1}');
    assert.equal(canonicalJson({ a: 1, b: 2 }), canonicalJson({ b: 2, a: 1 }));
  });

  it('verifies an unchanged message, in any key order, and refuses any change', () => {
    const signature = signMessage(msg, privateKey);
    assert.ok(verifyMessage({ ...msg }, signature, publicKey));
    assert.ok(verifyMessage(JSON.parse(JSON.stringify({ signature, ...msg })) as Record<string, unknown>, signature, publicKey));
    for (const change of [{ data: ['rm', '-rf', '/'] }, { toNode: 'ship2' }, { expiresAt: 3 }, { id: 'a2' }, { directory: '/etc' }])
      assert.equal(verifyMessage({ ...msg, ...change }, signature, publicKey), false, JSON.stringify(change));
    assert.equal(verifyMessage(msg, 'AAAA', publicKey), false);
    assert.equal(verifyMessage(msg, undefined, publicKey), false);
    assert.equal(verifyMessage(msg, signature, generateKeyPairSync('ed25519').publicKey), false);
  });

  it('signs in one pass into wire text that parses back to the message and verifies', () => {
    const withOld = { ...msg, signature: 'old', note: undefined, data: ['a "quoted" ü', 'x'] };
    const text = signedJson(withOld, privateKey);
    const parsed = JSON.parse(text) as Record<string, unknown>;
    assert.notEqual(parsed.signature, 'old');
    const { signature, ...rest } = parsed;
    assert.deepEqual(rest, { ...msg, data: ['a "quoted" ü', 'x'] });
    assert.ok(verifyMessage(parsed, signature, publicKey));
    assert.equal(signature, signMessage(withOld, privateKey), 'the same signature as signMessage');
    assert.equal(verifyMessage({ ...parsed, toNode: 'ship2' }, signature, publicKey), false);
    const empty = JSON.parse(signedJson({}, privateKey)) as Record<string, unknown>;
    assert.ok(verifyMessage(empty, empty.signature, publicKey));
  });
});

describe('node keys', () => {
  it('creates the key pair once, private key mode 0600, and loads the same one again', () => {
    const d = tempDir();
    const a = loadOrCreateNodeKeys(d);
    assert.equal(statSync(join(d, 'state', 'keys', 'node.key')).mode & 0o777, 0o600);
    assert.equal(loadOrCreateNodeKeys(d).publicKeyText, a.publicKeyText);
  });
});

describe('key sets and trust', () => {
  const central = generateKeyPairSync('ed25519');
  const centralText = publicKeyToText(central.publicKey);
  const ship = publicKeyToText(generateKeyPairSync('ed25519').publicKey);
  const set = (version: number, keys: Record<string, string>, signer = central.privateKey, key = centralText) =>
    signKeySet({ type: 'KeysUpdate', fromNode: 'central', version, keys, centralPublicKey: key, issuedAt: Date.now() }, signer);

  it('pins central on first use, adopts newer sets only, refuses forged and altered ones', () => {
    const t = new TrustStore(tempDir(), 'central', '');
    assert.ok(t.apply(set(2, { central: centralText, ship1: ship })));
    assert.ok(t.publicKeyOf('ship1'));
    assert.equal(t.apply(set(1, { central: centralText })), false, 'an older set is ignored (a replayed push)');
    assert.ok(t.publicKeyOf('ship1'));
    const evil = generateKeyPairSync('ed25519');
    assert.throws(() => t.apply(set(9, {}, evil.privateKey, publicKeyToText(evil.publicKey))), /pinned/);
    const altered = { ...set(3, { central: centralText }), keys: { central: centralText, ship1: ship, intruder: ship } };
    assert.throws(() => t.apply(altered), /does not verify/);
    assert.ok(t.apply(set(4, { central: centralText })), 'revocation');
    assert.equal(t.publicKeyOf('ship1'), undefined);
  });

  it('with --centralPublicKey, refuses a first set from another key', () => {
    const t = new TrustStore(tempDir(), 'central', centralText);
    const evil = generateKeyPairSync('ed25519');
    assert.throws(() => t.apply(set(1, {}, evil.privateKey, publicKeyToText(evil.publicKey))), /pinned/);
  });
});

describe('key register', () => {
  it('a hello records a pending key; a forged hello cannot replace an approved key', () => {
    const d = tempDir();
    const k1 = publicKeyToText(generateKeyPairSync('ed25519').publicKey);
    const k2 = publicKeyToText(generateKeyPairSync('ed25519').publicKey);
    assert.equal(recordHelloKey(d, 'ship1', k1).status, KeyStatus.Pending);
    decideKey(d, 'ship1', KeyStatus.Allowed, keyFingerprint(k1));
    const v = readRegistry(d).version;
    const forged = recordHelloKey(d, 'ship1', k2);
    assert.equal(forged.status, KeyStatus.Allowed);
    assert.equal(forged.accepted, false);
    const e = readRegistry(d).nodes.ship1!;
    assert.equal(e.publicKey, k1);
    assert.deepEqual(
      e.offered?.map((o) => o.publicKey),
      [k2],
    );
    assert.equal(readRegistry(d).version, v);
    decideKey(d, 'ship1', KeyStatus.Revoked);
    assert.equal(readRegistry(d).version, v + 1);
  });
});

describe('ACL', () => {
  const acl = parseAcl({
    nodeGroups: { ops: ['central', 'ops1'] },
    commandGroups: { read: ['ls -l *', 'df -h'] },
    rules: [
      { to: '*', from: '@ops', method: 'CLICommand', commands: ['@read', 'systemctl restart nginx'] },
      { to: 'ship1', from: 'central', method: 'TextLogging' },
    ],
  });
  const q = (from: string, method: string, data: string[], to = 'ship1') => aclRefusal(acl, { to, from, method, data, central: 'central' });

  it('allows listed senders, methods and commands (exact and glob)', () => {
    assert.equal(q('central', 'CLICommand', ['ls', '-l', 'tmp']), undefined);
    assert.equal(q('ops1', 'CLICommand', ['df', '-h'], 'ship9'), undefined);
    assert.equal(q('ops1', 'CLICommand', ['systemctl', 'restart', 'nginx']), undefined);
    assert.equal(q('central', 'TextLogging', ['hi']), undefined);
  });

  it('denies by default: other senders, methods, commands and targets', () => {
    assert.match(q('ship2', 'CLICommand', ['ls'])!, /allows no CLICommand from ship2/);
    assert.match(q('central', 'CLICommand', ['rm', '-rf', '/'])!, /not the command "rm -rf \/"/);
    assert.match(q('central', 'CLICommand', ['df', '-h', '/'])!, /not the command/);
    assert.match(q('central', 'TextLogging', ['x'], 'ship2')!, /allows no TextLogging/);
    assert.match(q('central', 'ECHORequest', ['x'])!, /deny by default/);
    assert.equal(aclRefusal(acl, { to: 'central', from: 'ship5', method: 'ErrorLog', data: ['x'], central: 'central' }), undefined);
  });

  it('refuses a policy naming an unknown group', () => {
    assert.throws(() => parseAcl({ rules: [{ to: '@nope', from: '*', method: '*' }] }), /no node group "nope"/);
  });

  it('allows error reports and hellos of both generations to central only, without a rule (the method table marks them)', () => {
    for (const method of ['ErrorLog', 'REQErrorLog', 'SayHello', 'REQHello']) {
      assert.equal(q('ship5', method, ['x'], 'central'), undefined, method);
      assert.match(q('ship5', method, ['x'], 'ship1')!, /deny by default/, method);
    }
  });

  it('checks the commands of every method that runs one, the mature aliases included', () => {
    const any = parseAcl({ rules: [{ to: '*', from: 'central', method: '*', commands: ['uptime'] }] });
    for (const method of ['CLICommand', 'CLICommandRequest', 'CLICommandRequestNOSEQ', 'REQCliCommand', 'REQCliCommandCont']) {
      const ask = (...data: string[]) => aclRefusal(any, { to: 'ship1', from: 'central', method, data, central: 'central' });
      assert.equal(ask('uptime'), undefined, method);
      assert.match(ask('cat', '/etc/shadow')!, /not the command "cat \/etc\/shadow"/, method);
    }
    // A method whose data is not a command is allowed by the rule whatever its data says.
    assert.equal(
      aclRefusal(any, { to: 'ship1', from: 'central', method: 'REQToFileAppend', data: ['cat /etc/shadow'], central: 'central' }),
      undefined,
    );
  });
});

describe('broker authentication', () => {
  const base = {
    brokerTlsCa: '',
    brokerTlsCert: '',
    brokerTlsKey: '',
    brokerUser: '',
    brokerPassword: '',
    brokerToken: '',
    brokerNkeySeedFile: '',
    brokerCredsFile: '',
  };

  it('passes user and token to the client, describes them without secrets, and redacts them', () => {
    const c = { ...base, brokerUser: 'alice', brokerPassword: 's3cret-pw', brokerToken: 'tok-12345' };
    const o = brokerConnectOptions(c);
    assert.equal(o.user, 'alice');
    assert.equal(o.pass, 's3cret-pw');
    assert.equal(o.token, 'tok-12345');
    assert.doesNotMatch(describeBrokerAuth(c), /s3cret|tok-1/);
    assert.equal(redactSecrets('bad s3cret-pw and tok-12345', c), 'bad *** and ***');
  });

  it('reports a missing creds file by name, at start', () => {
    assert.throws(
      () => brokerConnectOptions({ ...base, brokerCredsFile: '/nonexistent/x.creds' }),
      /creds file \/nonexistent\/x.creds: ENOENT/,
    );
  });
});
