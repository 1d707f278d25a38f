/**
 * Central's register of node keys, `<nodeFolder>/state/keys/registry.json`:
 * every key that arrived with a SayHello, and the operator's decision on it.
 * Central pushes the approved set to every node (see trustSync.ts); the
 * `steward keys` command edits this file on the machine central runs on.
 */
import { existsSync, mkdirSync, readFileSync, rmdirSync, statSync, mkdirSync as mkdirLock } from 'node:fs';
import { join } from 'node:path';
import { publicKeyFromText } from '@steward/core';
import { keysFolder, writeFileAtomic } from './keyStore.js';
import { ConfigFileError } from './errors.js';

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

/** One node in the register. */
export interface KeyEntry {
  publicKey: string;
  status: KeyStatus;
  firstSeen: string;
  lastSeen: string;
  /** A different key the node said hello with while it had a decided key; `allow` adopts it. */
  newKey?: string;
}

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

/**
 * Records the key a node said hello with. A new node is `pending`; a node
 * whose decided key differs keeps its status and key, the new key waits in
 * `newKey` (so a forged hello cannot replace or lock out an approved node).
 */
export function recordHelloKey(nodeFolder: string, node: string, publicKey: string, now = new Date()): KeyStatus {
  // Hellos come every few seconds from every node: rewrite the register only when something changed, or once a minute.
  const known = readRegistry(nodeFolder).nodes[node];
  if (known?.publicKey === publicKey && now.getTime() - Date.parse(known.lastSeen) < 60_000) return known.status;
  return updateRegistry(nodeFolder, (r) => {
    const t = now.toISOString();
    const e = r.nodes[node];
    if (!e) {
      r.nodes[node] = { publicKey, status: KeyStatus.Pending, firstSeen: t, lastSeen: t };
      return KeyStatus.Pending;
    }
    e.lastSeen = t;
    if (e.publicKey !== publicKey) {
      if (e.status === KeyStatus.Pending) e.publicKey = publicKey;
      else e.newKey = publicKey;
    }
    return e.status;
  });
}

/** Applies an operator's decision; returns the entry, or throws when the node is unknown. */
export function decideKey(nodeFolder: string, node: string, status: KeyStatus, publicKey?: string): KeyEntry {
  return updateRegistry(nodeFolder, (r) => {
    let e = r.nodes[node];
    if (publicKey !== undefined && !publicKeyFromText(publicKey)) throw new ConfigFileError(`not an ed25519 public key: ${publicKey}`);
    if (!e) {
      if (!publicKey) throw new ConfigFileError(`no key known for node "${node}" (it has not said hello; give its key with --publicKey)`);
      const t = new Date().toISOString();
      e = r.nodes[node] = { publicKey, status, firstSeen: t, lastSeen: t };
    }
    if (publicKey) e.publicKey = publicKey;
    else if (status === KeyStatus.Allowed && e.newKey) e.publicKey = e.newKey;
    if (status === KeyStatus.Allowed || publicKey) delete e.newKey;
    e.status = status === KeyStatus.Revoked && e.status !== KeyStatus.Allowed ? KeyStatus.Denied : status;
    return e;
  });
}
