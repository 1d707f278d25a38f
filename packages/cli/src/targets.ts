/**
 * Fan-out targets: `--toNode`/`--toNodes` values are node names or globs
 * (`ship*`, `web-?`, `db[12]`). Names are taken as given, even for a node
 * that is down (its message then expires, and the summary says so); globs
 * are resolved against the node registry and match only alive nodes.
 */
import { nodeNameProblem } from '@steward/core';
import type { NodeStatus } from '@steward/node/client';
import { UsageError } from './errors.js';

/** Splits comma-separated target lists and drops repeats, keeping the first occurrence's order. */
export function splitTargets(values: readonly string[]): string[] {
  const out: string[] = [];
  for (const v of values)
    for (const part of v.split(',')) {
      const t = part.trim();
      if (t !== '' && !out.includes(t)) out.push(t);
    }
  return out;
}

/** Whether a target is a glob. */
export function isGlob(target: string): boolean {
  return /[*?[]/.test(target);
}

/**
 * Turns a glob over node names into an anchored regular expression: `*` any
 * run of characters, `?` one character, `[abc]`, `[a-z]` and `[!abc]` classes.
 *
 * @throws {@link UsageError} for a glob with characters no node name has, or an unclosed `[`.
 */
export function globToRegExp(glob: string): RegExp {
  let re = '';
  for (let i = 0; i < glob.length; i++) {
    const ch = glob[i]!;
    if (ch === '*') re += '.*';
    else if (ch === '?') re += '.';
    else if (ch === '[') {
      const end = glob.indexOf(']', i + 1);
      if (end < 0) throw new UsageError(`target "${glob}": "[" is not closed`);
      let body = glob.slice(i + 1, end);
      const negate = body.startsWith('!') || body.startsWith('^');
      if (negate) body = body.slice(1);
      if (!/^[A-Za-z0-9_-]+$/.test(body))
        throw new UsageError(`target "${glob}": a [...] class may hold only letters, digits, "_" and "-"`);
      // A "-" first or last is itself; elsewhere it makes a range, as in a shell.
      re += `[${negate ? '^' : ''}${body.replace(/^-|-$/g, '\\-')}]`;
      i = end;
    } else if (/[A-Za-z0-9_-]/.test(ch)) re += ch;
    else throw new UsageError(`target "${glob}": "${ch}" cannot be part of a node name or glob`);
  }
  return new RegExp(`^${re}$`);
}

/** What {@link resolveTargets} found. */
export interface ResolvedTargets {
  /** The nodes to send to, in order: literal names as given, glob matches sorted by name. */
  nodes: string[];
  /** Nodes a glob matched that are stale (not heard from recently): left out. */
  stale: NodeStatus[];
  /**
   * Nodes a glob matched whose key central has not approved (a name anyone
   * on the broker can claim with a hello): left out, so a glob never sends
   * the operator's command to them.
   */
  unapproved: NodeStatus[];
}

/**
 * Resolves targets against the registry. Each glob must match at least one
 * alive node.
 *
 * @throws {@link UsageError} for a literal that is not a node name, or a glob matching no alive node.
 */
export function resolveTargets(targets: readonly string[], registry: readonly NodeStatus[] | undefined): ResolvedTargets {
  const nodes: string[] = [];
  const stale: NodeStatus[] = [];
  const unapproved: NodeStatus[] = [];
  const add = (n: string) => {
    if (!nodes.includes(n)) nodes.push(n);
  };
  for (const t of targets) {
    if (!isGlob(t)) {
      const problem = nodeNameProblem(t);
      if (problem) throw new UsageError(`target ${problem}`);
      add(t);
      continue;
    }
    const re = globToRegExp(t);
    const matched = [...(registry ?? [])].filter((n) => re.test(n.name)).sort((a, b) => a.name.localeCompare(b.name));
    const alive = matched.filter((n) => n.alive && n.keyApproved !== false);
    for (const n of matched) {
      if (!n.alive && !stale.some((s) => s.name === n.name)) stale.push(n);
      else if (n.alive && n.keyApproved === false && !unapproved.some((s) => s.name === n.name)) unapproved.push(n);
    }
    if (alive.length === 0) {
      const left = matched.map((n) => `${n.name}${n.alive ? ', key not approved' : ', stale'}`);
      const note = matched.length > 0 ? ` (${matched.length} left out: ${left.join('; ')})` : '';
      throw new UsageError(`no alive node with an approved key in the registry matches "${t}"${note}`);
    }
    for (const n of alive) add(n.name);
  }
  return { nodes, stale, unapproved };
}

/** The groups file's name, in the node folder. */
export const groupsFileName = 'groups.json';

/** Named groups of targets: group name → node names and globs. */
export type TargetGroups = Readonly<Record<string, readonly string[]>>;

/**
 * Checks the content of a groups file: one JSON object mapping each group
 * name to an array of node names and globs.
 *
 * @throws {@link UsageError} naming what is wrong.
 */
export function parseGroups(text: string, file: string): TargetGroups {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new UsageError(`${file} is not JSON: ${(err as Error).message}`, { cause: err });
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw))
    throw new UsageError(`${file} must hold one JSON object: {"group": ["node", "glob*"], ...}`);
  for (const [name, members] of Object.entries(raw)) {
    if (!Array.isArray(members) || !members.every((m) => typeof m === 'string' && m !== '' && !m.startsWith('@')))
      throw new UsageError(`${file}: group "${name}" must be an array of node names and globs (groups do not nest)`);
  }
  return raw as TargetGroups;
}

/**
 * Replaces each `@group` target by the group's members, in place.
 *
 * @throws {@link UsageError} for an unknown group.
 */
export function expandGroups(targets: readonly string[], groups: TargetGroups | undefined, file: string): string[] {
  const out: string[] = [];
  for (const t of targets) {
    if (!t.startsWith('@')) {
      if (!out.includes(t)) out.push(t);
      continue;
    }
    const members = groups && Object.hasOwn(groups, t.slice(1)) ? groups[t.slice(1)] : undefined;
    if (!members) {
      const known = groups ? Object.keys(groups) : [];
      throw new UsageError(`no group "${t.slice(1)}" in ${file}${known.length ? ` (groups: ${known.join(', ')})` : ''}`);
    }
    for (const m of members) if (!out.includes(m)) out.push(m);
  }
  return out;
}
