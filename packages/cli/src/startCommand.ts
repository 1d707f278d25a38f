/**
 * `steward start`: run one node in the foreground. Every option can also be
 * given as an environment variable (`STEWARD_` + the name in upper snake
 * case, e.g. STEWARD_BROKER_ADDRESS) or in a JSON config file (`--config`,
 * else `steward.json` in the node folder); flags win over the environment,
 * which wins over the file.
 */
import { existsSync, readFileSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';
import type { Argv } from 'yargs';
import { nodeNameProblem } from '@steward/core';
import { ConfigError, defaultConfig, type NodeConfig } from '@steward/node/client';

/** Exit codes of `steward start`. */
export const StartExit = { Ok: 0, BadConfig: 2, StartFailed: 1 } as const;

const d = defaultConfig('');

/** Declares the options of `steward start`. */
export function startOptions<T>(y: Argv<T>) {
  // A flag given twice takes its last value (as when a script adds flags to a base command line), not both.
  y.parserConfiguration({ 'duplicate-arguments-array': false });
  return y
    .option('node', { type: 'string', describe: 'unique name of this node (letters, digits, _ and -)' })
    .option('nodeFolder', { type: 'string', describe: 'the node folder: inmsg.txt lives here', defaultDescription: 'current directory' })
    .option('dataFolder', { type: 'string', describe: 'where received files are written', defaultDescription: '<nodeFolder>/data' })
    .option('journalPath', { type: 'string', describe: 'the SQLite journal file', defaultDescription: '<nodeFolder>/state/journal.db' })
    .option('auditPath', { type: 'string', describe: 'the audit log (JSON lines)', defaultDescription: '<nodeFolder>/state/audit.log' })
    .option('brokerAddress', {
      type: 'string',
      describe: 'NATS server(s), host:port or nats://host:port, comma-separated',
      defaultDescription: '127.0.0.1:4222, starting a local nats-server if none runs',
    })
    .option('centralNodeName', { type: 'string', default: d.centralNodeName, describe: 'the node that receives ErrorLog and SayHello' })
    .option('centralErrorLogger', {
      type: 'boolean',
      default: d.centralErrorLogger,
      describe: 'this node receives the error logs of the others',
    })
    .option('defaultMessageTimeout', {
      type: 'number',
      default: d.defaultMessageTimeout,
      describe: 'seconds to wait for an ACK, unless the message says',
    })
    .option('defaultMessageRetries', {
      type: 'number',
      default: d.defaultMessageRetries,
      describe: 'resends after the first try, unless the message says; -1 = forever',
    })
    .option('defaultMethodTimeout', {
      type: 'number',
      default: d.defaultMethodTimeout,
      describe: 'seconds a method may run, unless the message says; -1 = no limit',
    })
    .option('errorMessageTimeout', {
      type: 'number',
      default: d.errorMessageTimeout,
      describe: 'ACK timeout of ErrorLog messages to central',
    })
    .option('errorMessageRetries', { type: 'number', default: d.errorMessageRetries, describe: 'retries of ErrorLog messages to central' })
    .option('promHostAndPort', {
      type: 'string',
      default: d.promHostAndPort,
      describe: 'host:port of the Prometheus /metrics endpoint; "off" disables it',
    })
    .option('profilingPort', {
      type: 'number',
      default: d.profilingPort,
      describe: 'open the Node.js inspector on 127.0.0.1:<port> for profiling; 0 = off',
    })
    .option('inspect', {
      type: 'string',
      describe: 'serve the live actor inspector page on [host:]port; the flag alone: 127.0.0.1:2113; "off" = none',
      defaultDescription: 'off',
    })
    .option('inspectToken', {
      type: 'string',
      default: d.inspectToken,
      describe:
        'token the inspector requires (open the page with ?token=<token>); empty = generated, in state/inspect.token; "none" = no token',
    })
    .option('inspectStately', {
      type: 'string',
      describe: 'also forward actor events to Stately\'s inspector: "sky" (the flag alone) or a ws:// URL; needs internet',
      defaultDescription: 'off',
    })
    .option('sayHelloInterval', {
      type: 'number',
      default: d.sayHelloInterval,
      describe: 'seconds between SayHello messages to central; 0 = never',
    })
    .option('keepPublishersAliveFor', {
      type: 'number',
      default: d.keepPublishersAliveFor,
      describe: 'seconds an idle publisher process lives',
    })
    .option('restartIntensity', {
      type: 'number',
      default: d.restartIntensity,
      describe: 'restarts of one process allowed within restartPeriod before escalating',
    })
    .option('restartPeriod', { type: 'number', default: d.restartPeriod, describe: 'seconds of the restart-intensity window' })
    .option('journalSync', {
      choices: ['full', 'normal'] as const,
      default: d.journalSync,
      describe: 'journal durability: full survives power loss, normal a killed process',
    })
    .option('journalRetentionDays', {
      type: 'number',
      default: d.journalRetentionDays,
      describe: 'days finished messages stay in the journal',
    })
    .option('noseqConcurrency', { type: 'number', default: d.noseqConcurrency, describe: 'concurrent executions of a NOSEQ method' })
    .option('orderedWindow', {
      type: 'number',
      default: d.orderedWindow,
      describe: 'messages in flight at once on an ordered subject (1 = stop-and-wait)',
    })
    .option('embeddedBroker', {
      type: 'boolean',
      default: d.embeddedBroker,
      describe: 'start a local nats-server when no broker is given and none runs on 127.0.0.1:4222',
    })
    .option('socketPath', {
      type: 'string',
      alias: 'socket',
      describe: 'the local API socket used by steward send/status/jobs/nodes (mode 0600); "off" disables it',
      defaultDescription: '$XDG_RUNTIME_DIR/steward/<node>.sock if usable, else <nodeFolder>/steward.sock',
    })
    .option('readFolder', {
      type: 'string',
      describe: 'folder whose new JSON/YAML files are sent as messages, then removed; "off" disables it',
      defaultDescription: '<nodeFolder>/readfolder',
    })
    .option('allowedWriteRoots', {
      type: 'string',
      describe: 'absolute folders (comma-separated) that replies with an absolute "directory", and copies, may write under',
      defaultDescription: 'none: replies stay under dataFolder, copies under nodeFolder',
    })
    .option('brokerTlsCa', { type: 'string', default: d.brokerTlsCa, describe: 'CA certificate (PEM) of the broker: connect with TLS' })
    .option('brokerTlsCert', {
      type: 'string',
      default: d.brokerTlsCert,
      describe: 'client certificate (PEM) for TLS client authentication',
    })
    .option('brokerTlsKey', { type: 'string', default: d.brokerTlsKey, describe: 'private key (PEM) of --brokerTlsCert' })
    .option('brokerUser', { type: 'string', default: d.brokerUser, describe: 'broker user name (with --brokerPassword)' })
    .option('brokerPassword', {
      type: 'string',
      default: d.brokerPassword,
      describe: 'broker password; prefer STEWARD_BROKER_PASSWORD (never logged)',
    })
    .option('brokerToken', { type: 'string', default: d.brokerToken, describe: 'broker token; prefer STEWARD_BROKER_TOKEN (never logged)' })
    .option('brokerNkeySeedFile', {
      type: 'string',
      default: d.brokerNkeySeedFile,
      describe: 'file holding the nkey seed (SU...) to authenticate with',
    })
    .option('brokerCredsFile', {
      type: 'string',
      default: d.brokerCredsFile,
      describe: 'NATS .creds file (JWT and nkey seed) to authenticate with',
    })
    .option('enableSignatureCheck', {
      type: 'boolean',
      default: d.enableSignatureCheck,
      describe:
        'run only messages whose ed25519 signature verifies against a key approved at central, and take only ACKs the target signed (on by default; false: anyone who reaches the broker is trusted)',
    })
    .option('enableAclCheck', {
      type: 'boolean',
      default: d.enableAclCheck,
      describe:
        'deny every received message no ACL rule (steward acl, pushed from central) allows; until an ACL is set, central may call everything and the other nodes nothing (on by default)',
    })
    .option('centralPublicKey', {
      type: 'string',
      default: d.centralPublicKey,
      describe: "central's public key (steward keys show); empty: trust the first key set central sends",
    })
    .option('messageMaxAge', {
      type: 'number',
      default: d.messageMaxAge,
      describe: 'seconds a sent message (each try) stays valid; receivers refuse it afterwards',
    })
    .option('keysPushInterval', { type: 'number', default: d.keysPushInterval, describe: 'seconds between key-set pushes from central' })
    .option('maxPayloadBytes', {
      type: 'number',
      default: d.maxPayloadBytes,
      describe: 'largest payload accepted from the broker, in bytes',
    })
    .option('fileGroup', {
      type: 'string',
      default: d.fileGroup,
      describe: 'group (name or gid) that may read what the node writes (folders 2750, files 0640); empty: owner only (0700/0600)',
    })
    .option('logLevel', { choices: ['error', 'warn', 'info', 'debug'] as const, default: d.logLevel, describe: 'log level' })
    .option('logFormat', {
      choices: ['text', 'json', 'auto'] as const,
      default: 'text' as const,
      describe: 'log lines for people (text), machines (json, one object per line), or auto: text on a terminal, else json',
    })
    .option('config', {
      type: 'string',
      describe: 'JSON config file with any of these options',
      defaultDescription: '<nodeFolder>/steward.json if present',
    });
}

/** The names of every `steward start` option (camelCase). */
export function startOptionNames(): string[] {
  return [
    'node',
    'nodeFolder',
    'dataFolder',
    'journalPath',
    'auditPath',
    'brokerAddress',
    'config',
    'logFormat',
    ...Object.keys(d).filter((k) => k !== 'brokerAddresses'),
  ];
}

type StartArgs = Awaited<ReturnType<typeof startOptions>['argv']>;

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
 * The inspector address `--inspect` asks for: '' for off (not given, or
 * "off"), 127.0.0.1:2113 for the flag alone, loopback for a bare port;
 * undefined when it is not an address.
 */
export function toInspectAddress(value: string | undefined): string | undefined {
  if (value === undefined || value === 'off') return '';
  if (value === '' || value === 'true') return '127.0.0.1:2113';
  if (/^\d+$/.test(value)) return `127.0.0.1:${value}`;
  const m = /^(.*):(\d+)$/.exec(value);
  if (!m || Number(m[2]) > 65535) return undefined;
  return `${m[1] || '127.0.0.1'}:${m[2]}`;
}

/** Checks the parsed options and turns them into a node configuration. */
export function toNodeConfig(a: StartArgs): NodeConfig {
  const problems: string[] = [];
  if (a.node === undefined || a.node === '') problems.push('--node is required: the unique name of this node (e.g. --node ship1)');
  else {
    const p = nodeNameProblem(a.node);
    if (p) problems.push(`--node ${p}`);
  }
  const nonNegative = [
    'defaultMessageTimeout',
    'errorMessageTimeout',
    'sayHelloInterval',
    'keepPublishersAliveFor',
    'restartPeriod',
    'journalRetentionDays',
    'profilingPort',
    'restartIntensity',
  ] as const;
  for (const k of nonNegative) {
    const v = a[k];
    if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) problems.push(`--${k} must be a number ≥ 0, got ${String(v)}`);
  }
  for (const k of ['defaultMessageRetries', 'errorMessageRetries'] as const) {
    const v = a[k];
    if (!Number.isInteger(v) || v < -1) problems.push(`--${k} must be a whole number ≥ 0, or -1 for no limit; got ${String(v)}`);
  }
  if (!(a.defaultMethodTimeout === -1 || a.defaultMethodTimeout > 0))
    problems.push(`--defaultMethodTimeout must be > 0, or -1 for no limit; got ${a.defaultMethodTimeout}`);
  if (a.defaultMessageTimeout === 0) problems.push('--defaultMessageTimeout must be > 0');
  if (a.errorMessageTimeout === 0) problems.push('--errorMessageTimeout must be > 0');
  if (!Number.isInteger(a.noseqConcurrency) || a.noseqConcurrency < 1)
    problems.push(`--noseqConcurrency must be a whole number ≥ 1; got ${a.noseqConcurrency}`);
  if (!Number.isInteger(a.orderedWindow) || a.orderedWindow < 1)
    problems.push(`--orderedWindow must be a whole number ≥ 1; got ${a.orderedWindow}`);
  if (a.promHostAndPort && a.promHostAndPort !== 'off' && !/^[^:]*:\d+$/.test(a.promHostAndPort))
    problems.push(`--promHostAndPort must be host:port (or "off"), got "${a.promHostAndPort}"`);
  const inspect = toInspectAddress(a.inspect);
  if (inspect === undefined) problems.push(`--inspect must be [host:]port (or "off"), got "${String(a.inspect)}"`);
  const stately = a.inspectStately === undefined || a.inspectStately === 'off' ? '' : a.inspectStately || 'sky';
  if (stately && stately !== 'sky' && !/^wss?:\/\/\S+$/.test(stately))
    problems.push(`--inspectStately must be "sky" or a ws:// or wss:// URL, got "${stately}"`);
  const cn = nodeNameProblem(a.centralNodeName);
  if (cn) problems.push(`--centralNodeName ${cn}`);
  if (a.node === 'local') problems.push('--node must not be "local": in messages "local" means "this node"');
  const writeRoots = (a.allowedWriteRoots ?? '')
    .split(',')
    .map((x) => x.trim())
    .filter((x) => x !== '');
  for (const r of writeRoots) {
    if (!isAbsolute(r)) problems.push(`--allowedWriteRoots must list absolute folders, got "${r}"`);
    else if (resolve(r) === '/') problems.push('--allowedWriteRoots must not contain "/" (that would allow writing anywhere)');
  }
  if (!(a.messageMaxAge > 0)) problems.push(`--messageMaxAge must be > 0 seconds, got ${a.messageMaxAge}`);
  else if (a.journalRetentionDays > 0 && a.messageMaxAge >= a.journalRetentionDays * 86400)
    problems.push(
      '--messageMaxAge must be shorter than --journalRetentionDays, or a replayed message could be neither expired nor a known duplicate',
    );
  if (!(a.keysPushInterval > 0)) problems.push(`--keysPushInterval must be > 0, got ${a.keysPushInterval}`);
  if (!Number.isInteger(a.maxPayloadBytes) || a.maxPayloadBytes < 1024)
    problems.push(`--maxPayloadBytes must be a whole number ≥ 1024, got ${a.maxPayloadBytes}`);
  if (!!a.brokerTlsCert !== !!a.brokerTlsKey) problems.push('--brokerTlsCert and --brokerTlsKey go together');
  if (!!a.brokerUser !== !!a.brokerPassword) problems.push('--brokerUser and --brokerPassword go together');
  if (problems.length) throw new ConfigError(problems.join('\n'));

  const c = defaultConfig(a.node!, a.nodeFolder ?? process.cwd());
  const brokers = (a.brokerAddress ?? '')
    .split(',')
    .map((x) => x.trim())
    .filter((x) => x !== '' && x !== '0');
  return {
    ...c,
    // Relative paths are relative to the node folder, like everything else the node owns.
    dataFolder: a.dataFolder ? resolve(c.nodeFolder, a.dataFolder) : c.dataFolder,
    journalPath: a.journalPath ? resolve(c.nodeFolder, a.journalPath) : c.journalPath,
    auditPath: a.auditPath ? resolve(c.nodeFolder, a.auditPath) : c.auditPath,
    brokerAddresses: brokers,
    centralNodeName: a.centralNodeName,
    centralErrorLogger: a.centralErrorLogger,
    defaultMessageTimeout: a.defaultMessageTimeout,
    defaultMessageRetries: a.defaultMessageRetries,
    defaultMethodTimeout: a.defaultMethodTimeout,
    errorMessageTimeout: a.errorMessageTimeout,
    errorMessageRetries: a.errorMessageRetries,
    promHostAndPort: a.promHostAndPort,
    profilingPort: a.profilingPort,
    inspect: inspect ?? '',
    inspectToken: a.inspectToken ?? '',
    inspectStately: stately,
    sayHelloInterval: a.sayHelloInterval,
    keepPublishersAliveFor: a.keepPublishersAliveFor,
    restartIntensity: a.restartIntensity,
    restartPeriod: a.restartPeriod,
    journalSync: a.journalSync,
    journalRetentionDays: a.journalRetentionDays,
    noseqConcurrency: a.noseqConcurrency,
    orderedWindow: a.orderedWindow,
    logLevel: a.logLevel,
    embeddedBroker: a.embeddedBroker,
    readFolder:
      a.readFolder === undefined ? c.readFolder : a.readFolder === '' || a.readFolder === 'off' ? '' : resolve(c.nodeFolder, a.readFolder),
    allowedWriteRoots: writeRoots.map((r) => resolve(r)),
    socketPath: !a.socketPath || a.socketPath === 'off' ? (a.socketPath ?? '') : resolve(a.socketPath),
    brokerTlsCa: a.brokerTlsCa ? resolve(c.nodeFolder, a.brokerTlsCa) : '',
    brokerTlsCert: a.brokerTlsCert ? resolve(c.nodeFolder, a.brokerTlsCert) : '',
    brokerTlsKey: a.brokerTlsKey ? resolve(c.nodeFolder, a.brokerTlsKey) : '',
    brokerUser: a.brokerUser,
    brokerPassword: a.brokerPassword,
    brokerToken: a.brokerToken,
    brokerNkeySeedFile: a.brokerNkeySeedFile ? resolve(c.nodeFolder, a.brokerNkeySeedFile) : '',
    brokerCredsFile: a.brokerCredsFile ? resolve(c.nodeFolder, a.brokerCredsFile) : '',
    enableSignatureCheck: a.enableSignatureCheck,
    enableAclCheck: a.enableAclCheck,
    centralPublicKey: a.centralPublicKey,
    messageMaxAge: a.messageMaxAge,
    keysPushInterval: a.keysPushInterval,
    maxPayloadBytes: a.maxPayloadBytes,
    fileGroup: a.fileGroup,
  };
}

/** Runs a node until SIGINT/SIGTERM; resolves with the process exit code. */
export async function runStart(a: StartArgs): Promise<number> {
  let config: NodeConfig;
  try {
    config = toNodeConfig(a);
  } catch (err) {
    console.error(`steward start: ${(err as Error).message}`);
    return StartExit.BadConfig;
  }
  // The runtime is loaded only here: the other commands start without it.
  const { StewardNode } = await import('@steward/node');
  const node = new StewardNode(config, { logFormat: a.logFormat });
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
    if (stoppedEarly) return node.exited;
  } catch (err) {
    node.log.error(`node ${config.node} could not start: ${(err as Error).message}`);
    await node.stop(StartExit.StartFailed);
    return StartExit.StartFailed;
  }
  return node.exited;
}
