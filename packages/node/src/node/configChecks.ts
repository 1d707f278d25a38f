/**
 * The checks an option of the configuration schema can carry (configSchema.ts).
 * A check knows its rule as text, so the same words appear in the error
 * (`--orderedWindow must be a whole number ≥ 1, got 0`) and in the CLI
 * reference ("Must be a whole number ≥ 1."). Light on purpose: the CLI loads
 * this without the node runtime.
 */
import { isAbsolute, resolve } from 'node:path';
import { nodeNameProblem, publicKeyFromText } from '@steward/core';

/**
 * One rule of one option's value.
 *
 * @typeParam V - the option's value type
 */
export interface Check<V> {
  /**
   * The rule, completing "must be …" (`> 0`, `a whole number ≥ 1`), shown in
   * the CLI reference. Absent: the option's description already says it.
   */
  readonly rule?: string;
  /** Why `value` breaks the rule, completing the option's name (`must be > 0, got 0`); undefined when it does not. */
  problem(value: V): string | undefined;
}

/** A value as an error message shows it: strings quoted, so an empty or spaced value is visible. */
export function shown(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (Array.isArray(value)) return JSON.stringify(value);
  return String(value);
}

/** A check whose problem is "must be <rule>, got <value>". */
export function mustBe<V>(rule: string, ok: (value: V) => boolean, documented = true): Check<V> {
  return { rule: documented ? rule : undefined, problem: (v) => (ok(v) ? undefined : `must be ${rule}, got ${shown(v)}`) };
}

/** A number > 0 (a timeout: 0 would expire at once). */
export const positive = mustBe<number>('> 0', (v) => Number.isFinite(v) && v > 0);

/** A number ≥ 0 (an interval or count where 0 means "never" or "none"). */
export const nonNegative = mustBe<number>('≥ 0', (v) => Number.isFinite(v) && v >= 0);

/** A number > 0, or -1 for "no limit". */
export const positiveOrNoLimit = mustBe<number>('> 0, or -1 for no limit', (v) => v === -1 || (Number.isFinite(v) && v > 0));

/** A count of resends: a whole number ≥ 0, or -1 for "forever". */
export const retries = mustBe<number>('a whole number ≥ 0, or -1 for no limit', (v) => Number.isInteger(v) && v >= -1);

/** A whole number ≥ `min`. */
export function wholeAtLeast(min: number): Check<number> {
  return mustBe(`a whole number ≥ ${min}`, (v) => Number.isInteger(v) && v >= min);
}

/** A TCP port, or 0 for "off". */
export const portOrOff = mustBe<number>('a whole number from 0 to 65535', (v) => Number.isInteger(v) && v >= 0 && v <= 65535);

/** Whether `text` ends in `:<port>` with a port 0–65535, after a host of `hostPattern`. */
function hostAndPort(text: string, hostPattern: RegExp): boolean {
  const m = /^(.*):(\d{1,5})$/.exec(text);
  return !!m && hostPattern.test(m[1]!) && Number(m[2]) <= 65535;
}

/** `host:port` (an empty host listens on every interface), or `off` / empty for "off". */
export const hostPortOrOff = mustBe<string>('host:port, or "off"', (v) => v === '' || v === 'off' || hostAndPort(v, /^[^:\s]*$/));

/**
 * A listening address `host:port` (the CLI turns `port` and `:port` into
 * loopback), or empty for "off". IPv6 hosts are bracketed: `[::1]:2113`.
 */
export const listenAddressOrOff = mustBe<string>(
  '[host:]port (or "off")',
  (v) => v === '' || hostAndPort(v, /^(\[[0-9A-Fa-f:.]+\]|[^:\s[\]]+)$/),
  false,
);

/** An address of a NATS server: `host:port`, `nats://host:port` (also tls, ws, wss, with user@), `:port` or `port`. */
function brokerAddressOk(a: string): boolean {
  if (/^\d{1,5}$/.test(a)) return Number(a) >= 1 && Number(a) <= 65535;
  const m = /^(?:(?:nats|tls|ws|wss):\/\/(?:[^\s/@]+@)?)?(\[[0-9A-Fa-f:.]+\]|[^\s/:@[\]]*)(?::(\d{1,5}))?\/?$/.exec(a);
  if (!m || (m[1] === '' && m[2] === undefined)) return false;
  return m[2] === undefined || (Number(m[2]) >= 1 && Number(m[2]) <= 65535);
}

/** A list of NATS server addresses. */
export const brokerAddresses: Check<string[]> = {
  rule: 'addresses `host:port`, `nats://host:port` (or `tls://`, `ws://`, `wss://`), `:port` or `port`',
  problem: (list) => {
    const bad = list.filter((a) => !brokerAddressOk(a));
    return bad.length
      ? `must list broker addresses host:port, nats://host:port, :port or port; got ${bad.map(shown).join(', ')}`
      : undefined;
  },
};

/** A node name (a subject token: no dots, spaces or wildcards). */
export const nodeName: Check<string> = {
  problem: (v) => nodeNameProblem(v),
};

/** An absolute path; with `orEmpty`, also empty ("none"), with `orOff`, also `off`. */
export function absolutePath({ orEmpty = false, orOff = false } = {}): Check<string> {
  const also = [orEmpty ? 'empty' : '', orOff ? '"off"' : ''].filter(Boolean);
  const rule = `an absolute path${also.length ? `, or ${also.join(' or ')}` : ''}`;
  // Undocumented rule: the CLI resolves a relative path itself (see each option's description).
  return mustBe(rule, (v) => (orEmpty && v === '') || (orOff && v === 'off') || (v !== '' && isAbsolute(v)), false);
}

/** Folders a reply or a copy may write under: absolute, and never `/` itself. */
export const writeRoots: Check<string[]> = {
  rule: 'absolute folders, not `/`',
  problem: (list) => {
    const relative = list.filter((r) => !isAbsolute(r));
    if (relative.length) return `must list absolute folders, got ${relative.map(shown).join(', ')}`;
    if (list.some((r) => resolve(r) === '/')) return 'must not contain "/" (that would allow writing anywhere)';
    return undefined;
  },
};

/** Stately's inspector: `sky`, a `ws://` or `wss://` URL, or empty for "off". */
export const statelyTarget = mustBe<string>(
  '"sky" or a ws:// or wss:// URL',
  (v) => v === '' || v === 'sky' || /^wss?:\/\/\S+$/.test(v),
  false,
);

/** Central's public key as `steward keys show` prints it (base64 SPKI of an ed25519 key), or empty. */
export const publicKeyOrEmpty = mustBe<string>(
  'an ed25519 public key (base64, from `steward keys show`)',
  (v) => v === '' || publicKeyFromText(v) !== undefined,
);

/** A group name or numeric id (checked against the system's groups when the node starts), or empty. */
export const groupOrEmpty = mustBe<string>('a group name or id', (v) => v === '' || /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}\$?$/.test(v), false);
