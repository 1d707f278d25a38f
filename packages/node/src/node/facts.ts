/**
 * A node's facts: what its SayHello tells central besides its version and
 * key, so operators can pick nodes by what they are (`steward nodes --where
 * arch=arm64 --where tag:site=north`), like Salt's grains or Choria's facts.
 *
 * Each fact travels as one `name=value` element of the hello's data, after
 * `steward <version>` and `publicKey=<key>` (which stay as they were: older
 * centrals read those two and ignore the rest). Central keeps the hello's
 * data in its registry (`nodes.info`, the elements joined by spaces), and
 * {@link parseFacts} reads the facts back from there, so the journal needs
 * no new column. For that, no fact holds whitespace.
 *
 * The facts are the node's own claims: they choose where a message goes,
 * never what a node may do (the ACL decides that, by node name).
 */
import { existsSync, readFileSync } from 'node:fs';
import { arch, platform, release } from 'node:os';
import { join } from 'node:path';
import { stewardVersion } from '../version.js';

/** The facts every node reports about itself (tags come on top, as `tag:<name>`). */
export const builtinFacts = ['os', 'distro', 'arch', 'kernel', 'version'] as const;

/** The prefix of a tag's fact name: `tag:site=north`. */
export const TAG_PREFIX = 'tag:';

/** The environment variable holding tags: `site=north,role=db`. */
export const TAGS_ENV = 'STEWARD_TAGS';

const tagNamePattern = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;
/** A value: no whitespace (the registry joins elements by spaces) and no comma (STEWARD_TAGS separates by commas). */
const valuePattern = /^[^\s,]{1,128}$/;
const factElement = new RegExp(`^(${builtinFacts.join('|')}|${TAG_PREFIX}[A-Za-z0-9][A-Za-z0-9_.-]{0,63})=([^\\s,]{1,128})$`);

/** A node's facts by name (`arch`, `tag:site`, ...). */
export type Facts = Record<string, string>;

/** What {@link readNodeFacts} found: the facts, and what it had to leave out. */
export interface NodeFactsResult {
  facts: Facts;
  warnings: string[];
}

/**
 * This node's facts: the machine's (OS, distribution, architecture, kernel
 * release, steward version) and its tags, from the `tags` object of
 * `<nodeFolder>/steward.json` and from {@link TAGS_ENV} (which wins, tag by
 * tag). A tag that cannot travel (a bad name, whitespace or a comma in the
 * value) is left out with a warning.
 */
export function readNodeFacts(nodeFolder: string, env: NodeJS.ProcessEnv = process.env): NodeFactsResult {
  const warnings: string[] = [];
  const facts: Facts = {};
  const add = (name: string, value: string) => {
    const v = value.trim().replace(/\s+/g, '_');
    if (valuePattern.test(v)) facts[name] = v;
  };
  add('os', platform());
  const distro = distroId();
  if (distro) add('distro', distro);
  add('arch', arch());
  add('kernel', release());
  add('version', stewardVersion);
  const tags = { ...fileTags(join(nodeFolder, 'steward.json'), warnings), ...envTags(env[TAGS_ENV], warnings) };
  for (const [name, value] of Object.entries(tags)) {
    if (!tagNamePattern.test(name)) warnings.push(`tag "${name}" left out: a tag name is 1 to 64 letters, digits, "_", "." or "-"`);
    else if (!valuePattern.test(value))
      warnings.push(`tag "${name}" left out: its value must be 1 to 128 characters without spaces or commas, got "${value}"`);
    else facts[TAG_PREFIX + name] = value;
  }
  return { facts, warnings };
}

/** The SayHello data elements for `facts`: `name=value` each. */
export function factElements(facts: Facts): string[] {
  return Object.entries(facts).map(([name, value]) => `${name}=${value}`);
}

/**
 * The facts a registry entry's `info` (a hello's data joined by spaces)
 * holds. A node older than facts said only `steward <version>`: its version
 * is still a fact.
 */
export function parseFacts(info: string): Facts {
  const facts: Facts = {};
  for (const el of info.split(/\s+/)) {
    const m = factElement.exec(el);
    if (m) facts[m[1]!] = m[2]!;
  }
  const version = /^steward (\S+)/.exec(info)?.[1];
  if (facts.version === undefined && version) facts.version = version;
  return facts;
}

/** `ID` of /etc/os-release (debian, ubuntu, alpine, ...), when there is one. */
function distroId(): string | undefined {
  for (const file of ['/etc/os-release', '/usr/lib/os-release']) {
    try {
      const m = /^ID="?([^"\n]+)"?$/m.exec(readFileSync(file, 'utf8'));
      if (m) return m[1];
    } catch {
      // not on this system: try the next, else no distro fact
    }
  }
  return undefined;
}

/** The `tags` object of the node's steward.json, if it has one. */
function fileTags(path: string, warnings: string[]): Record<string, string> {
  if (!existsSync(path)) return {};
  let raw: unknown;
  try {
    raw = (JSON.parse(readFileSync(path, 'utf8')) as { tags?: unknown }).tags;
  } catch (err) {
    warnings.push(`tags of ${path} not read: ${(err as Error).message}`);
    return {};
  }
  if (raw === undefined) return {};
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    warnings.push(`"tags" of ${path} must be an object of strings, e.g. {"site": "north"}`);
    return {};
  }
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(raw)) {
    if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') out[k] = String(v);
    else warnings.push(`tag "${k}" of ${path} left out: its value must be a string`);
  }
  return out;
}

/** Tags of `site=north,role=db`. */
function envTags(text: string | undefined, warnings: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const part of (text ?? '').split(',')) {
    const p = part.trim();
    if (p === '') continue;
    const i = p.indexOf('=');
    if (i <= 0) {
      warnings.push(`${TAGS_ENV}: "${p}" left out: write name=value, e.g. site=north`);
      continue;
    }
    out[p.slice(0, i).trim()] = p.slice(i + 1).trim();
  }
  return out;
}
