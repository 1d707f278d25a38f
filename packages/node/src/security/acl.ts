/**
 * Access control lists: on each receiving node, which sender may call which
 * method, and for command methods which commands. Written at central
 * (`steward acl ...`, file `<central nodeFolder>/state/acl.json`) and pushed
 * to every node inside the signed key set. With `--enableAclCheck` a node
 * denies every message no rule allows.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DataShape, methodInfo } from '@steward/core';
import { ConfigFileError } from './errors.js';
import { writeFileAtomic } from './keyStore.js';

/**
 * One rule. `to` and `from` are node names, `@group` (a node group) or `*`;
 * `method` a method name or `*`; `commands` (methods that run a command:
 * `data` {@link DataShape.Argv} in the method table) exact
 * command lines, command patterns (see {@link commandPatternMatches}), or
 * `@group` (a command group). No `commands` = any command.
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

/**
 * Messages allowed without a rule: liveness messages and error reports to
 * central (both generations: the method table marks them). (Replies need no
 * rule either, but not here: a reply is taken only as the answer to the
 * receiver's own request, and then runs on that request's authority without
 * asking the ACL; see replyGuard.ts.)
 */
function alwaysAllowed(to: string, central: string, method: string): boolean {
  const info = methodInfo(method);
  return to === central && (info?.liveness === true || info?.errorReport === true);
}

/** Whether the method's data is a command to run (its `commands` are checked): the method table says. */
function runsCommand(method: string): boolean {
  return methodInfo(method)?.data === DataShape.Argv;
}

/** In `to` and `from`: the central node (`--centralNodeName`), whatever its name. */
const centralGroup = '@central';

/**
 * The policy in force while no ACL was ever set at central: central may
 * call every method on every node; the others only the built-in allowances.
 * Secure by default, and the seed's messages, sent from central, still run.
 */
const defaultAclRules: readonly AclRule[] = [{ to: '*', from: centralGroup, method: '*' }];

/** `acl`, or the default policy when no ACL was ever set (version 0, no rules). */
export function aclInForce(acl: Acl): Acl {
  return acl.version > 0 || acl.rules.length > 0 ? acl : { ...acl, rules: [...defaultAclRules] };
}

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
      if (v.startsWith('@') && v !== centralGroup && !acl.nodeGroups[v.slice(1)])
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

/**
 * Splits a command pattern into argument patterns: on every single space,
 * except inside `'...'` or `"..."` (the quotes group, and are not part of
 * the argument). Undefined when a quote is not closed.
 */
export function splitCommandPattern(pattern: string): string[] | undefined {
  const args: string[] = [];
  let current = '';
  let quote: string | undefined;
  for (const ch of pattern) {
    if (quote) {
      if (ch === quote) quote = undefined;
      else current += ch;
    } else if (ch === ' ') {
      args.push(current);
      current = '';
    } else if (ch === "'" || ch === '"') quote = ch;
    else current += ch;
  }
  if (quote) return undefined;
  args.push(current);
  return args;
}

/** Whether a pattern is matched argument by argument (it has a wildcard or a quote); otherwise it is an exact command line. */
const isArgvPattern = (pattern: string) => /[*?'"]/.test(pattern);

/**
 * Whether `arg` holds a `..` path component: `..` with neither neighbour a
 * letter, digit, `.`, `_` or `-` (so `a/../b`, `--dir=..` and `x:..` count,
 * `a..b` and `...` do not). No wildcard ever matches such an argument.
 */
export function hasParentComponent(arg: string): boolean {
  return /(?<![A-Za-z0-9._-])\.\.(?![A-Za-z0-9._-])/.test(arg);
}

const argRegExps = new Map<string, RegExp>();

/** One argument pattern as a regular expression: `**` any characters, `*` any but `/`, `?` one but `/`. */
function argRegExp(argPattern: string): RegExp {
  let re = argRegExps.get(argPattern);
  if (!re) {
    const body = argPattern
      .split(/(\*\*+|\*|\?)/)
      .map((part) =>
        part.startsWith('**') ? '[\\s\\S]*' : part === '*' ? '[^/]*' : part === '?' ? '[^/]' : part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'),
      )
      .join('');
    re = new RegExp(`^${body}$`);
    if (argRegExps.size > 10_000) argRegExps.clear();
    argRegExps.set(argPattern, re);
  }
  return re;
}

/**
 * Whether the command `argv` matches the ACL command `pattern`.
 *
 * A pattern without `*`, `?` or a quote is an exact command line: it is
 * compared with the argv joined by single spaces. Any other pattern is
 * matched argument by argument: it is split on single spaces into argument
 * patterns ({@link splitCommandPattern}; quote an argument that holds
 * spaces), `argv` must have exactly as many arguments, and each argument must
 * match its pattern: `*` any characters but `/`, `?` one character but `/`,
 * `**` any characters including `/`; a wildcard never spans two arguments,
 * and an argument holding a `..` component ({@link hasParentComponent}) never
 * matches a pattern with a wildcard. No pattern matches a variable number of arguments.
 */
export function commandPatternMatches(pattern: string, argv: readonly string[]): boolean {
  if (!isArgvPattern(pattern)) return pattern === argv.join(' ');
  const args = splitCommandPattern(pattern);
  if (!args || args.length !== argv.length) return false;
  return args.every((p, i) => {
    const arg = argv[i]!;
    if (!/[*?]/.test(p)) return p === arg;
    return !hasParentComponent(arg) && argRegExp(p).test(arg);
  });
}

function nodeMatches(acl: Acl, pattern: string, node: string, central: string): boolean {
  if (pattern === '*') return true;
  // `@central` names the central node, unless the policy defines a group of that name itself.
  if (pattern === centralGroup && !acl.nodeGroups['central']) return node === central;
  if (pattern.startsWith('@')) return (acl.nodeGroups[pattern.slice(1)] ?? []).includes(node);
  return pattern === node;
}

function commandMatches(acl: Acl, patterns: string[], argv: readonly string[]): boolean {
  const all = patterns.flatMap((p) => (p.startsWith('@') ? (acl.commandGroups[p.slice(1)] ?? []) : [p]));
  return all.some((p) => commandPatternMatches(p, argv));
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
}

/** Why `acl` refuses `q`, or undefined when a rule allows it. */
export function aclRefusal(acl: Acl, q: AclRequest): string | undefined {
  if (alwaysAllowed(q.to, q.central, q.method)) return undefined;
  const argv = q.data.map(String);
  const line = argv.join(' ');
  const isCommand = runsCommand(q.method);
  let methodAllowed = false;
  for (const r of acl.rules) {
    if (!nodeMatches(acl, r.to, q.to, q.central) || !nodeMatches(acl, r.from, q.from, q.central)) continue;
    if (r.method !== '*' && r.method !== q.method) continue;
    methodAllowed = true;
    if (!isCommand || !r.commands || commandMatches(acl, r.commands, argv)) return undefined;
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
  // Checked here, not in parseAcl: a policy already installed keeps loading (its broken pattern matches nothing).
  for (const p of [...Object.values(acl.commandGroups).flat(), ...acl.rules.flatMap((r) => r.commands ?? [])])
    if (!p.startsWith('@') && isArgvPattern(p) && !splitCommandPattern(p))
      throw new ConfigFileError(`ACL: command pattern ${JSON.stringify(p)} has a quote that is not closed`);
  writeFileAtomic(aclPath(nodeFolder), JSON.stringify(acl, null, 2) + '\n', 0o600);
  return acl;
}
