/**
 * The keys a node trusts: the approved set central pushed last, kept in
 * `<nodeFolder>/state/keys/trusted.json`, and central's own key, configured
 * (`--centralPublicKey`) or pinned from the first key set received.
 */
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { KeyObject } from 'node:crypto';
import { publicKeyFromText, signMessage, verifyMessage } from '@steward/core';
import { keysFolder, writeFileAtomic } from './keyStore.js';
import { KeySetError } from './errors.js';
import { emptyAcl, parseAcl, type Acl } from './acl.js';

/** The method name of a key-set push (subject `<node>.EventNACK.KeysUpdate`). */
export const KEYS_UPDATE = 'KeysUpdate';

/** The approved keys as central pushes them, signed by central. */
export interface KeySet {
  type: 'KeysUpdate';
  /** Central's name. */
  fromNode: string;
  /** Grows with every change of the approved set; an older set is ignored. */
  version: number;
  /** Node name → public key text. */
  keys: Record<string, string>;
  /** Central's public key text (checked against the pinned one). */
  centralPublicKey: string;
  /** Milliseconds since the epoch. */
  issuedAt: number;
  /** The access control lists of the fleet. */
  acl?: Acl;
  signature?: string;
}

/** Signs a key set with central's private key. */
export function signKeySet(set: Omit<KeySet, 'signature'>, privateKey: KeyObject): KeySet {
  return { ...set, signature: signMessage(set as unknown as Record<string, unknown>, privateKey) };
}

interface TrustFile {
  version: number;
  acl?: Acl;
  centralPublicKey: string;
  keys: Record<string, string>;
}

/** The keys one node trusts. */
export class TrustStore {
  private data: TrustFile;
  private readonly path: string;
  private cache = new Map<string, KeyObject>();

  /**
   * @param configuredCentralKey `--centralPublicKey`; empty = pin on first use.
   */
  constructor(
    nodeFolder: string,
    private readonly centralName: string,
    configuredCentralKey: string,
  ) {
    mkdirSync(keysFolder(nodeFolder), { recursive: true, mode: 0o700 });
    this.path = join(keysFolder(nodeFolder), 'trusted.json');
    this.data = existsSync(this.path)
      ? (JSON.parse(readFileSync(this.path, 'utf8')) as TrustFile)
      : { version: 0, centralPublicKey: '', keys: {} };
    if (configuredCentralKey) {
      if (!publicKeyFromText(configuredCentralKey))
        throw new KeySetError('--centralPublicKey is not an ed25519 public key (base64, from `steward keys show`)');
      if (this.data.centralPublicKey !== configuredCentralKey) this.data = { version: 0, centralPublicKey: configuredCentralKey, keys: {} };
    }
  }

  /** The version of the key set held. */
  get version(): number {
    return this.data.version;
  }

  /** Central's pinned key text ('' before the first key set). */
  get centralKey(): string {
    return this.data.centralPublicKey;
  }

  /** The ACL received with the key set (empty before the first). */
  get acl(): Acl {
    return this.data.acl ?? emptyAcl();
  }

  /** The trusted key of `node`, or undefined. */
  publicKeyOf(node: string): KeyObject | undefined {
    const text = this.data.keys[node];
    if (!text) return undefined;
    let k = this.cache.get(text);
    if (!k) {
      k = publicKeyFromText(text);
      if (k) this.cache.set(text, k);
    }
    return k;
  }

  /** Node names trusted now. */
  trustedNodes(): string[] {
    return Object.keys(this.data.keys);
  }

  /**
   * Adopts a key set from central when it is signed by central's pinned key
   * (pinned now if none is) and newer than the one held. Returns whether it
   * changed anything.
   *
   * @throws {@link KeySetError} when the set is not valid or not from central.
   */
  apply(raw: unknown): boolean {
    if (typeof raw !== 'object' || raw === null) throw new KeySetError('key set is not an object');
    const set = raw as Partial<KeySet>;
    if (set.type !== 'KeysUpdate' || set.fromNode !== this.centralName)
      throw new KeySetError(`key set not from central "${this.centralName}"`);
    if (typeof set.version !== 'number' || typeof set.keys !== 'object' || set.keys === null)
      throw new KeySetError('key set lacks version or keys');
    const pinned = this.data.centralPublicKey || (set.centralPublicKey ?? '');
    if (set.centralPublicKey !== pinned) throw new KeySetError("key set signed by a key that is not central's pinned key");
    const key = publicKeyFromText(pinned);
    if (!key || !verifyMessage(set as Record<string, unknown>, set.signature, key))
      throw new KeySetError('key set signature does not verify');
    for (const [n, k] of Object.entries(set.keys))
      if (!publicKeyFromText(k)) throw new KeySetError(`key set holds an invalid key for "${n}"`);
    const acl = set.acl === undefined ? emptyAcl() : parseAcl(set.acl);
    if (set.version <= this.data.version && this.data.centralPublicKey) return false;
    this.data = { version: set.version, centralPublicKey: pinned, keys: { ...set.keys }, acl };
    writeFileAtomic(this.path, JSON.stringify(this.data, null, 2) + '\n', 0o644);
    return true;
  }
}
