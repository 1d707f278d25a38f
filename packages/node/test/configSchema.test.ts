/**
 * The configuration schema: the defaults it gives, each kind of check (with
 * messages that name the option and the reason), the raw values the CLI
 * parses, the names an option goes by (flag, kebab case, environment), the
 * CLI reference's tables, and a bad configuration refused by StewardNode.
 */
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { ConfigError, FlagDocMarkerError } from '../src/errors.js';
import { configProblems, defaultConfig, parseConfig, validateConfig, type NodeConfig } from '../src/node/config.js';
import { configSchema, envNameOf, kebabOf, startFlags, toInspectAddress } from '../src/node/configSchema.js';
import { flagTable, withFlagDocs } from '../src/node/configDocs.js';
import { StewardNode } from '../src/node/stewardNode.js';

const root = mkdtempSync(join(tmpdir(), 'steward-config-'));
after(() => rmSync(root, { recursive: true, force: true }));
const folder = join(root, 'ship1');
const base = (): NodeConfig => defaultConfig('ship1', folder);

/** The problems of the default configuration with `change` applied. */
function problemsWith(change: Record<string, unknown>): string[] {
  return configProblems({ ...base(), ...change });
}

/** Asserts that `change` is refused with exactly one problem matching `expected`. */
function refused(change: Record<string, unknown>, expected: RegExp): void {
  const problems = problemsWith(change);
  assert.equal(problems.length, 1, `one problem expected for ${JSON.stringify(change)}, got ${JSON.stringify(problems)}`);
  assert.match(problems[0]!, expected);
}

describe('configuration defaults', () => {
  it('derives every default from the schema, paths under the node folder', () => {
    const c = base();
    assert.deepEqual(Object.keys(c).sort(), Object.keys(configSchema).sort());
    assert.equal(c.node, 'ship1');
    assert.equal(c.nodeFolder, folder);
    assert.equal(c.dataFolder, join(folder, 'data'));
    assert.equal(c.journalPath, join(folder, 'state', 'journal.db'));
    assert.equal(c.auditPath, join(folder, 'state', 'audit.log'));
    assert.equal(c.readFolder, join(folder, 'readfolder'));
    assert.deepEqual(c.brokerAddresses, []);
    assert.equal(c.centralNodeName, 'central');
    assert.equal(c.defaultMessageTimeout, 10);
    assert.equal(c.defaultMessageRetries, 1);
    assert.equal(c.orderedWindow, 256);
    assert.equal(c.maxInFlight, 4096);
    assert.equal(c.journalSync, 'full');
    assert.equal(c.logLevel, 'info');
    assert.equal(c.logFormat, 'text');
    assert.equal(c.promHostAndPort, '127.0.0.1:2112');
    assert.equal(c.maxPayloadBytes, 8 * 1024 * 1024);
    assert.equal(c.embeddedBroker, true);
    // Secure by default: a node that runs commands as root acts only on authority it can prove.
    assert.equal(c.enableSignatureCheck, true);
    assert.equal(c.enableAclCheck, true);
    assert.deepEqual(configProblems(c), []);
  });

  it('gives each configuration its own lists', () => {
    const a = base();
    a.allowedWriteRoots.push('/srv');
    assert.deepEqual(base().allowedWriteRoots, []);
  });

  it('refuses the default of a required option: a node has no default name', () => {
    assert.deepEqual(configProblems(defaultConfig('', folder)), [
      '--node is required: unique name of this node (letters, digits, _ and -)',
    ]);
  });
});

describe('configuration checks', () => {
  it('numbers: > 0, ≥ 0, > 0 or -1, whole ≥ n, ports', () => {
    refused({ defaultMessageTimeout: 0 }, /^--defaultMessageTimeout must be > 0, got 0$/);
    refused({ errorMessageTimeout: -1 }, /^--errorMessageTimeout must be > 0, got -1$/);
    refused({ sayHelloInterval: -5 }, /^--sayHelloInterval must be ≥ 0, got -5$/);
    refused({ restartPeriod: Number.NaN }, /^--restartPeriod must be ≥ 0, got NaN$/);
    refused({ defaultMethodTimeout: 0 }, /^--defaultMethodTimeout must be > 0, or -1 for no limit, got 0$/);
    assert.deepEqual(problemsWith({ defaultMethodTimeout: -1, defaultMessageRetries: -1 }), []);
    refused({ defaultMessageRetries: -3 }, /^--defaultMessageRetries must be a whole number ≥ 0, or -1 for no limit, got -3$/);
    refused({ errorMessageRetries: 1.5 }, /^--errorMessageRetries must be a whole number ≥ 0, or -1 for no limit, got 1.5$/);
    refused({ orderedWindow: 0 }, /^--orderedWindow must be a whole number ≥ 1, got 0$/);
    refused({ noseqConcurrency: 2.5 }, /^--noseqConcurrency must be a whole number ≥ 1, got 2.5$/);
    refused({ maxPayloadBytes: 1000 }, /^--maxPayloadBytes must be a whole number ≥ 1024, got 1000$/);
    refused({ profilingPort: 70000 }, /^--profilingPort must be a whole number from 0 to 65535, got 70000$/);
  });

  it('enumerations and types', () => {
    refused({ logLevel: 'loud' }, /^--logLevel must be one of "error", "warn", "info", "debug", got "loud"$/);
    refused({ journalSync: 'off' }, /^--journalSync must be one of "full", "normal", got "off"$/);
    refused({ orderedWindow: '8' }, /^--orderedWindow must be a number, got "8"$/);
    refused({ embeddedBroker: 'yes' }, /^--embeddedBroker must be a boolean, got "yes"$/);
    refused({ brokerAddresses: 'a:1' }, /^--brokerAddress \(brokerAddresses\) must be a list of strings, got "a:1"$/);
    refused({ centralNodeName: undefined }, /^--centralNodeName must be a string, got nothing$/);
    refused({ brokerAdress: ['a:1'] }, /^unknown option "brokerAdress"$/);
    assert.deepEqual(configProblems(null), ['the configuration must be an object, got null']);
  });

  it('node names', () => {
    refused({ node: '../etc' }, /^--node "\.\.\/etc" is not a node name/);
    refused({ node: 'local' }, /^--node must not be "local"/);
    refused({ centralNodeName: 'a.b' }, /^--centralNodeName "a\.b" is not a node name/);
  });

  it('addresses: host:port, broker lists, listening addresses, Stately targets', () => {
    refused({ promHostAndPort: 'nonsense' }, /^--promHostAndPort must be host:port, or "off", got "nonsense"$/);
    refused({ promHostAndPort: '127.0.0.1:99999' }, /^--promHostAndPort must be host:port/);
    assert.deepEqual(problemsWith({ promHostAndPort: 'off' }), []);
    assert.deepEqual(problemsWith({ promHostAndPort: ':9100' }), []);
    assert.deepEqual(
      problemsWith({
        brokerAddresses: ['10.0.0.5:4222', 'nats://a.example:4222', 'tls://u:p@b:4443', ':4223', '4224', 'host', '[::1]:4222'],
      }),
      [],
    );
    refused(
      { brokerAddresses: ['a:1', 'a b:2', 'x:99999', 'http://h:1'] },
      /^--brokerAddress \(brokerAddresses\) must list broker addresses .*; got "a b:2", "x:99999", "http:\/\/h:1"$/,
    );
    refused({ inspect: 'nonsense' }, /^--inspect must be \[host:\]port \(or "off"\), got "nonsense"$/);
    assert.deepEqual(problemsWith({ inspect: '[::1]:2113' }), []);
    refused({ inspectStately: 'http://x' }, /^--inspectStately must be "sky" or a ws:\/\/ or wss:\/\/ URL, got "http:\/\/x"$/);
    assert.deepEqual(problemsWith({ inspectStately: 'wss://inspector.example/x' }), []);
  });

  it('paths: absolute, empty or off where allowed; write roots never "/"', () => {
    refused({ journalPath: 'journal.db' }, /^--journalPath must be an absolute path, got "journal\.db"$/);
    refused({ dataFolder: '' }, /^--dataFolder must be an absolute path, got ""$/);
    refused({ readFolder: 'off' }, /^--readFolder must be an absolute path, or empty, got "off"$/);
    assert.deepEqual(problemsWith({ readFolder: '', socketPath: 'off', brokerTlsCa: '' }), []);
    refused({ socketPath: 'api.sock' }, /^--socketPath must be an absolute path, or empty or "off", got "api\.sock"$/);
    refused({ brokerCredsFile: 'x.creds' }, /^--brokerCredsFile must be an absolute path, or empty, got "x\.creds"$/);
    refused({ allowedWriteRoots: ['/srv', 'tmp'] }, /^--allowedWriteRoots must list absolute folders, got "tmp"$/);
    refused({ allowedWriteRoots: ['/srv/../'] }, /^--allowedWriteRoots must not contain "\/" \(that would allow writing anywhere\)$/);
  });

  it('keys and groups', () => {
    const spki = generateKeyPairSync('ed25519').publicKey.export({ format: 'der', type: 'spki' }).toString('base64');
    assert.deepEqual(problemsWith({ centralPublicKey: spki }), []);
    refused(
      { centralPublicKey: 'not-a-key' },
      /^--centralPublicKey must be an ed25519 public key \(base64, from `steward keys show`\), got "not-a-key"$/,
    );
    assert.deepEqual(problemsWith({ fileGroup: 'adm' }), []);
    assert.deepEqual(problemsWith({ fileGroup: '4' }), []);
    refused({ fileGroup: 'a b' }, /^--fileGroup must be a group name or id, got "a b"$/);
  });

  it('rules between options', () => {
    refused({ messageMaxAge: 7 * 86400 }, /^--messageMaxAge must be shorter than --journalRetentionDays/);
    assert.deepEqual(problemsWith({ messageMaxAge: 7 * 86400, journalRetentionDays: 0 }), []);
    refused({ brokerTlsCert: '/etc/ssl/c.pem' }, /^--brokerTlsCert and --brokerTlsKey go together$/);
    refused({ brokerUser: 'u' }, /^--brokerUser and --brokerPassword go together$/);
  });

  it('reports every problem at once, one per line, in a ConfigError', () => {
    const bad = { ...base(), node: '', orderedWindow: 0, logLevel: 'loud' };
    assert.throws(
      () => validateConfig(bad),
      (err: unknown) =>
        err instanceof ConfigError &&
        err.message.split('\n').length === 3 &&
        /^--node is required/.test(err.message) &&
        err.message.includes('--orderedWindow') &&
        err.message.includes('--logLevel'),
    );
  });
});

describe('parseConfig (raw flag values)', () => {
  it('reads strings as the environment gives them, resolving paths against the node folder', () => {
    const c = parseConfig({
      node: 'ship1',
      nodeFolder: folder,
      brokerAddress: ' a:1, ,b:2 ',
      orderedWindow: '8',
      centralErrorLogger: 'true',
      journalPath: 'db/j.db',
      readFolder: 'in',
      brokerTlsCa: 'ca.pem',
      allowedWriteRoots: '/srv/a/,/srv/b',
      extraYargsKey: 'ignored',
    });
    assert.deepEqual(c.brokerAddresses, ['a:1', 'b:2']);
    assert.equal(c.orderedWindow, 8);
    assert.equal(c.centralErrorLogger, true);
    assert.equal(c.journalPath, join(folder, 'db', 'j.db'));
    assert.equal(c.readFolder, join(folder, 'in'));
    assert.equal(c.brokerTlsCa, join(folder, 'ca.pem'));
    assert.deepEqual(c.allowedWriteRoots, ['/srv/a', '/srv/b']);
    assert.equal(c.dataFolder, join(folder, 'data'));
  });

  it('keeps the CLI spellings: "0" broker, "off" read folder, --inspect and --inspectStately alone, a JSON list', () => {
    const c = parseConfig({ node: 'n', nodeFolder: folder, brokerAddress: '0', readFolder: 'off', inspect: '', inspectStately: '' });
    assert.deepEqual(c.brokerAddresses, []);
    assert.equal(c.readFolder, '');
    assert.equal(c.inspect, '127.0.0.1:2113');
    assert.equal(c.inspectStately, 'sky');
    assert.equal(parseConfig({ node: 'n', inspect: '9000' }).inspect, '127.0.0.1:9000');
    assert.equal(parseConfig({ node: 'n', inspect: 'off', inspectStately: 'off' }).inspect, '');
    assert.deepEqual(parseConfig({ node: 'n', brokerAddress: ['a:1', 'b:2'] }).brokerAddresses, ['a:1', 'b:2']);
    assert.equal(toInspectAddress(':9001'), '127.0.0.1:9001');
  });

  it('names a raw value that is not of its type, and a relative write root, with every other problem', () => {
    assert.throws(
      () => parseConfig({ node: 'n', orderedWindow: 'many', embeddedBroker: 'maybe', allowedWriteRoots: 'rel', defaultMessageTimeout: 0 }),
      (err: unknown) =>
        err instanceof ConfigError &&
        err.message ===
          [
            '--orderedWindow must be a number, got "many"',
            '--embeddedBroker must be true or false, got "maybe"',
            '--defaultMessageTimeout must be > 0, got 0',
            '--allowedWriteRoots must list absolute folders, got "rel"',
          ].join('\n'),
    );
  });
});

describe('option names', () => {
  it('gives each flag its kebab case and STEWARD_ variable as yargs reads them', () => {
    assert.equal(envNameOf('promHostAndPort'), 'STEWARD_PROM_HOST_AND_PORT');
    assert.equal(kebabOf('promHostAndPort'), 'prom-host-and-port');
    const byFlag = new Map(startFlags().map((f) => [f.flag, f]));
    assert.deepEqual(byFlag.get('brokerAddress')?.env, ['STEWARD_BROKER_ADDRESS']);
    assert.equal(byFlag.get('brokerAddress')?.key, 'brokerAddresses');
    assert.deepEqual(byFlag.get('socketPath')?.env, ['STEWARD_SOCKET_PATH', 'STEWARD_SOCKET']);
    assert.deepEqual(byFlag.get('config')?.env, ['STEWARD_CONFIG']);
    assert.equal(byFlag.get('config')?.key, undefined);
    for (const f of byFlag.values()) {
      assert.match(f.env[0]!, /^STEWARD_[A-Z0-9_]+$/);
      assert.equal(f.env[0], `STEWARD_${f.kebab.replace(/-/g, '_').toUpperCase()}`);
    }
    // Every configuration key has exactly one flag.
    assert.deepEqual(
      startFlags()
        .flatMap((f) => (f.key ? [f.key] : []))
        .sort(),
      Object.keys(configSchema).sort(),
    );
  });
});

describe('the CLI reference', () => {
  const page = join(import.meta.dirname, '..', '..', '..', 'docs', 'reference', 'cli.md');

  it('docs/reference/cli.md holds the tables the schema gives (run npm run docs:flags after changing an option)', () => {
    const text = readFileSync(page, 'utf8');
    assert.equal(withFlagDocs(text), text, 'docs/reference/cli.md is stale: run npm run docs:flags');
  });

  it('a stale table is rewritten, and a page without the markers is refused', () => {
    const text = readFileSync(page, 'utf8');
    const stale = text.replace('| `--orderedWindow` |', '| `--orderedWindowz` |');
    assert.notEqual(stale, text);
    assert.equal(withFlagDocs(stale), text);
    assert.throws(() => withFlagDocs('# no markers\n'), FlagDocMarkerError);
    assert.match(
      flagTable('node'),
      /\| `--socketPath` \(alias `--socket`\) \| `--socket-path` \| `STEWARD_SOCKET_PATH`, `STEWARD_SOCKET` \|/,
    );
  });
});

describe('StewardNode', () => {
  it('refuses an invalid configuration, naming the option, before it touches anything', () => {
    const config = { ...defaultConfig('cfg-refused', join(root, 'refused')), orderedWindow: 0, brokerAddresses: ['a b'] };
    assert.throws(
      () => new StewardNode(config),
      (err: unknown) =>
        err instanceof ConfigError &&
        /^--brokerAddress \(brokerAddresses\) must list broker addresses/m.test(err.message) &&
        /^--orderedWindow must be a whole number ≥ 1, got 0$/m.test(err.message),
    );
    assert.equal(existsSync(join(root, 'refused')), false);
  });

  it('refuses a write root of "/" from a program as the CLI does: replies could write anywhere', () => {
    const config = { ...defaultConfig('cfg-root', join(root, 'root')), allowedWriteRoots: ['/'] };
    assert.throws(() => new StewardNode(config), { name: 'ConfigError', message: /^--allowedWriteRoots must not contain "\/"/ });
  });

  it('accepts a valid configuration', () => {
    const node = new StewardNode({ ...defaultConfig('cfg-ok', join(root, 'ok')), promHostAndPort: 'off', socketPath: 'off' });
    assert.equal(node.config.node, 'cfg-ok');
  });
});
