/**
 * Access control lists: on each receiving node, which sender may call which
 * method, and for command methods which commands. Written at central
 * (`steward acl ...`, file `<central nodeFolder>/state/acl.json`) and pushed
 * to every node inside the signed key set. With `--enableAclCheck` a node
 * denies every message no rule allows.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigFileError } from './errors.js';
import { writeFileAtomic } from './keyStore.js';

/**
 * One rule. `to` and `from` are node names, `@group` (a node group) or `*`;
 * `method` a method name or `*`; `commands` (command methods only) exact
 * command lines or glob patterns (`*` any characters, `?` one), or
 * `@group` (a command group). A command line is the argv joined by single
 * spaces. No `commands` = any command.
 */
export interface AclRule {
  to: string;
  from: string;
  method: string;
  commands?: string[];
}

/** The whole policy. `version` grows with every change. */
export interface Acl {
  version: number;
  nodeGroups: Record<string, string[]>;
  commandGroups: Record<string, string[]>;
  rules: AclRule[];
}

/** Methods whose data is a command to run: their `commands` are checked. */
export const commandMethods: ReadonlySet<string> = new Set(['CLICommand', 'CLICommandRequest', 'CLICommandRequestNOSEQ']);

/**
 * Messages allowed without a rule: liveness and error reports to central,
 * and replies (they answer a request the receiver itself sent).
 */
const alwaysAllowed = (to: string, central: string, method: string) =>
  ((method === 'SayHello' || method === 'ErrorLog') && to === central) || method === 'CLICommandReply' || method === 'ECHOReply';

/** An empty policy (denies everything but the built-in allowances). */
export function emptyAcl(): Acl {
  return { version: 0, nodeGroups: {}, commandGroups: {}, rules: [] };
}

const isStringArray = (v: unknown): v is string[] => Array.isArray(v) && v.every((x) => typeof x === 'string');

/**
 * Validates a policy. @throws {@link ConfigFileError} naming the first problem.
 */
export function parseAcl(raw: unknown): Acl {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new ConfigFileError('ACL: must be a JSON object');
  const o = raw as Record<string, unknown>;
  const acl: Acl = { version: typeof o.version === 'number' ? o.version : 0, nodeGroups: {}, commandGroups: {}, rules: [] };
  for (const key of ['nodeGroups', 'commandGroups'] as const) {
    const g = o[key] ?? {};
    if (typeof g !== 'object' || g === null || Array.isArray(g)) throw new ConfigFileError(`ACL: ${key} must be an object of name → list`);
    for (const [name, members] of Object.entries(g as Record<string, unknown>)) {
      if (!isStringArray(members)) throw new ConfigFileError(`ACL: ${key}.${name} must be a list of strings`);
      acl[key][name] = members;
    }
  }
  if (!Array.isArray(o.rules ?? [])) throw new ConfigFileError('ACL: rules must be a list');
  ((o.rules ?? []) as unknown[]).forEach((r, i) => {
    const rule = r as Record<string, unknown>;
    for (const f of ['to', 'from', 'method'] as const)
      if (typeof rule?.[f] !== 'string' || rule[f] === '') throw new ConfigFileError(`ACL: rules[${i}].${f} must be a non-empty string`);
    if (rule.commands !== undefined && !isStringArray(rule.commands))
      throw new ConfigFileError(`ACL: rules[${i}].commands must be a list of strings`);
    for (const f of ['to', 'from'] as const) {
      const v = rule[f] as string;
      if (v.startsWith('@') && !acl.nodeGroups[v.slice(1)])
        throw new ConfigFileError(`ACL: rules[${i}].${f}: no node group "${v.slice(1)}"`);
    }
    for (const c of (rule.commands as string[] | undefined) ?? [])
      if (c.startsWith('@') && !acl.commandGroups[c.slice(1)])
        throw new ConfigFileError(`ACL: rules[${i}].commands: no command group "${c.slice(1)}"`);
    const out: AclRule = { to: rule.to as string, from: rule.from as string, method: rule.method as string };
    if (rule.commands) out.commands = rule.commands as string[];
    acl.rules.push(out);
  });
  return acl;
}

function globToRegExp(glob: string): RegExp {
  const body = glob
    .replace(/[.+^${}()|[\]\\]/g, '\\$&')
    .replace(/\*/g, '[\\s\\S]*')
    .replace(/\?/g, '[\\s\\S]');
  return new RegExp(`^${body}$`);
}

function nodeMatches(acl: Acl, pattern: string, node: string): boolean {
  if (pattern === '*') return true;
  if (pattern.startsWith('@')) return (acl.nodeGroups[pattern.slice(1)] ?? []).includes(node);
  return pattern === node;
}

function commandMatches(acl: Acl, patterns: string[], line: string): boolean {
  const all = patterns.flatMap((p) => (p.startsWith('@') ? (acl.commandGroups[p.slice(1)] ?? []) : [p]));
  return all.some((p) => (/[*?]/.test(p) ? globToRegExp(p).test(line) : p === line));
}

/** What the ACL is asked about. */
export interface AclRequest {
  /** The receiving node. */
  to: string;
  from: string;
  method: string;
  /** The message data (the argv of a command method). */
  data: readonly unknown[];
  /** Central's name (for the built-in allowances). */
  central: string;
  /** Whether `data` is a command (checked against `commands`). @defaultValue the method is in {@link commandMethods} */
  isCommand?: boolean;
}

/** Why `acl` refuses `q`, or undefined when a rule allows it. */
export function aclRefusal(acl: Acl, q: AclRequest): string | undefined {
  if (alwaysAllowed(q.to, q.central, q.method)) return undefined;
  const line = q.data.map(String).join(' ');
  const isCommand = q.isCommand ?? commandMethods.has(q.method);
  let methodAllowed = false;
  for (const r of acl.rules) {
    if (!nodeMatches(acl, r.to, q.to) || !nodeMatches(acl, r.from, q.from) || (r.method !== '*' && r.method !== q.method)) continue;
    methodAllowed = true;
    if (!isCommand || !r.commands || commandMatches(acl, r.commands, line)) return undefined;
  }
  if (methodAllowed) return `ACL allows ${q.from} to call ${q.method} on ${q.to}, but not the command "${line.slice(0, 200)}"`;
  return `ACL allows no ${q.method} from ${q.from} on ${q.to} (deny by default)`;
}

/** The ACL file of the central node whose folder is `nodeFolder`. */
export function aclPath(nodeFolder: string): string {
  return join(nodeFolder, 'state', 'acl.json');
}

/** Reads central's ACL file (an empty policy when there is none). */
export function readAcl(nodeFolder: string): Acl {
  const path = aclPath(nodeFolder);
  if (!existsSync(path)) return emptyAcl();
  try {
    return parseAcl(JSON.parse(readFileSync(path, 'utf8')));
  } catch (err) {
    throw new ConfigFileError(`${path}: ${(err as Error).message}`, { cause: err });
  }
}

/** Validates and installs a new policy at central, one version above the current one. */
export function writeAcl(nodeFolder: string, next: Acl): Acl {
  const current = readAcl(nodeFolder);
  const acl = parseAcl({ ...next, version: Math.max(current.version, next.version) + 1 });
  writeFileAtomic(aclPath(nodeFolder), JSON.stringify(acl, null, 2) + '\n', 0o600);
  return acl;
}
