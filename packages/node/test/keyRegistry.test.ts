/**
 * The key register at central: fingerprints, a pending key that is never
 * swapped by a later hello, and approvals that must name the key the
 * operator checked (issue 12, hole 3).
 */
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { keyFingerprint, parseFingerprint, publicKeyToText } from '@steward/core';
import { KeyApprovalError } from '../src/security/errors.js';
import { decideKey, KeyStatus, MAX_OFFERED_KEYS, readRegistry, recordHelloKey, registryPath } from '../src/security/keyRegistry.js';

const dirs: string[] = [];
const tempDir = () => {
  const d = mkdtempSync(join(tmpdir(), 'steward-keyreg-'));
  dirs.push(d);
  return d;
};
after(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));
const newKey = () => publicKeyToText(generateKeyPairSync('ed25519').publicKey);

describe('key fingerprints', () => {
  it('are SHA256: and 32 hex digits of the raw key, the same for the key object and its text', () => {
    const { publicKey } = generateKeyPairSync('ed25519');
    const text = publicKeyToText(publicKey);
    const fp = keyFingerprint(text);
    assert.match(fp, /^SHA256:[0-9a-f]{32}$/);
    assert.equal(keyFingerprint(publicKey), fp);
    assert.notEqual(keyFingerprint(newKey()), fp);
    assert.throws(() => keyFingerprint('not a key'), TypeError);
  });

  it('parse as typed: any case, prefix optional, never a prefix of the digits', () => {
    const fp = keyFingerprint(newKey());
    assert.equal(parseFingerprint(fp), fp);
    assert.equal(parseFingerprint(fp.toUpperCase()), fp);
    assert.equal(parseFingerprint(fp.slice('SHA256:'.length)), fp);
    assert.equal(parseFingerprint(fp.slice(0, -1)), undefined);
    assert.equal(parseFingerprint(`${fp}0`), undefined);
  });
});

describe('key register', () => {
  it('keeps the first pending key; another key is offered, refused, and reported once', () => {
    const d = tempDir();
    const real = newKey();
    const forged = newKey();
    assert.deepEqual(recordHelloKey(d, 'ship1', real), {
      status: KeyStatus.Pending,
      registeredKey: real,
      accepted: true,
      newlyOffered: false,
      keysOffered: 1,
    });
    const first = recordHelloKey(d, 'ship1', forged);
    assert.equal(first.accepted, false);
    assert.equal(first.newlyOffered, true);
    assert.equal(first.registeredKey, real);
    assert.equal(first.keysOffered, 2);
    const again = recordHelloKey(d, 'ship1', forged, new Date(Date.now() + 120_000));
    assert.equal(again.accepted, false);
    assert.equal(again.newlyOffered, false, 'a repeated forged hello is not a new offer');
    const e = readRegistry(d).nodes.ship1!;
    assert.equal(e.publicKey, real);
    assert.equal(e.status, KeyStatus.Pending);
    assert.deepEqual(
      e.offered?.map((o) => o.publicKey),
      [forged],
    );
    assert.equal(recordHelloKey(d, 'ship1', real).accepted, true, 'the real hello is still taken');
  });

  it('allow needs the key named; a wrong fingerprint changes nothing', () => {
    const d = tempDir();
    const real = newKey();
    recordHelloKey(d, 'ship1', real);
    const before = readFileSync(registryPath(d), 'utf8');
    assert.throws(
      () => decideKey(d, 'ship1', KeyStatus.Allowed),
      (e: Error) => e instanceof KeyApprovalError && /name the key/.test(e.message),
    );
    const wrong = keyFingerprint(newKey());
    assert.throws(
      () => decideKey(d, 'ship1', KeyStatus.Allowed, wrong),
      (e: Error) => e instanceof KeyApprovalError && e.message.includes(wrong) && e.message.includes(keyFingerprint(real)),
    );
    assert.throws(() => decideKey(d, 'ship1', KeyStatus.Allowed, 'SHA256:12'), /neither a key fingerprint/);
    assert.throws(() => decideKey(d, 'ship1', KeyStatus.Allowed, newKey(), { mustBeOffered: true }), KeyApprovalError);
    assert.equal(readFileSync(registryPath(d), 'utf8'), before);
    const ok = decideKey(d, 'ship1', KeyStatus.Allowed, keyFingerprint(real).toUpperCase());
    assert.equal(ok.entry.status, KeyStatus.Allowed);
    assert.equal(ok.entry.publicKey, real);
    assert.equal(readRegistry(d).version, 1);
  });

  it('approving one of two offered keys adopts it and drops the other', () => {
    const d = tempDir();
    const attacker = newKey();
    const real = newKey();
    recordHelloKey(d, 'ship1', attacker); // the forger was first
    recordHelloKey(d, 'ship1', real);
    const ok = decideKey(d, 'ship1', KeyStatus.Allowed, keyFingerprint(real));
    assert.equal(ok.entry.publicKey, real);
    assert.deepEqual(ok.discarded, [keyFingerprint(attacker)]);
    assert.equal(readRegistry(d).nodes.ship1!.offered, undefined);
    assert.equal(recordHelloKey(d, 'ship1', attacker).accepted, false, 'the forger is refused, and shows again');
    assert.equal(readRegistry(d).nodes.ship1!.offered?.length, 1);
  });

  it('an approved node keeps its key; a new key (reinstall) is adopted only when named', () => {
    const d = tempDir();
    const k1 = newKey();
    const k2 = newKey();
    recordHelloKey(d, 'ship1', k1);
    decideKey(d, 'ship1', KeyStatus.Allowed, k1, { mustBeOffered: true });
    assert.equal(recordHelloKey(d, 'ship1', k2).accepted, false);
    assert.equal(readRegistry(d).nodes.ship1!.publicKey, k1);
    // deny naming the offered key drops the offer; the approved key stays.
    const dropped = decideKey(d, 'ship1', KeyStatus.Denied, keyFingerprint(k2));
    assert.equal(dropped.entry.status, KeyStatus.Allowed);
    assert.equal(readRegistry(d).nodes.ship1!.offered, undefined);
    recordHelloKey(d, 'ship1', k2, new Date(Date.now() + 1000));
    assert.throws(() => decideKey(d, 'ship1', KeyStatus.Revoked, keyFingerprint(k2)), /never allowed/);
    decideKey(d, 'ship1', KeyStatus.Allowed, keyFingerprint(k2));
    assert.equal(readRegistry(d).nodes.ship1!.publicKey, k2);
    assert.equal(readRegistry(d).version, 2);
  });

  it('a whole key approves a node that never said hello; a fingerprint cannot', () => {
    const d = tempDir();
    const k = newKey();
    assert.throws(() => decideKey(d, 'ship9', KeyStatus.Allowed, keyFingerprint(k)), /has not said hello/);
    assert.equal(decideKey(d, 'ship9', KeyStatus.Allowed, k, { mustBeOffered: true }).entry.publicKey, k);
  });

  it(`keeps at most ${MAX_OFFERED_KEYS} offered keys, dropping the one seen least recently`, () => {
    const d = tempDir();
    const real = newKey();
    recordHelloKey(d, 'ship1', real);
    const t0 = Date.now();
    const offers = Array.from({ length: MAX_OFFERED_KEYS + 1 }, newKey);
    offers.forEach((k, i) => recordHelloKey(d, 'ship1', k, new Date(t0 + i * 1000)));
    const kept = readRegistry(d).nodes.ship1!.offered!.map((o) => o.publicKey);
    assert.equal(kept.length, MAX_OFFERED_KEYS);
    assert.ok(!kept.includes(offers[0]!));
    assert.equal(readRegistry(d).nodes.ship1!.publicKey, real);
  });

  it('reads a register written before offered keys (newKey)', () => {
    const d = tempDir();
    const k1 = newKey();
    const k2 = newKey();
    mkdirSync(join(d, 'state', 'keys'), { recursive: true });
    const t = new Date().toISOString();
    writeFileSync(
      registryPath(d),
      JSON.stringify({ version: 3, nodes: { ship1: { publicKey: k1, status: 'allowed', firstSeen: t, lastSeen: t, newKey: k2 } } }),
    );
    const e = readRegistry(d).nodes.ship1!;
    assert.deepEqual(
      e.offered?.map((o) => o.publicKey),
      [k2],
    );
    assert.equal((e as { newKey?: string }).newKey, undefined);
  });
});
