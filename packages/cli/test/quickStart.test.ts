/**
 * `steward start` reads its options with yargs' parser alone when that
 * settles them (quickStartArgs), and with yargs otherwise: both must give
 * every flag the same value, from every spelling (flag, kebab case, one
 * dash, STEWARD_* variable, config file), and the quick path must leave to
 * yargs everything yargs answers or refuses.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { startFlags, type StartFlag } from '@steward/node/client';
import { normalizeGoFlags } from '../src/argv.js';
import { quickStartArgs, yargsStartArgs, toNodeConfig, type ParsedStartArgs } from '../src/startCommand.js';

/** Runs `parse` with the STEWARD_* variables of `env` set. */
async function withEnv<T>(env: Record<string, string>, parse: () => Promise<T>): Promise<T> {
  Object.assign(process.env, env);
  try {
    return await parse();
  } finally {
    for (const k of Object.keys(env)) delete process.env[k];
  }
}

/** What a node would be configured with: the configuration, or the refusal's message. */
function outcome(a: ParsedStartArgs): unknown {
  try {
    return toNodeConfig(a);
  } catch (err) {
    return `refused: ${(err as Error).message}`;
  }
}

/** Both parses of the same input; the quick one must have settled it. */
async function both(argv: string[], env: Record<string, string> = {}, file: Record<string, unknown> = {}) {
  const args = normalizeGoFlags(['--node', 'n1', ...argv]);
  const quick = await withEnv(env, () => quickStartArgs(args, file));
  const slow = await withEnv(env, () => yargsStartArgs(args, file));
  return { quick, slow };
}

/** Values other than the default, of the flag's type (a second choice, a flipped boolean, a bigger number, a text). */
function samples(f: StartFlag): unknown[] {
  const d = f.spec.default;
  if (f.spec.type === 'boolean') return [!d, d === true];
  if (f.spec.type === 'number') return [typeof d === 'number' ? d + 1 : 7, 0];
  if (f.spec.choices) return [...(f.spec.choices as readonly unknown[])];
  return ['127.0.0.1:4999', 'off', 'rel/path'];
}

describe('steward start options without yargs', () => {
  it('every flag gets the value yargs gives it, from every spelling', async () => {
    let compared = 0;
    for (const f of startFlags()) {
      if (f.flag === 'node' || f.flag === 'config') continue;
      for (const v of samples(f)) {
        const text = String(v);
        const spellings: [string, Promise<{ quick?: ParsedStartArgs; slow: ParsedStartArgs }>][] = [
          ['flag', both([`--${f.flag}`, text])],
          ['flag=', both([`--${f.flag}=${text}`])],
          ['kebab', both([`--${f.kebab}=${text}`])],
          ['one dash', both([`-${f.flag}=${text}`])],
          ['twice, last wins', both([`--${f.flag}=${text}`, `--${f.flag}`, text])],
          ['environment', both([], { [f.env[0]!]: text })],
          ['config file', both([], {}, { [f.flag]: v })],
          ...(f.spec.aliases ?? []).map((alias): [string, Promise<{ quick?: ParsedStartArgs; slow: ParsedStartArgs }>] => [
            `alias ${alias}`,
            both([`--${alias}`, text]),
          ]),
        ];
        for (const [how, pending] of spellings) {
          const { quick, slow } = await pending;
          assert.ok(quick, `--${f.flag} ${text} given as ${how}: left to yargs`);
          assert.deepEqual(quick[f.flag], slow[f.flag], `--${f.flag} ${text} given as ${how}`);
          assert.deepEqual(outcome(quick), outcome(slow), `--${f.flag} ${text} given as ${how}: configuration`);
          compared++;
        }
      }
    }
    assert.ok(compared > 300, `only ${compared} cases compared`);
  });

  it('a boolean flag alone is true, and --no-<flag> false, as with yargs', async () => {
    for (const f of startFlags().filter((x) => x.spec.type === 'boolean')) {
      for (const argv of [[`--${f.flag}`], [`--no-${f.flag}`], [`--${f.flag}`, '--node', 'n2']]) {
        const { quick, slow } = await both(argv);
        assert.ok(quick, `${argv.join(' ')} left to yargs`);
        assert.deepEqual(outcome(quick), outcome(slow), argv.join(' '));
      }
    }
  });

  it('leaves to yargs what yargs answers or refuses', async () => {
    const args = (argv: string[]) => normalizeGoFlags(['--node', 'n1', ...argv]);
    for (const argv of [['--help'], ['--version'], ['--bogus', '1'], ['extra'], ['--logFormat', 'xml'], ['--', '--inspect']]) {
      assert.equal(await quickStartArgs(args(argv), {}), undefined, argv.join(' '));
    }
    assert.equal(await quickStartArgs(args([]), { bogus: 1 }), undefined, 'an unknown key of the config file');
    assert.equal(
      await withEnv({ STEWARD_LOG_FORMAT: 'xml' }, () => quickStartArgs(args([]), {})),
      undefined,
      'a variable outside its choices',
    );
    await assert.rejects(yargsStartArgs(args(['--bogus', '1']), {}), /Unknown argument: bogus/);
    await assert.rejects(yargsStartArgs(args(['--logFormat', 'xml']), {}), /Invalid values/);
  });
});
