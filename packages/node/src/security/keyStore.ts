/**
 * The node's own ed25519 key pair, kept in `<nodeFolder>/state/keys/`:
 * `node.key` (PKCS#8 PEM, mode 0600) and `node.pub` (base64 SPKI DER).
 * Created on first start.
 */
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { generateKeyPairSync, createPublicKey, type KeyObject } from 'node:crypto';
import { join } from 'node:path';
import { privateKeyFromPem, publicKeyToText } from '@steward/core';
import { ConfigFileError } from './errors.js';

/** The node's key pair. */
export interface NodeKeys {
  privateKey: KeyObject;
  publicKey: KeyObject;
  /** The public key as it travels (base64 SPKI DER). */
  publicKeyText: string;
}

/** The folder of the key files of the node whose folder is `nodeFolder`. */
export function keysFolder(nodeFolder: string): string {
  return join(nodeFolder, 'state', 'keys');
}

/** Writes `text` to `path` atomically (temporary file, then rename) with `mode`. */
export function writeFileAtomic(path: string, text: string, mode = 0o600): void {
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, text, { mode });
  chmodSync(tmp, mode);
  renameSync(tmp, path);
}

/**
 * Loads the key pair of the node, creating it on first start.
 *
 * @throws {@link ConfigFileError} when the private key file is unreadable,
 *   not an ed25519 key, or readable by others than its owner.
 */
export function loadOrCreateNodeKeys(nodeFolder: string): NodeKeys {
  const dir = keysFolder(nodeFolder);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const keyPath = join(dir, 'node.key');
  if (!existsSync(keyPath)) {
    const { privateKey } = generateKeyPairSync('ed25519');
    writeFileAtomic(keyPath, privateKey.export({ format: 'pem', type: 'pkcs8' }).toString(), 0o600);
  }
  const mode = statSync(keyPath).mode & 0o777;
  if (mode & 0o077) throw new ConfigFileError(`${keyPath} is readable by others (mode ${mode.toString(8)}): chmod 600 it`);
  let privateKey: KeyObject;
  try {
    privateKey = privateKeyFromPem(readFileSync(keyPath, 'utf8'));
  } catch (err) {
    throw new ConfigFileError(`${keyPath} is not a private key: ${(err as Error).message}`, { cause: err });
  }
  if (privateKey.asymmetricKeyType !== 'ed25519') throw new ConfigFileError(`${keyPath} is not an ed25519 key`);
  const publicKey = createPublicKey(privateKey);
  const publicKeyText = publicKeyToText(publicKey);
  writeFileAtomic(join(dir, 'node.pub'), publicKeyText + '\n', 0o644);
  return { privateKey, publicKey, publicKeyText };
}
