/**
 * `steward start`: run one node in the foreground. Every option can also be
 * given as an environment variable (`STEWARD_` + the name in upper snake
 * case, e.g. STEWARD_BROKER_ADDRESS) or in a JSON config file (`--config`,
 * else `steward.json` in the node folder); flags win over the environment,
 * which wins over the file. The options, their checks and their help come
 * from the node's configuration schema (`@steward/node/client`'s
 * `startFlags`, from packages/node/src/node/configSchema.ts).
 */
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Argv, Options } from 'yargs';
import { ConfigError, parseConfig, startFlags, stewardVersion, type NodeConfig, type StartFlag } from '@steward/node/client';
import { UsageError } from './errors.js';
import { holdYoungGeneration, releaseYoungGeneration } from './youngGeneration.js';

export { toInspectAddress } from '@steward/node/client';

/** Exit codes of `steward start`. */
export const StartExit = { Ok: 0, BadConfig: 2, StartFailed: 1 } as const;

/** The parsed options of `steward start`, by flag, as yargs gives them. */
export type StartArgs = Readonly<Record<string, unknown>>;

/**
 * The yargs declaration of one flag. yargs gets no default: an absent
 * option must stay absent (`--inspect` alone is not the same as no
 * `--inspect`), and the schema's parseConfig fills the defaults.
 */
function yargsOption({ spec }: StartFlag): Options {
  const d = spec.default;
  const shownDefault = typeof d === 'string' ? JSON.stringify(d) : typeof d === 'function' || Array.isArray(d) ? undefined : String(d);
  return {
    type: spec.type === 'list' ? 'string' : spec.type,
    ...(spec.choices ? { choices: spec.choices } : {}),
    ...(spec.aliases ? { alias: [...spec.aliases] } : {}),
    describe: spec.help,
    // A required option has no default to show.
    ...(spec.required ? {} : { defaultDescription: spec.defaultText ?? shownDefault }),
  };
}

/** Declares the options of `steward start`, one per flag of the configuration schema. */
export function startOptions<T>(y: Argv<T>): Argv<T & StartArgs> {
  // A flag given twice takes its last value (as when a script adds flags to a base command line), not both.
  y.parserConfiguration({ 'duplicate-arguments-array': false });
  return y.options(Object.fromEntries(startFlags().map((f) => [f.flag, yargsOption(f)]))) as Argv<T & StartArgs>;
}

/** The parsed options of `steward start` and its positional arguments. */
export type ParsedStartArgs = StartArgs & { readonly _: readonly (string | number)[] };

/**
 * Parses the arguments after `start` (Go-style flags already normalized),
 * the STEWARD_* variables and the config file's object: quickly when yargs'
 * parser alone settles them ({@link quickStartArgs}), else with yargs.
 *
 * @throws {@link UsageError} for what yargs refuses (an unknown option, a value outside its choices, a positional argument)
 */
export async function parseStartArgs(args: readonly string[], fileConfig: Record<string, unknown>): Promise<ParsedStartArgs> {
  const a = (await quickStartArgs(args, fileConfig)) ?? (await yargsStartArgs(args, fileConfig));
  // As under the multi-command parser: start takes no positional argument.
  if (a._.length > 0) throw new UsageError(`Unknown argument${a._.length > 1 ? 's' : ''}: ${a._.join(', ')}`);
  return a;
}

/**
 * `steward start`'s options parsed by yargs, on a yargs without commands:
 * yargs renders and caches the whole help text of a command it runs (~60 ms
 * of CPU for start's options); a parse without commands does not. Answers
 * `--help` and `--version` itself (and exits).
 *
 * @throws {@link UsageError} for an unknown option or a value outside its choices
 */
export async function yargsStartArgs(args: readonly string[], fileConfig: Record<string, unknown>): Promise<ParsedStartArgs> {
  const { default: yargs } = await import('yargs');
  return startOptions(
    yargs([...args])
      .scriptName('steward start')
      .usage('$0\n\nrun a steward node in the foreground')
      .version(stewardVersion)
      .env('STEWARD'),
  )
    .config(fileConfig)
    .strict()
    .fail((msg, err) => {
      throw err ?? new UsageError(msg);
    })
    .help()
    .parseAsync();
}

/**
 * The options of `steward start` read with yargs' own parser (yargs-parser)
 * given what yargs would give it (the schema's types and aliases, the
 * STEWARD_* variables, the config file, a flag given twice takes its last
 * value), without loading yargs (~60 ms and ~10 MB of a node's start-up: its
 * help, locale and terminal-width modules). Undefined when yargs has to
 * decide: `--help`, `--version`, `--`, an unknown option, a positional
 * argument, a value outside its choices or a parse error; yargs then parses
 * again and answers (or refuses) as it always did.
 *
 * @param args - the arguments after `start`, Go-style flags already normalized
 * @param fileConfig - the config file's object (`loadConfigFile`)
 */
export async function quickStartArgs(args: readonly string[], fileConfig: Record<string, unknown>): Promise<ParsedStartArgs | undefined> {
  if (args.includes('--')) return undefined;
  const { default: parser } = await import('yargs-parser');
  const flags = startFlags();
  const boolean = ['help', 'version'];
  const number: string[] = [];
  const string: string[] = [];
  const alias: Record<string, string[]> = {};
  for (const f of flags) {
    const type = f.spec.type === 'list' ? 'string' : f.spec.type;
    (type === 'boolean' ? boolean : type === 'number' ? number : string).push(f.flag);
    if (f.spec.aliases) alias[f.flag] = [...f.spec.aliases];
  }
  const options = {
    alias,
    boolean,
    number,
    string,
    key: Object.fromEntries([...flags.map((f) => f.flag), 'help', 'version'].map((k) => [k, true])),
    envPrefix: 'STEWARD',
    configObjects: [fileConfig],
    configuration: { 'parse-positional-numbers': false, 'duplicate-arguments-array': false, 'populate--': true },
  };
  // `key` (every declared option, as yargs passes it) is missing from the parser's type declarations.
  const parsed = parser.detailed([...args], options as Parameters<typeof parser.detailed>[1]);
  const a = parsed.argv as Record<string, unknown> & { _: (string | number)[] };
  if (parsed.error || a._.length > 0 || a.help || a.version) return undefined;
  const known = new Set(['_', ...Object.keys(parsed.aliases), ...Object.values(parsed.aliases).flat(), ...boolean, ...number, ...string]);
  if (Object.keys(a).some((k) => !known.has(k))) return undefined;
  for (const f of flags) {
    const v = a[f.flag];
    const choices = f.spec.choices as readonly unknown[] | undefined;
    if (choices && v !== undefined && ![v].flat().every((x) => choices.includes(x))) return undefined;
  }
  return a;
}

/** The names of every `steward start` option (camelCase flags). */
export function startOptionNames(): string[] {
  return startFlags().map((f) => f.flag);
}

/** Reads the config file named by --config, or steward.json in the node folder. */
export function loadConfigFile(argv: string[]): Record<string, unknown> {
  const i = argv.findIndex((a) => a === '--config' || a.startsWith('--config='));
  const folderArg = argv.findIndex(
    (a) => a === '--nodeFolder' || a === '--node-folder' || a.startsWith('--nodeFolder=') || a.startsWith('--node-folder='),
  );
  const valueAt = (k: number) => (argv[k]!.includes('=') ? argv[k]!.slice(argv[k]!.indexOf('=') + 1) : argv[k + 1]);
  const folder = folderArg >= 0 ? valueAt(folderArg) : process.env.STEWARD_NODE_FOLDER;
  const path = i >= 0 ? valueAt(i) : (process.env.STEWARD_CONFIG ?? join(resolve(folder ?? '.'), 'steward.json'));
  if (!path || (!existsSync(path) && i < 0 && !process.env.STEWARD_CONFIG)) return {};
  try {
    const parsed = JSON.parse(readFileSync(path, 'utf8')) as unknown;
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new Error('must hold one JSON object');
    return parsed as Record<string, unknown>;
  } catch (err) {
    throw new ConfigError(`config file ${path}: ${(err as Error).message}`, { cause: err });
  }
}

/**
 * Checks the parsed options and turns them into a node configuration.
 *
 * @throws {@link ConfigError} listing every problem, one per line, each naming its option.
 */
export function toNodeConfig(a: StartArgs): NodeConfig {
  return parseConfig(a);
}

/** Runs a node until SIGINT/SIGTERM; resolves with the process exit code. */
export async function runStart(a: StartArgs): Promise<number> {
  let config: NodeConfig;
  try {
    config = toNodeConfig(a);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    console.error(`steward start: ${err.message}`);
    return StartExit.BadConfig;
  }
  // No young generation growth while the runtime loads and starts (see youngGeneration.ts).
  holdYoungGeneration();
  // The runtime is loaded only here: the other commands start without it.
  const { StewardNode } = await import('@steward/node');
  const node = new StewardNode(config);
  const onSignal = (sig: string) => {
    node.log.info(`received ${sig}`);
    void node.stop(0);
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  // Nothing may crash the node silently: what escapes the actors goes to the error kernel.
  process.on('unhandledRejection', (err) => node.reportUncaught(err, 'rejection'));
  process.on('uncaughtException', (err) => node.reportUncaught(err, 'exception'));
  try {
    // A node can escalate (and stop) before it is ready: then its exit code is the answer.
    const stoppedEarly = await Promise.race([node.start().then(() => false), node.exited.then(() => true)]);
    releaseYoungGeneration();
    if (stoppedEarly) return node.exited;
  } catch (err) {
    releaseYoungGeneration();
    node.log.error(`node ${config.node} could not start: ${(err as Error).message}`);
    await node.stop(StartExit.StartFailed);
    return StartExit.StartFailed;
  }
  return node.exited;
}
