/**
 * Central's register of node keys, `<nodeFolder>/state/keys/registry.json`:
 * every key that arrived with a SayHello, and the operator's decision on it.
 * Central pushes the approved set to every node (see trustSync.ts); the
 * `steward keys` command edits this file on the machine central runs on.
 */
import { existsSync, mkdirSync, readFileSync, rmdirSync, statSync, mkdirSync as mkdirLock } from 'node:fs';
import { join } from 'node:path';
import { FINGERPRINT_PREFIX, keyFingerprint, parseFingerprint, publicKeyFromText } from '@steward/core';
import { keysFolder, writeFileAtomic } from './keyStore.js';
import { ConfigFileError, KeyApprovalError } from './errors.js';

/** What the operator decided about a node's key. */
export const KeyStatus = {
  /** Seen in a hello, not decided yet: not trusted. */
  Pending: 'pending',
  /** Trusted everywhere after the next push. */
  Allowed: 'allowed',
  /** Refused; its hellos are still recorded. */
  Denied: 'denied',
  /** Was allowed, no longer: refused everywhere after the next push. */
  Revoked: 'revoked',
} as const;
export type KeyStatus = (typeof KeyStatus)[keyof typeof KeyStatus];

/** A key that said hello under a node's name but is not the node's key: never trusted until the operator names it. */
export interface OfferedKey {
  publicKey: string;
  firstSeen: string;
  lastSeen: string;
}

/** One node in the register. */
export interface KeyEntry {
  /** The node's key: the first one it said hello with, or the one the operator approved. A later hello never replaces it. */
  publicKey: string;
  status: KeyStatus;
  firstSeen: string;
  lastSeen: string;
  /**
   * Other keys that said hello under this name, oldest first (an attack, or
   * a reinstall): `steward keys list` shows them as a conflict, and
   * `steward keys allow <node> <fingerprint>` adopts the one the operator names.
   */
  offered?: OfferedKey[];
}

/** How many offered keys a node keeps; a new one pushes out the one seen least recently. */
export const MAX_OFFERED_KEYS = 8;

/** The register. `version` grows whenever the approved set changes. */
export interface KeyRegistry {
  version: number;
  nodes: Record<string, KeyEntry>;
}

/** The register file of the central node whose folder is `nodeFolder`. */
export function registryPath(nodeFolder: string): string {
  return join(keysFolder(nodeFolder), 'registry.json');
}

/** Reads the register (empty when there is none yet). */
export function readRegistry(nodeFolder: string): KeyRegistry {
  const path = registryPath(nodeFolder);
  if (!existsSync(path)) return { version: 0, nodes: {} };
  try {
    const r = JSON.parse(readFileSync(path, 'utf8')) as KeyRegistry;
    if (typeof r.version !== 'number' || typeof r.nodes !== 'object' || r.nodes === null) throw new Error('not a key register');
    for (const e of Object.values(r.nodes) as (KeyEntry & { newKey?: string })[]) {
      // Registers written before offered keys held at most one other key of a decided node, in `newKey`.
      if (e.newKey === undefined) continue;
      if (e.newKey !== e.publicKey && !e.offered?.some((o) => o.publicKey === e.newKey))
        (e.offered ??= []).push({ publicKey: e.newKey, firstSeen: e.lastSeen, lastSeen: e.lastSeen });
      delete e.newKey;
    }
    return r;
  } catch (err) {
    throw new ConfigFileError(`${path}: ${(err as Error).message}`, { cause: err });
  }
}

/** The approved keys: node name → public key text. */
export function approvedKeys(r: KeyRegistry): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, e] of Object.entries(r.nodes)) if (e.status === KeyStatus.Allowed) out[name] = e.publicKey;
  return out;
}

function sameSet(a: Record<string, string>, b: Record<string, string>): boolean {
  const ka = Object.keys(a);
  return ka.length === Object.keys(b).length && ka.every((k) => a[k] === b[k]);
}

function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/**
 * Changes the register under a lock (central and the `steward keys` command
 * both write it), bumping `version` when the approved set changed.
 */
export function updateRegistry<T>(nodeFolder: string, change: (r: KeyRegistry) => T): T {
  mkdirSync(keysFolder(nodeFolder), { recursive: true, mode: 0o700 });
  const lock = registryPath(nodeFolder) + '.lock';
  const deadline = Date.now() + 5000;
  for (;;) {
    try {
      mkdirLock(lock);
      break;
    } catch {
      // A lock left by a killed process is stale after 10 s.
      try {
        if (Date.now() - statSync(lock).mtimeMs > 10_000) rmdirSync(lock);
      } catch {
        // gone meanwhile
      }
      if (Date.now() > deadline)
        throw new ConfigFileError(`could not lock ${registryPath(nodeFolder)} (remove ${lock} if no steward runs)`);
      sleepSync(20);
    }
  }
  try {
    const r = readRegistry(nodeFolder);
    const before = approvedKeys(r);
    const result = change(r);
    if (!sameSet(before, approvedKeys(r))) r.version++;
    writeFileAtomic(registryPath(nodeFolder), JSON.stringify(r, null, 2) + '\n', 0o600);
    return result;
  } finally {
    rmdirSync(lock);
  }
}

/** What {@link recordHelloKey} found. */
export interface HelloKeyOutcome {
  /** The node's status in the register. */
  status: KeyStatus;
  /** The node's key in the register. */
  registeredKey: string;
  /** Whether the hello carried the node's key. Otherwise its key was recorded as offered, and the hello must be refused. */
  accepted: boolean;
  /** Whether the hello's key was offered under this name for the first time (worth a warning). */
  newlyOffered: boolean;
  /** How many keys said hello under this name: the node's key plus the offered ones. */
  keysOffered: number;
}

function helloOutcome(e: KeyEntry, publicKey: string, newlyOffered: boolean): HelloKeyOutcome {
  return {
    status: e.status,
    registeredKey: e.publicKey,
    accepted: e.publicKey === publicKey,
    newlyOffered,
    keysOffered: 1 + (e.offered?.length ?? 0),
  };
}

/**
 * Records the key a node said hello with (the caller checked that the hello
 * is signed by it). A new node is `pending` with that key. The key of a
 * known node, pending or decided, is never replaced by a hello: another key
 * is kept in `offered` until the operator names the one to approve, so a
 * forged hello can neither swap the key the operator is about to approve
 * nor replace or lock out an approved node.
 */
export function recordHelloKey(nodeFolder: string, node: string, publicKey: string, now = new Date()): HelloKeyOutcome {
  const recent = (seen: string) => now.getTime() - Date.parse(seen) < 60_000;
  // Hellos come every few seconds from every node (and a forger may repeat its own): rewrite the register only when something changed, or once a minute.
  const known = readRegistry(nodeFolder).nodes[node];
  if (known) {
    const offer = known.offered?.find((o) => o.publicKey === publicKey);
    if ((known.publicKey === publicKey && recent(known.lastSeen)) || (offer && recent(offer.lastSeen)))
      return helloOutcome(known, publicKey, false);
  }
  return updateRegistry(nodeFolder, (r) => {
    const t = now.toISOString();
    let e = r.nodes[node];
    if (!e) {
      e = r.nodes[node] = { publicKey, status: KeyStatus.Pending, firstSeen: t, lastSeen: t };
      return helloOutcome(e, publicKey, false);
    }
    if (e.publicKey === publicKey) {
      e.lastSeen = t;
      return helloOutcome(e, publicKey, false);
    }
    const offers = (e.offered ??= []);
    const offer = offers.find((o) => o.publicKey === publicKey);
    if (offer) {
      offer.lastSeen = t;
      return helloOutcome(e, publicKey, false);
    }
    if (offers.length >= MAX_OFFERED_KEYS) {
      // A node that really has this name says hello every few seconds, so it stays; a flood of made-up keys pushes out its own.
      const stalest = offers.reduce((a, b) => (Date.parse(b.lastSeen) < Date.parse(a.lastSeen) ? b : a));
      offers.splice(offers.indexOf(stalest), 1);
    }
    offers.push({ publicKey, firstSeen: t, lastSeen: t });
    return helloOutcome(e, publicKey, true);
  });
}

/** The outcome of {@link decideKey}. */
export interface KeyDecision {
  /** The node's entry after the decision. */
  entry: KeyEntry;
  /** The fingerprint of the key the decision is about. */
  fingerprint: string;
  /** Fingerprints of the other keys the node had offered, dropped by this decision. */
  discarded: string[];
}

/** Options of {@link decideKey}. */
export interface DecideKeyOptions {
  /**
   * Refuse a whole key that is neither the node's key nor one it offered,
   * for a node that has said hello (what `steward keys allow` does; a node
   * that never said hello can still be approved with its whole key).
   * @defaultValue false: a whole key is the caller's own word and is adopted as given
   */
  mustBeOffered?: boolean;
}

/** The keys a node said hello with, its own key first, each with its fingerprint. */
function keysOf(e: KeyEntry): { publicKey: string; fingerprint: string; role: string }[] {
  return [
    { publicKey: e.publicKey, fingerprint: keyFingerprint(e.publicKey), role: `its ${e.status} key` },
    ...(e.offered ?? []).map((o) => ({ publicKey: o.publicKey, fingerprint: keyFingerprint(o.publicKey), role: 'offered' })),
  ];
}

function describeKeys(e: KeyEntry): string {
  return keysOf(e)
    .map((k) => `${k.fingerprint} (${k.role})`)
    .join(', ');
}

/**
 * Applies an operator's decision; returns what was decided. `key` names the
 * key the operator checked: its fingerprint ({@link keyFingerprint}) or the
 * whole key.
 *
 * - `allowed`: `key` is required. A fingerprint must be the node's key or
 *   one of its offered keys; that key becomes the node's key and the other
 *   offered keys are dropped. A whole key is adopted as given (a node that
 *   has not said hello yet, central's own key), unless
 *   {@link DecideKeyOptions.mustBeOffered}.
 * - `denied` / `revoked`: apply to the node's key; a `key`, when given, must
 *   name it. `denied` naming an offered key drops that offer instead.
 *
 * @throws {@link KeyApprovalError} when no key is named for `allowed`, or the
 *   named key is not one the node offered (nothing is changed then).
 * @throws {@link ConfigFileError} when the node is unknown and no whole key is given.
 */
export function decideKey(nodeFolder: string, node: string, status: KeyStatus, key?: string, options: DecideKeyOptions = {}): KeyDecision {
  const wholeKey = key !== undefined && publicKeyFromText(key) ? key : undefined;
  const fingerprint = key === undefined ? undefined : wholeKey ? keyFingerprint(wholeKey) : parseFingerprint(key);
  if (key !== undefined && !fingerprint)
    throw new KeyApprovalError(`"${key}" is neither a key fingerprint (${FINGERPRINT_PREFIX}<32 hex digits>) nor an ed25519 public key`);
  return updateRegistry(nodeFolder, (r) => {
    let e = r.nodes[node];
    if (!e) {
      if (!wholeKey)
        throw new ConfigFileError(
          `no key known for node "${node}" (it has not said hello): give its whole key, as \`steward keys show\` prints it on ${node}`,
        );
      const t = new Date().toISOString();
      e = r.nodes[node] = { publicKey: wholeKey, status, firstSeen: t, lastSeen: t };
      return { entry: e, fingerprint: fingerprint!, discarded: [] };
    }
    const keys = keysOf(e);
    const named = fingerprint === undefined ? undefined : keys.find((k) => k.fingerprint === fingerprint);
    if (fingerprint !== undefined && !named && !(status === KeyStatus.Allowed && wholeKey && !options.mustBeOffered))
      throw new KeyApprovalError(`"${node}" said hello with ${describeKeys(e)}, not with ${fingerprint} you named: nothing changed`);
    if (status === KeyStatus.Allowed) {
      if (fingerprint === undefined)
        throw new KeyApprovalError(
          `name the key of "${node}" you checked: it said hello with ${describeKeys(e)}; compare with \`steward keys show\` on ${node}, then run: steward keys allow ${node} <fingerprint>`,
        );
      const chosen = named?.publicKey ?? wholeKey!;
      const discarded = keys.filter((k) => k.publicKey !== chosen).map((k) => k.fingerprint);
      e.publicKey = chosen;
      delete e.offered;
      e.status = KeyStatus.Allowed;
      return { entry: e, fingerprint: fingerprint, discarded };
    }
    if (named && named.publicKey !== e.publicKey) {
      if (status !== KeyStatus.Denied)
        throw new KeyApprovalError(`${named.fingerprint} is only offered by "${node}", never allowed: nothing to revoke (deny it instead)`);
      e.offered = e.offered?.filter((o) => o.publicKey !== named.publicKey);
      if (!e.offered?.length) delete e.offered;
      return { entry: e, fingerprint: named.fingerprint, discarded: [named.fingerprint] };
    }
    e.status = status === KeyStatus.Revoked && e.status !== KeyStatus.Allowed ? KeyStatus.Denied : status;
    return { entry: e, fingerprint: keyFingerprint(e.publicKey), discarded: [] };
  });
}
