/**
 * The `steward` command line.
 */
// First: for `steward start`, it holds the young generation's growth before the other modules load.
import './youngGeneration.js';
import { stewardVersion } from '@steward/node/client';
import { UsageError } from './errors.js';
import { normalizeClientArgs, normalizeGoFlags } from './argv.js';
import { loadConfigFile, parseStartArgs, runStart, startOptionNames, startOptions } from './startCommand.js';
import { setAsideNodeSettings } from './nodeSettings.js';

/** Runs the CLI with `argv` (without node and script); resolves with the exit code. */
export async function main(argv: string[]): Promise<number> {
  const args = normalizeClientArgs(normalizeGoFlags(argv));
  let code = 0;
  let fileConfig: Record<string, unknown> = {};
  try {
    if (args[0] === 'start') fileConfig = loadConfigFile(args);
  } catch (err) {
    console.error(`steward start: ${(err as Error).message}`);
    return 2;
  }
  // Tags are read by the node itself (STEWARD_TAGS, steward.json's "tags"): kept from yargs, given back at start.
  const nodeSettings = setAsideNodeSettings(fileConfig);
  await dropUnknownEnv(args[0]);
  try {
    await parseAndRun();
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    console.error(`steward: ${err.message}\nRun "steward --help" for the commands and options.`);
    return 2;
  }
  return code;

  async function parseAndRun(): Promise<void> {
    if (args[0] === 'start') return parseAndStart();
    // The other commands' modules are loaded only here: `steward start` does not need them.
    const [{ default: yargs }, { clientCommands }, { keysCommand }, { aclCommand }, { serviceCommand }] = await Promise.all([
      import('yargs'),
      import('./clientCommands.js'),
      import('./keysCommand.js'),
      import('./aclCommand.js'),
      import('./serviceCommand.js'),
    ]);
    await yargs(args)
      .scriptName('steward')
      .version(stewardVersion)
      .env('STEWARD')
      // Listed for --help; run by parseAndStart.
      .command('start', 'run a steward node in the foreground', (y) => startOptions(y).config(fileConfig))
      .command(
        'demo',
        'start a small local fleet (a broker, central and ship1), send a command and show its output',
        (y) => y.option('keep', { type: 'boolean', default: false, describe: 'keep the demo folder' }),
        async (a) => {
          // Loaded on use: it needs the runtime's broker helpers.
          const { runDemo } = await import('./demoCommand.js');
          code = await runDemo({ keep: a.keep });
        },
      )
      .command(clientCommands((c) => (code = c)))
      .command(keysCommand((c) => (code = c)))
      .command(aclCommand((c) => (code = c)))
      .command(serviceCommand(args, (c) => (code = c)))
      .demandCommand(1, 'name a command: start, send, status, jobs, nodes or demo (see --help)')
      .strict()
      .fail((msg, err) => {
        // Throwing stops yargs from running the command with options it refused.
        throw err ?? new UsageError(msg);
      })
      .help()
      .parseAsync();
  }

  /**
   * `steward start` on a yargs of its own, without commands: yargs renders and
   * caches the whole help text of a command it runs (~60 ms of CPU for start's
   * options, on the node's start-up path); a parse without commands does not.
   */
  async function parseAndStart(): Promise<void> {
    const a = await parseStartArgs(args.slice(1), fileConfig);
    nodeSettings.restore();
    code = await runStart(a);
  }
}

/**
 * yargs reads every STEWARD_* variable as an option and, being strict, would
 * refuse unknown ones; variables that name no option are set aside with a warning.
 * Variables of another command's options (STEWARD_BROKER_ADDRESS while running
 * `steward send`) are set aside silently: one environment serves every command.
 */
async function dropUnknownEnv(command: string | undefined): Promise<void> {
  const toEnv = (n: string) => 'STEWARD_' + n.replace(/([a-z])([A-Z])/g, '$1_$2').toUpperCase();
  const startNames = [...startOptionNames(), 'socket'];
  const others = command === 'start' ? undefined : await otherCommandOptionNames();
  const byCommand = (names: Record<string, readonly string[]>): Record<string, readonly string[]> => ({ start: startNames, ...names });
  const own = new Set(((others && byCommand(others)[command ?? '']) ?? startNames).map(toEnv));
  const foreign = Object.keys(process.env).filter((key) => key.startsWith('STEWARD_') && !own.has(key));
  if (foreign.length === 0) return;
  // `steward start` loads the other commands' modules only to tell their variables from unknown ones.
  const anyCommand = new Set(
    Object.values(byCommand(others ?? (await otherCommandOptionNames())))
      .flat()
      .map(toEnv),
  );
  for (const key of foreign) {
    if (!anyCommand.has(key)) console.error(`steward: ignoring environment variable ${key}: it names no option`);
    delete process.env[key];
  }
}

/** The option names of every command but start, by command. */
async function otherCommandOptionNames(): Promise<Record<string, readonly string[]>> {
  const [{ clientCommandOptionNames }, { serviceOptionNames }] = await Promise.all([
    import('./clientCommands.js'),
    import('./serviceCommand.js'),
  ]);
  return {
    ...clientCommandOptionNames,
    keys: ['nodeFolder', 'publicKey'],
    acl: ['nodeFolder', 'to', 'from', 'method', 'commands'],
    service: [...startOptionNames(), 'socket', ...serviceOptionNames],
  };
}
