/**
 * `steward start`'s options come from the node's configuration schema: every
 * option is a flag, a kebab-case flag, a Go-style one-dash flag, a STEWARD_*
 * variable and a config-file key, `--help` lists each, and a bad value is
 * refused with the schema's message.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import yargs from 'yargs';
import { startFlags, type NodeConfig, type StartFlag } from '@steward/node/client';
import { normalizeGoFlags } from '../src/argv.js';
import { startOptionNames, startOptions, toNodeConfig } from '../src/startCommand.js';

/** The configuration `steward start` builds from `argv`, the environment `env` and the config file `file`. */
async function configOf(argv: string[], env: Record<string, string> = {}, file: Record<string, unknown> = {}): Promise<NodeConfig> {
  Object.assign(process.env, env);
  try {
    const a = await startOptions(
      yargs(normalizeGoFlags(['--node', 'n1', ...argv]))
        .env('STEWARD')
        .strict(),
    )
      .config(file)
      .fail((msg, err) => {
        // As in main: a refused option throws instead of printing help and exiting.
        throw err ?? new Error(msg);
      })
      .parseAsync();
    return toNodeConfig(a);
  } finally {
    for (const k of Object.keys(env)) delete process.env[k];
  }
}

/** A valid value other than the default, for the numbers and booleans of the schema. */
function otherValue(f: StartFlag): number | boolean | undefined {
  const d = f.spec.default;
  if (f.spec.type === 'boolean') return !d;
  if (f.spec.type === 'number') return (d as number) + 1;
  return undefined;
}

describe('steward start options from the configuration schema', () => {
  const flags = startFlags();

  it('--help lists every option', async () => {
    const help = await startOptions(yargs([]).scriptName('steward')).getHelp();
    for (const f of flags) assert.match(help, new RegExp(`--${f.flag}\\b`), `--help misses --${f.flag}`);
    assert.match(help, /--socketPath, --socket/);
    assert.deepEqual(
      startOptionNames(),
      flags.map((f) => f.flag),
    );
  });

  it('reads every number and boolean as a flag, kebab case, one dash, STEWARD_* variable and file key', async () => {
    for (const f of flags) {
      const v = otherValue(f);
      if (v === undefined || !f.key) continue;
      const text = String(v);
      const spellings: [string, Promise<NodeConfig>][] = [
        ['flag', configOf([`--${f.flag}`, text])],
        ['kebab', configOf([`--${f.kebab}=${text}`])],
        ['one dash', configOf([`-${f.flag}=${text}`])],
        ['environment', configOf([], { [f.env[0]!]: text })],
        ['config file', configOf([], {}, { [f.flag]: v })],
      ];
      for (const [how, config] of spellings) assert.equal((await config)[f.key], v, `--${f.flag} given as ${how}`);
    }
  });

  it('reads lists, paths and choices the same ways', async () => {
    assert.deepEqual((await configOf(['--broker-address', 'a:1,b:2'])).brokerAddresses, ['a:1', 'b:2']);
    assert.deepEqual((await configOf([], {}, { brokerAddress: ['c:3'] })).brokerAddresses, ['c:3']);
    assert.equal((await configOf([], { STEWARD_SOCKET: '/run/x.sock' })).socketPath, '/run/x.sock');
    assert.equal((await configOf(['--socket', 'off'])).socketPath, 'off');
    assert.equal((await configOf(['-journalSync=normal'])).journalSync, 'normal');
    assert.equal((await configOf([], { STEWARD_LOG_FORMAT: 'json' })).logFormat, 'json');
    const c = await configOf(['--node-folder', '/srv/n1', '--journal-path', 'j.db']);
    assert.equal(c.journalPath, '/srv/n1/j.db');
  });

  it('refuses a bad value with the schema message, every problem at once', async () => {
    await assert.rejects(
      configOf(['--orderedWindow', '0', '--brokerAddress', 'a b', '--journalPath', ''], {}, { profilingPort: 70000 }),
      (err: Error) =>
        err.name === 'ConfigError' &&
        err.message.includes('--orderedWindow must be a whole number ≥ 1, got 0') &&
        err.message.includes('--brokerAddress (brokerAddresses) must list broker addresses') &&
        err.message.includes('--profilingPort must be a whole number from 0 to 65535, got 70000'),
    );
    await assert.rejects(configOf(['--logLevel', 'loud']), /Invalid values:[\s\S]*logLevel/);
  });
});
