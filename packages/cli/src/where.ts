/**
 * `--where`: choosing nodes by the facts their SayHello told central
 * (`steward nodes --where arch=arm64 --where tag:site=north`, and the same on
 * `steward send`). Every condition must hold (AND); a value may be a glob
 * (`kernel=6.1*`). Facts are `os`, `distro`, `arch`, `kernel`, `version`
 * and `tag:<name>`.
 */
import type { NodeStatus } from '@steward/node/client';
import { UsageError } from './errors.js';

/** The facts every node reports; tags come as `tag:<name>`. */
export const factNames = ['os', 'distro', 'arch', 'kernel', 'version'] as const;

/** One condition: the fact `name` matches `value` (a glob when it has `*`, `?` or `[`). */
export interface WhereCondition {
  name: string;
  value: string;
  /** The condition as written, for messages. */
  text: string;
  matches: (v: string | undefined) => boolean;
}

/**
 * Parses `--where` values: each `name=value`, several in one value
 * separated by commas.
 *
 * @throws {@link UsageError} naming what is wrong (a missing `=`, an unknown fact).
 */
export function parseWhere(values: readonly string[]): WhereCondition[] {
  const out: WhereCondition[] = [];
  for (const v of values)
    for (const part of v.split(',')) {
      const text = part.trim();
      if (text === '') continue;
      const i = text.indexOf('=');
      if (i <= 0) throw new UsageError(`--where "${text}": write fact=value, e.g. arch=arm64 or tag:site=north`);
      const name = text.slice(0, i).trim();
      const value = text.slice(i + 1).trim();
      if (!(factNames as readonly string[]).includes(name) && !/^tag:[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/.test(name))
        throw new UsageError(
          `--where "${text}": no fact "${name}"; the facts are ${factNames.join(', ')} and tag:<name>` +
            (name.includes(':') ? '' : ` (a tag? write tag:${name}=${value})`),
        );
      if (value === '') throw new UsageError(`--where "${text}": give a value (a glob such as "6.1*" matches many)`);
      const re = valueGlob(value);
      out.push({ name, value, text, matches: (fact) => fact !== undefined && re.test(fact) });
    }
  return out;
}

/** Whether `node` has every fact the conditions ask for. */
export function matchesWhere(conditions: readonly WhereCondition[], node: Pick<NodeStatus, 'facts'>): boolean {
  return conditions.every((c) => c.matches(node.facts?.[c.name]));
}

/** What {@link selectByFacts} found. */
export interface FactSelection {
  /** Alive nodes with an approved key (where that is checked) whose facts match: the targets, by name. */
  nodes: NodeStatus[];
  /** Matching nodes not heard from recently: left out. */
  stale: NodeStatus[];
  /** Matching nodes whose key central has not approved: left out, whatever they claim. */
  unapproved: NodeStatus[];
}

/** The registry's nodes whose facts match every condition, sorted by name and split by whether they can be sent to. */
export function selectByFacts(conditions: readonly WhereCondition[], registry: readonly NodeStatus[]): FactSelection {
  const sel: FactSelection = { nodes: [], stale: [], unapproved: [] };
  const matched = registry.filter((n) => matchesWhere(conditions, n)).sort((a, b) => a.name.localeCompare(b.name));
  for (const n of matched) {
    if (n.keyApproved === false) sel.unapproved.push(n);
    else if (!n.alive) sel.stale.push(n);
    else sel.nodes.push(n);
  }
  return sel;
}

/** The facts of a node in one short line: `arch=arm64 os=linux tag:site=north`. */
export function factsLine(n: Pick<NodeStatus, 'facts'>): string {
  const f = n.facts ?? {};
  return Object.keys(f)
    .sort((a, b) => Number(a.startsWith('tag:')) - Number(b.startsWith('tag:')) || a.localeCompare(b))
    .map((k) => `${k}=${f[k]}`)
    .join(' ');
}

/** A glob over a fact value (`*`, `?`, `[...]`), anchored; other characters stand for themselves. */
function valueGlob(glob: string): RegExp {
  let re = '';
  for (let i = 0; i < glob.length; i++) {
    const ch = glob[i]!;
    if (ch === '*') re += '.*';
    else if (ch === '?') re += '.';
    else if (ch === '[' && glob.indexOf(']', i + 1) > i + 1) {
      const end = glob.indexOf(']', i + 1);
      const body = glob.slice(i + 1, end);
      const negate = body.startsWith('!');
      re += `[${negate ? '^' : ''}${(negate ? body.slice(1) : body).replace(/[\\\]^]/g, '\\$&')}]`;
      i = end;
    } else re += ch.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  }
  return new RegExp(`^${re}$`);
}
