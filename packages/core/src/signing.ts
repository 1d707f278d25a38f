/**
 * Message signatures: ed25519 over a canonical serialisation of the whole
 * wire message (every field except `signature`), so no field that decides
 * what runs (method, arguments, target, directory, expiry...) can be changed
 * without the receiver noticing.
 */
import { createHash, createPrivateKey, createPublicKey, sign, verify, type KeyObject } from 'node:crypto';

/** The wire field that carries the signature (base64). */
export const SIGNATURE_FIELD = 'signature';

/**
 * JSON with object keys sorted at every level and no whitespace. Sender and
 * receiver both canonicalise the parsed JSON value, so key order and spacing
 * on the wire do not matter, while every value does.
 */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  if (Array.isArray(value)) return `[${value.map((v) => (v === undefined ? 'null' : canonicalJson(v))).join(',')}]`;
  const obj = value as Record<string, unknown>;
  const keys = Object.keys(obj)
    .filter((k) => obj[k] !== undefined)
    .sort();
  return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson(obj[k])}`).join(',')}}`;
}

/** The bytes that are signed: the canonical JSON of `message` without its signature. */
export function signedBytes(message: Record<string, unknown>): Buffer {
  const copy: Record<string, unknown> = { ...message };
  delete copy[SIGNATURE_FIELD];
  return Buffer.from(canonicalJson(copy), 'utf8');
}

/** Signs `message` (a parsed JSON object) with an ed25519 private key; returns base64. */
export function signMessage(message: Record<string, unknown>, privateKey: KeyObject): string {
  return sign(null, signedBytes(message), privateKey).toString('base64');
}

/**
 * The signed wire text of `message` in one pass: its canonical JSON (without
 * any old signature) with the signature added as the last field. The
 * receiver canonicalises what it parses, so this verifies like
 * {@link signMessage}'s signature on any serialisation.
 */
export function signedJson(message: Record<string, unknown>, privateKey: KeyObject): string {
  const copy: Record<string, unknown> = { ...message };
  delete copy[SIGNATURE_FIELD];
  const canonical = canonicalJson(copy);
  const signature = sign(null, Buffer.from(canonical, 'utf8'), privateKey).toString('base64');
  const field = `${JSON.stringify(SIGNATURE_FIELD)}:${JSON.stringify(signature)}`;
  return canonical === '{}' ? `{${field}}` : `${canonical.slice(0, -1)},${field}}`;
}

/** Whether `signature` (base64) over `message` verifies against `publicKey`. Never throws. */
export function verifyMessage(message: Record<string, unknown>, signature: unknown, publicKey: KeyObject): boolean {
  if (typeof signature !== 'string' || signature.length === 0 || signature.length > 200) return false;
  try {
    return verify(null, signedBytes(message), publicKey, Buffer.from(signature, 'base64'));
  } catch {
    return false;
  }
}

/** An ed25519 public key from its base64 SPKI DER text, or undefined when it is not one. */
export function publicKeyFromText(text: unknown): KeyObject | undefined {
  if (typeof text !== 'string' || !/^[A-Za-z0-9+/=]{40,100}$/.test(text)) return undefined;
  try {
    const key = createPublicKey({ key: Buffer.from(text, 'base64'), format: 'der', type: 'spki' });
    return key.asymmetricKeyType === 'ed25519' ? key : undefined;
  } catch {
    return undefined;
  }
}

/** The base64 SPKI DER text of a public key (what travels in SayHello and key sets). */
export function publicKeyToText(key: KeyObject): string {
  return key.export({ format: 'der', type: 'spki' }).toString('base64');
}

/** An ed25519 private key from PKCS#8 PEM text. */
export function privateKeyFromPem(pem: string): KeyObject {
  return createPrivateKey({ key: pem, format: 'pem' });
}

/** What every key fingerprint starts with. */
export const FINGERPRINT_PREFIX = 'SHA256:';

/** How many hex digits of the SHA-256 a fingerprint keeps: 128 bits, too many to forge a key for. */
const FINGERPRINT_HEX_DIGITS = 32;

/**
 * The short fingerprint of an ed25519 public key that operators compare
 * before approving it: `SHA256:` and the first 32 hex digits (128 bits) of
 * the SHA-256 of the 32 raw key bytes. The raw bytes are the last 32 of the
 * key's SPKI DER, so a shell checks it with
 * `base64 -d node.pub | tail -c 32 | sha256sum | cut -c1-32`.
 *
 * @param key - the key, or its base64 SPKI DER text
 * @throws TypeError when `key` is not an ed25519 public key
 */
export function keyFingerprint(key: KeyObject | string): string {
  const k = typeof key === 'string' ? publicKeyFromText(key) : key;
  if (!k || k.type !== 'public' || k.asymmetricKeyType !== 'ed25519') throw new TypeError('not an ed25519 public key');
  const raw = k.export({ format: 'der', type: 'spki' }).subarray(-32);
  return FINGERPRINT_PREFIX + createHash('sha256').update(raw).digest('hex').slice(0, FINGERPRINT_HEX_DIGITS);
}

/**
 * A fingerprint as an operator typed it, in the form {@link keyFingerprint}
 * prints (hex digits in any case, `SHA256:` optional), or undefined when
 * `text` is not one. Only the whole fingerprint counts: a prefix is refused.
 */
export function parseFingerprint(text: string): string | undefined {
  const m = /^(?:sha256:)?([0-9a-f]+)$/i.exec(text.trim());
  return m && m[1]!.length === FINGERPRINT_HEX_DIGITS ? FINGERPRINT_PREFIX + m[1]!.toLowerCase() : undefined;
}
