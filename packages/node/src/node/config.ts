/**
 * The configuration of one node, derived from its schema (configSchema.ts):
 * the defaults, the validation `StewardNode` runs before it starts, and the
 * parsing of raw values (flags, `STEWARD_*` variables, `steward.json`) that
 * the CLI uses. Every problem is reported at once, each naming its option.
 */
import { resolve } from 'node:path';
import { ConfigError } from '../errors.js';
import { shown } from './configChecks.js';
import { configSchema, crossRules, type ConfigKey, type NodeConfig, type OptionSpec } from './configSchema.js';

export type { NodeConfig } from './configSchema.js';

const entries = Object.entries(configSchema) as [ConfigKey, OptionSpec<unknown>][];

/** How an error names an option: its flag, and the configuration key when that differs (`--brokerAddress (brokerAddresses)`). */
function label(key: ConfigKey, spec: OptionSpec<unknown>): string {
  return spec.flag && spec.flag !== key ? `--${spec.flag} (${key})` : `--${key}`;
}

function defaultOf(spec: OptionSpec<unknown>, nodeFolder: string): unknown {
  // A fresh array each time: a caller that pushes to one config's list does not change the next default.
  const d = typeof spec.default === 'function' ? (spec.default as (folder: string) => unknown)(nodeFolder) : spec.default;
  return Array.isArray(d) ? [...(d as unknown[])] : d;
}

/** The defaults of every option, for a node named `node` in `nodeFolder`. */
export function defaultConfig(node: string, nodeFolder = process.cwd()): NodeConfig {
  const folder = resolve(nodeFolder);
  const config = Object.fromEntries(entries.map(([key, spec]) => [key, defaultOf(spec, folder)])) as NodeConfig;
  return { ...config, node, nodeFolder: folder };
}

/** What is wrong with the type of `value` for `spec`, as "must be …"; undefined when it fits. */
function typeProblem(spec: OptionSpec<unknown>, value: unknown): string | undefined {
  switch (spec.type) {
    case 'list':
      return Array.isArray(value) && value.every((x) => typeof x === 'string') ? undefined : 'must be a list of strings';
    case 'string':
      if (typeof value !== 'string') return 'must be a string';
      return spec.choices && !spec.choices.includes(value) ? `must be one of ${spec.choices.map(shown).join(', ')}` : undefined;
    default:
      return typeof value === spec.type ? undefined : `must be a ${spec.type}`;
  }
}

/**
 * Every problem of `config`, one line each, naming the option and the
 * reason (`--orderedWindow must be a whole number ≥ 1, got 0`). Empty when
 * the configuration is valid.
 */
export function configProblems(config: unknown): string[] {
  if (typeof config !== 'object' || config === null || Array.isArray(config))
    return [`the configuration must be an object, got ${shown(config)}`];
  const c = config as Record<string, unknown>;
  const problems: string[] = [];
  let typesOk = true;
  for (const [key, spec] of entries) {
    const value = c[key];
    const wrongType = typeProblem(spec, value);
    if (wrongType) {
      typesOk = false;
      problems.push(`${label(key, spec)} ${wrongType}, got ${value === undefined ? 'nothing' : shown(value)}`);
      continue;
    }
    if (spec.required && value === '') {
      problems.push(`${label(key, spec)} is required: ${spec.help}`);
      continue;
    }
    for (const check of spec.checks ?? []) {
      const p = check.problem(value);
      if (p) problems.push(`${label(key, spec)} ${p}`);
    }
  }
  for (const key of Object.keys(c)) if (!(key in configSchema)) problems.push(`unknown option ${shown(key)}`);
  // Rules between options read typed values: only once every value has its type.
  if (typesOk) for (const rule of crossRules) problems.push(...[rule.problem(c as NodeConfig)].filter((p) => p !== undefined));
  return problems;
}

/**
 * Checks a whole configuration.
 *
 * @throws {@link ConfigError} listing every problem, one per line.
 */
export function validateConfig(config: unknown): asserts config is NodeConfig {
  const problems = configProblems(config);
  if (problems.length) throw new ConfigError(problems.join('\n'));
}

/** A raw value (from a flag, the environment or a JSON file) as the type `spec` reads, or the reason it is not one. */
function coerce(spec: OptionSpec<unknown>, raw: unknown): { value: unknown } | { problem: string } {
  switch (spec.type) {
    case 'list': {
      const items = typeof raw === 'string' ? raw.split(',') : Array.isArray(raw) ? raw : undefined;
      if (!items || !items.every((x) => typeof x === 'string'))
        return { problem: `must be a comma-separated list (or a JSON array of strings), got ${shown(raw)}` };
      return { value: items.map((x) => x.trim()).filter((x) => x !== '') };
    }
    case 'number':
      if (typeof raw === 'number') return { value: raw };
      if (typeof raw === 'string' && raw.trim() !== '' && Number.isFinite(Number(raw))) return { value: Number(raw) };
      return { problem: `must be a number, got ${shown(raw)}` };
    case 'boolean':
      if (typeof raw === 'boolean') return { value: raw };
      if (raw === 'true' || raw === 'false') return { value: raw === 'true' };
      return { problem: `must be true or false, got ${shown(raw)}` };
    default:
      if (typeof raw === 'string') return { value: raw };
      if (typeof raw === 'number' || typeof raw === 'boolean') return { value: String(raw) };
      return { problem: `must be a string, got ${shown(raw)}` };
  }
}

/**
 * A node configuration from raw option values keyed by flag
 * (`brokerAddress: "a:1,b:2"`), as yargs, the environment or `steward.json`
 * give them: absent options take their defaults, relative paths are resolved
 * against the node folder, then the result is validated. Other keys (yargs'
 * `_`, `$0`, kebab-case copies, `steward start`-only options) are ignored.
 *
 * @throws {@link ConfigError} listing every problem, one per line.
 */
export function parseConfig(raw: Readonly<Record<string, unknown>>): NodeConfig {
  const folderRaw = raw.nodeFolder;
  const nodeFolder = resolve(typeof folderRaw === 'string' ? folderRaw : process.cwd());
  const problems: string[] = [];
  const config: Record<string, unknown> = {};
  for (const [key, spec] of entries) {
    const given = raw[spec.flag ?? key];
    const dflt = defaultOf(spec, nodeFolder);
    if (given === undefined) {
      config[key] = dflt;
      continue;
    }
    const c = coerce(spec, given);
    if ('problem' in c) {
      problems.push(`${label(key, spec)} ${c.problem}`);
      config[key] = dflt;
      continue;
    }
    config[key] = spec.fromFlag ? spec.fromFlag(c.value, { nodeFolder, default: dflt }) : c.value;
  }
  config.nodeFolder = nodeFolder;
  problems.push(...configProblems(config));
  if (problems.length) throw new ConfigError(problems.join('\n'));
  return config as NodeConfig;
}
