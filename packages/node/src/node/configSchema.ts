/**
 * The configuration schema: every option of a node, once. Each entry gives
 * the option's type, default, checks, `--help` line and CLI-reference text;
 * from it come the {@link NodeConfig} type, `defaultConfig`, the validation
 * `StewardNode` runs (config.ts), the options of `steward start` (flags,
 * kebab-case spellings, `STEWARD_*` variables, `steward.json` keys) and the
 * option tables of docs/reference/cli.md (configDocs.ts, `npm run docs:flags`).
 * Adding an option is adding one entry here.
 *
 * Light on purpose: the CLI loads it from `@steward/node/client`.
 */
import { resolve } from 'node:path';
import {
  absolutePath,
  brokerAddresses,
  groupOrEmpty,
  hostPortOrOff,
  listenAddressOrOff,
  nodeName,
  nonNegative,
  portOrOff,
  positive,
  positiveOrNoLimit,
  publicKeyOrEmpty,
  retries,
  shown,
  statelyTarget,
  wholeAtLeast,
  writeRoots,
  type Check,
} from './configChecks.js';

/** Which option table of docs/reference/cli.md lists an option. */
export const OptionSection = { Node: 'node', Broker: 'broker' } as const;
/** Which option table of docs/reference/cli.md lists an option. */
export type OptionSection = (typeof OptionSection)[keyof typeof OptionSection];

/** What {@link OptionSpec.fromFlag} knows besides the given value. */
export interface FlagContext<V> {
  /** The node folder (absolute): relative paths are relative to it. */
  readonly nodeFolder: string;
  /** The option's default for that node folder. */
  readonly default: V;
}

/**
 * One option of the configuration.
 *
 * @typeParam V - the type of its value in {@link NodeConfig}
 */
export interface OptionSpec<V> {
  /**
   * How a flag, environment variable or file value is read. A `list` is
   * given as one comma-separated string (or a JSON array in the file).
   */
  readonly type: 'string' | 'number' | 'boolean' | 'list';
  /** The only values allowed. */
  readonly choices?: readonly string[];
  /** The flag (and file key), when it differs from the configuration key. */
  readonly flag?: string;
  /** Other flag names (each also a `STEWARD_*` variable). */
  readonly aliases?: readonly string[];
  /** Its table in docs/reference/cli.md. */
  readonly section: OptionSection;
  /** The option must be given: its default (empty) is refused. */
  readonly required?: boolean;
  /** The default, or how to compute it from the node folder. */
  readonly default: V | ((nodeFolder: string) => V);
  /** The default as `--help` shows it, when not the value itself. */
  readonly defaultText?: string;
  /** The default as the CLI reference shows it (markdown), when not {@link OptionSpec.defaultText} or the value. */
  readonly defaultDoc?: string;
  /** The one line of `steward start --help`. */
  readonly help: string;
  /** The meaning in the CLI reference (markdown, links relative to docs/reference/). */
  readonly doc: string;
  /** Rules of the value; every one broken is reported, naming the option. */
  readonly checks?: readonly Check<V>[];
  /** Turns a value given on the command line, in the environment or in the file into the option's value (e.g. resolves a path). */
  fromFlag?(value: V, at: FlagContext<V>): V;
}

/** An entry's fields besides its type. */
type Fields<V> = Omit<OptionSpec<V>, 'type' | 'choices'>;

const text = (f: Fields<string>): OptionSpec<string> => ({ type: 'string', ...f });
const num = (f: Fields<number>): OptionSpec<number> => ({ type: 'number', ...f });
const bool = (f: Fields<boolean>): OptionSpec<boolean> => ({ type: 'boolean', ...f });
const list = (f: Fields<string[]>): OptionSpec<string[]> => ({ type: 'list', ...f });
function oneOf<const C extends readonly string[]>(choices: C, f: Fields<C[number]>): OptionSpec<C[number]> {
  return { type: 'string', choices, ...f };
}

// Relative paths are relative to the node folder, like everything else the node owns; empty means "the default".
const inNodeFolder = (v: string, at: FlagContext<string>) => (v ? resolve(at.nodeFolder, v) : at.default);

/** The options of a node, in the order of the CLI reference. */
export const configSchema = {
  node: text({
    section: 'node',
    required: true,
    default: '',
    help: 'unique name of this node (letters, digits, _ and -)',
    doc: 'Unique name of this node: 1–64 letters, digits, `_` or `-`, starting with a letter or digit. No dots, because the name is a subject token. Not `local`: in messages, `local` means "this node".',
    checks: [nodeName, { problem: (v) => (v === 'local' ? 'must not be "local": in messages "local" means "this node"' : undefined) }],
  }),
  nodeFolder: text({
    section: 'node',
    default: (folder) => folder,
    defaultText: 'current directory',
    help: 'the node folder: inmsg.txt lives here',
    doc: 'The node folder: `inmsg.txt`, `steward.json`, `data/` and `state/` live here. Commands run here.',
    checks: [absolutePath()],
  }),
  dataFolder: text({
    section: 'node',
    default: (folder) => resolve(folder, 'data'),
    defaultText: '<nodeFolder>/data',
    defaultDoc: '`<nodeFolder>/data`',
    help: 'where received files are written',
    doc: 'Where received files and stored outputs are written. A relative path is relative to the node folder.',
    checks: [absolutePath()],
    fromFlag: inNodeFolder,
  }),
  journalPath: text({
    section: 'node',
    default: (folder) => resolve(folder, 'state', 'journal.db'),
    defaultText: '<nodeFolder>/state/journal.db',
    defaultDoc: '`<nodeFolder>/state/journal.db`',
    help: 'the SQLite journal file',
    doc: 'The SQLite journal. A relative path is relative to the node folder.',
    checks: [absolutePath()],
    fromFlag: inNodeFolder,
  }),
  auditPath: text({
    section: 'node',
    default: (folder) => resolve(folder, 'state', 'audit.log'),
    defaultText: '<nodeFolder>/state/audit.log',
    defaultDoc: '`<nodeFolder>/state/audit.log`',
    help: 'the audit log (JSON lines)',
    doc: 'The audit log (JSON lines). A relative path is relative to the node folder.',
    checks: [absolutePath()],
    fromFlag: inNodeFolder,
  }),
  brokerAddresses: list({
    flag: 'brokerAddress',
    section: 'node',
    default: [],
    defaultText: '127.0.0.1:4222, starting a local nats-server if none runs',
    defaultDoc: '`127.0.0.1:4222`, starting a local nats-server if none runs',
    help: 'NATS server(s), host:port or nats://host:port, comma-separated',
    doc: 'NATS server(s), comma-separated. Each is `host:port`, `nats://host:port`, `:port` (127.0.0.1) or just `port`. `0` (the original default) and empty mean "not given".',
    checks: [brokerAddresses],
    // "0" was the seed's default: "not given".
    fromFlag: (v) => v.filter((a) => a !== '0'),
  }),
  centralNodeName: text({
    section: 'node',
    default: 'central',
    help: 'the node that receives ErrorLog and SayHello',
    doc: 'The node that gets `ErrorLog` and `SayHello`.',
    checks: [nodeName],
  }),
  centralErrorLogger: bool({
    section: 'node',
    default: false,
    help: 'this node receives the error logs of the others',
    doc: 'This node accepts `ErrorLog` messages and writes `data/errorLog.log`.',
  }),
  defaultMessageTimeout: num({
    section: 'node',
    default: 10,
    help: 'seconds to wait for an ACK, unless the message says',
    doc: 'Seconds to wait for an ACK, when the message has no `timeout`.',
    checks: [positive],
  }),
  defaultMessageRetries: num({
    section: 'node',
    default: 1,
    help: 'resends after the first try, unless the message says; -1 = forever',
    doc: 'Resends after the first try, when the message has no `retries`. `-1` = forever.',
    checks: [retries],
  }),
  defaultMethodTimeout: num({
    section: 'node',
    default: 10,
    help: 'seconds a method may run, unless the message says; -1 = no limit',
    doc: 'Seconds a method may run, when the message has no `methodTimeout`. `-1` = no limit.',
    checks: [positiveOrNoLimit],
  }),
  errorMessageTimeout: num({
    section: 'node',
    default: 10,
    help: 'ACK timeout of ErrorLog messages to central',
    doc: 'ACK timeout of the `ErrorLog` messages this node sends to central.',
    checks: [positive],
  }),
  errorMessageRetries: num({
    section: 'node',
    default: 3,
    help: 'retries of ErrorLog messages to central',
    doc: 'Retries of those `ErrorLog` messages. `-1` = forever.',
    checks: [retries],
  }),
  promHostAndPort: text({
    section: 'node',
    default: '127.0.0.1:2112',
    help: 'host:port of the Prometheus /metrics endpoint; "off" disables it',
    doc: '`host:port` of the metrics endpoint `/metrics`. `:2112` listens on all interfaces. `off` (or empty) disables it.',
    checks: [hostPortOrOff],
  }),
  profilingPort: num({
    section: 'node',
    default: 0,
    help: 'open the Node.js inspector on 127.0.0.1:<port> for profiling; 0 = off',
    doc: 'Opens the Node.js inspector on `127.0.0.1:<port>` for profiling. `0` = off.',
    checks: [portOrOff],
  }),
  sayHelloInterval: num({
    section: 'node',
    default: 30,
    help: 'seconds between SayHello messages to central; 0 = never',
    doc: 'Seconds between `SayHello` messages to central. The first is sent at start. `0` = never.',
    checks: [nonNegative],
  }),
  keepPublishersAliveFor: num({
    section: 'node',
    default: 10,
    help: 'seconds an idle publisher process lives',
    doc: 'Seconds an idle publisher process lives before it is stopped.',
    checks: [nonNegative],
  }),
  restartIntensity: num({
    section: 'node',
    default: 5,
    help: 'restarts of one process allowed within restartPeriod before escalating',
    doc: 'Restarts of one process allowed within `restartPeriod`. One more escalates ([Supervision](../concepts/supervision.md)).',
    checks: [nonNegative],
  }),
  restartPeriod: num({
    section: 'node',
    default: 60,
    help: 'seconds of the restart-intensity window',
    doc: 'Seconds of the sliding restart-intensity window.',
    checks: [nonNegative],
  }),
  journalSync: oneOf(['full', 'normal'], {
    section: 'node',
    default: 'full',
    help: 'journal durability: full survives power loss, normal a killed process',
    doc: '`full`: every commit survives power loss. `normal`: survives a killed process, but the last commits may be lost on power loss.',
  }),
  journalRetentionDays: num({
    section: 'node',
    default: 7,
    help: 'days finished messages stay in the journal',
    doc: 'Days that finished messages stay in the journal. This also bounds duplicate detection ([Delivery guarantees](../concepts/delivery.md)).',
    checks: [nonNegative],
  }),
  noseqConcurrency: num({
    section: 'node',
    default: 64,
    help: 'concurrent executions of a NOSEQ method',
    doc: 'Concurrent deliveries on a NOSEQ subject, and concurrent executions of a NOSEQ method.',
    checks: [wholeAtLeast(1)],
  }),
  orderedWindow: num({
    section: 'node',
    default: 256,
    help: 'messages in flight at once on an ordered subject (1 = stop-and-wait)',
    doc: "Messages in flight at once on an ordered subject (pipelined delivery; the receiver still runs them one at a time, in order). `1` is the original steward's stop-and-wait ([Order](../concepts/delivery.md#order)).",
    checks: [wholeAtLeast(1)],
  }),
  maxInFlight: num({
    section: 'node',
    default: 4096,
    help: 'messages in flight at once across all subjects of this node, beyond the first of each subject',
    doc: "Messages in flight at once across all the subjects of this node. Each subject may use its window (`--orderedWindow`, `--noseqConcurrency`) while the node stays under this; each subject's first message in flight always goes. It keeps a node that resumes many subjects at once (a restart, a receiver back after a long time) from sending more than its receivers answer within an ACK timeout ([Order](../concepts/delivery.md#order)).",
    checks: [wholeAtLeast(1)],
  }),
  frames: bool({
    section: 'node',
    default: true,
    help: 'send the messages of one subject ready at the same moment in one signed NATS message (a frame), and answer them with one ACK frame',
    doc: 'Send the messages of one subject that are ready at the same moment in one NATS message with one signature (a frame), and answer a frame with one ACK frame. A transport detail: subjects and message JSON stay the same ([Frames](message-fields.md#frames)). Turn it off on senders while some receivers still run a release without frames (0.1.0 and earlier).',
  }),
  embeddedBroker: bool({
    section: 'node',
    default: true,
    help: 'start a local nats-server when no broker is given and none runs on 127.0.0.1:4222',
    doc: 'Start a local nats-server when no broker is given and none listens on 127.0.0.1:4222.',
  }),
  logLevel: oneOf(['error', 'warn', 'info', 'debug'], {
    section: 'node',
    default: 'info',
    help: 'log level',
    doc: '`error`, `warn`, `info` or `debug`.',
  }),
  logFormat: oneOf(['text', 'json', 'auto'], {
    section: 'node',
    default: 'text',
    help: 'log lines for people (text), machines (json, one object per line), or auto: text on a terminal, else json',
    doc: '`text` (for people), `json` (one JSON object per line) or `auto` (text on a terminal, JSON otherwise).',
  }),
  inspect: text({
    section: 'node',
    default: '',
    defaultText: 'off',
    defaultDoc: 'off',
    help: 'serve the live actor inspector page on [host:]port; the flag alone: 127.0.0.1:2113; "off" = none',
    doc: 'Serve the live inspector page on `[host:]port`; the flag alone means `127.0.0.1:2113`, a bare port is on loopback; `off` = none ([The inspector](../operations/inspector.md)).',
    checks: [listenAddressOrOff],
    fromFlag: (v) => toInspectAddress(v) ?? v,
  }),
  fileGroup: text({
    section: 'node',
    default: '',
    defaultDoc: 'empty',
    help: 'group (name or gid) that may read what the node writes (folders 2750, files 0640); empty: owner only (0700/0600)',
    doc: 'A group (name or gid) that may read what the node writes: folders `2750` (setgid), files `0640`, in that group. Empty: owner only (folders `0700`, files `0600`; [File modes](files.md#file-modes)). An unknown group stops the start.',
    checks: [groupOrEmpty],
  }),
  inspectToken: text({
    section: 'node',
    default: '',
    defaultDoc: 'generated',
    help: 'token the inspector requires (open the page with ?token=<token>); empty = generated, in state/inspect.token; "none" = no token',
    doc: 'The token the inspector requires (Bearer header or `?token=`). Not given: a random token is generated once, stored mode 0600 in `<nodeFolder>/state/inspect.token` and kept across restarts. `none`: no token (a WARN is logged).',
  }),
  inspectStately: text({
    section: 'node',
    default: '',
    defaultText: 'off',
    defaultDoc: 'off',
    help: 'also forward actor events to Stately\'s inspector: "sky" (the flag alone) or a ws:// URL; needs internet',
    doc: "Forward actor events to Stately's inspector: `sky` (the flag alone) or a `ws://` or `wss://` URL; `off` = none.",
    checks: [statelyTarget],
    fromFlag: (v) => (v === 'off' ? '' : v || 'sky'),
  }),
  readFolder: text({
    section: 'node',
    default: (folder) => resolve(folder, 'readfolder'),
    defaultText: '<nodeFolder>/readfolder',
    defaultDoc: '`<nodeFolder>/readfolder`',
    help: 'folder whose new JSON/YAML files are sent as messages, then removed; "off" disables it',
    doc: 'A folder whose new files are read as messages, then removed ([read folder](inputs.md#the-read-folder)). Relative to the node folder. `off` disables it.',
    checks: [absolutePath({ orEmpty: true })],
    fromFlag: (v, at) => (v === '' || v === 'off' ? '' : resolve(at.nodeFolder, v)),
  }),
  allowedWriteRoots: list({
    section: 'node',
    default: [],
    defaultText: 'none: replies stay under dataFolder, copies under nodeFolder',
    defaultDoc: 'none',
    help: 'absolute folders (comma-separated) that replies with an absolute "directory", and copies, may write under',
    doc: 'Absolute folders, comma-separated, that a reply with an absolute `directory`, or a copy with an absolute destination, may write under. Without it, replies stay under `--dataFolder` and copies under the node folder.',
    checks: [writeRoots],
    // Only absolute folders are normalised: a relative one is refused, not guessed.
    fromFlag: (v) => v.map((r) => (r.startsWith('/') ? resolve(r) : r)),
  }),
  socketPath: text({
    section: 'node',
    aliases: ['socket'],
    default: '',
    defaultText: '$XDG_RUNTIME_DIR/steward/<node>.sock if usable, else <nodeFolder>/steward.sock',
    defaultDoc: 'automatic ([where it is](socket-api.md#where-it-is))',
    help: 'the local API socket used by steward send/status/jobs/nodes (mode 0600); "off" disables it',
    doc: 'The local API socket used by `steward send`, `status`, `jobs` and `nodes`; `off` disables it. A relative path is relative to the current directory.',
    checks: [absolutePath({ orEmpty: true, orOff: true })],
    fromFlag: (v) => (v === '' || v === 'off' ? v : resolve(v)),
  }),
  brokerTlsCa: text({
    section: 'broker',
    default: '',
    help: 'CA certificate (PEM) of the broker: connect with TLS',
    doc: "CA certificate file (PEM) the broker's certificate must chain to; turns TLS on.",
    checks: [absolutePath({ orEmpty: true })],
    fromFlag: inNodeFolder,
  }),
  brokerTlsCert: text({
    section: 'broker',
    default: '',
    help: 'client certificate (PEM) for TLS client authentication',
    doc: 'Client certificate file (PEM) for TLS client authentication, with `--brokerTlsKey`.',
    checks: [absolutePath({ orEmpty: true })],
    fromFlag: inNodeFolder,
  }),
  brokerTlsKey: text({
    section: 'broker',
    default: '',
    help: 'private key (PEM) of --brokerTlsCert',
    doc: 'Private key file (PEM) of `--brokerTlsCert`.',
    checks: [absolutePath({ orEmpty: true })],
    fromFlag: inNodeFolder,
  }),
  brokerUser: text({
    section: 'broker',
    default: '',
    help: 'broker user name (with --brokerPassword)',
    doc: 'Broker user name, with `--brokerPassword`.',
  }),
  brokerPassword: text({
    section: 'broker',
    default: '',
    help: 'broker password; prefer STEWARD_BROKER_PASSWORD (never logged)',
    doc: 'Broker password. Give it as `STEWARD_BROKER_PASSWORD`: command lines are visible to every user of the machine. Never logged.',
  }),
  brokerToken: text({
    section: 'broker',
    default: '',
    help: 'broker token; prefer STEWARD_BROKER_TOKEN (never logged)',
    doc: 'Token authentication; give it as `STEWARD_BROKER_TOKEN`. Never logged.',
  }),
  brokerNkeySeedFile: text({
    section: 'broker',
    default: '',
    help: 'file holding the nkey seed (SU...) to authenticate with',
    doc: "File with the node's nkey seed (`SU...`); keep it mode 0600.",
    checks: [absolutePath({ orEmpty: true })],
    fromFlag: inNodeFolder,
  }),
  brokerCredsFile: text({
    section: 'broker',
    default: '',
    help: 'NATS .creds file (JWT and nkey seed) to authenticate with',
    doc: 'NATS `.creds` file (JWT + seed), from `nsc`. Wins over the nkey seed file.',
    checks: [absolutePath({ orEmpty: true })],
    fromFlag: inNodeFolder,
  }),
  enableSignatureCheck: bool({
    section: 'broker',
    default: true,
    defaultDoc: '**on**',
    help: 'run only messages whose ed25519 signature verifies against a key approved at central, and take only ACKs the target signed (on by default; false: anyone who reaches the broker is trusted)',
    doc: "Run only messages signed by an approved key, and take only ACKs signed by the target's approved key. `--enableSignatureCheck false` turns it off (the node then trusts every name it is told; on a broker without authentication it logs a WARN saying so).",
  }),
  enableAclCheck: bool({
    section: 'broker',
    default: true,
    defaultDoc: '**on**',
    help: 'deny every received message no ACL rule (steward acl, pushed from central) allows; until an ACL is set, central may call everything and the other nodes nothing (on by default)',
    doc: 'Deny every message no ACL rule allows. Until an ACL is set, the policy is "central may call every method on every node". Use with `--enableSignatureCheck` (otherwise the sender\'s name is not proven; the node warns).',
  }),
  centralPublicKey: text({
    section: 'broker',
    default: '',
    defaultDoc: 'none (trust on first use)',
    help: "central's public key (steward keys show); empty: trust the first key set central sends",
    doc: "Central's public key, from `steward keys show` at central. Empty: trust the key of the first key set central sends.",
    checks: [publicKeyOrEmpty],
  }),
  messageMaxAge: num({
    section: 'broker',
    default: 3600,
    help: 'seconds a sent message (each try) stays valid; receivers refuse it afterwards',
    doc: 'Seconds each send of a message stays valid; receivers refuse it afterwards.',
    checks: [positive],
  }),
  keysPushInterval: num({
    section: 'broker',
    default: 30,
    help: 'seconds between key-set pushes from central',
    doc: 'Central: seconds between pushes of the key set and ACL.',
    checks: [positive],
  }),
  maxPayloadBytes: num({
    section: 'broker',
    default: 8 * 1024 * 1024,
    help: 'largest payload accepted from the broker, in bytes',
    doc: 'Largest message accepted from the broker; larger ones are refused and the node keeps serving.',
    checks: [wholeAtLeast(1024)],
  }),
  maxChunkedBytes: num({
    section: 'broker',
    default: 64 * 1024 * 1024,
    help: 'largest output or message field sent in chunks when it does not fit one broker message, in bytes',
    doc: "Largest output or message field sent as journaled, SHA-256 checked `Chunk` messages when it does not fit the broker's `max_payload` even compressed ([Large payloads](../concepts/delivery.md#large-payloads)). A longer output is cut to this size, keeping its end, with a marker saying so; a received whole larger than this is refused.",
    checks: [wholeAtLeast(1024)],
  }),
};

/** The value type of an option of the schema. */
export type ValueOf<S> = S extends OptionSpec<infer V> ? V : never;

/**
 * Options of one steward node: one property per entry of
 * {@link configSchema}, where each option's type, default, checks and
 * meaning are (go to the definition of a property to read its entry).
 */
export type NodeConfig = { [K in keyof typeof configSchema]: ValueOf<(typeof configSchema)[K]> };

/** A configuration key. */
export type ConfigKey = keyof NodeConfig;

/** Options of `steward start` that are not part of a node's configuration. */
export const startOnlyOptions = {
  config: text({
    section: 'node',
    default: '',
    defaultText: '<nodeFolder>/steward.json if present',
    defaultDoc: '`<nodeFolder>/steward.json` if present',
    help: 'JSON config file with any of these options',
    doc: 'JSON config file ([below](#config-file)).',
  }),
};

/** A rule between options. */
export interface CrossRule {
  /** The options it ties (by flag). */
  readonly options: readonly string[];
  /** The rule, for the CLI reference. */
  readonly rule: string;
  /** The problem of `config`, naming the options; undefined when none. */
  problem(config: NodeConfig): string | undefined;
}

/** Rules that tie options together. */
export const crossRules: readonly CrossRule[] = [
  {
    options: ['messageMaxAge', 'journalRetentionDays'],
    rule: '`--messageMaxAge` must be shorter than `--journalRetentionDays` (when that is > 0), or a replayed message could be neither expired nor a known duplicate.',
    problem: (c) =>
      c.journalRetentionDays > 0 && c.messageMaxAge >= c.journalRetentionDays * 86400
        ? `--messageMaxAge must be shorter than --journalRetentionDays, or a replayed message could be neither expired nor a known duplicate (got ${shown(c.messageMaxAge)} s and ${shown(c.journalRetentionDays)} days)`
        : undefined,
  },
  {
    options: ['brokerTlsCert', 'brokerTlsKey'],
    rule: '`--brokerTlsCert` and `--brokerTlsKey` go together: both or neither.',
    problem: (c) => (!!c.brokerTlsCert !== !!c.brokerTlsKey ? '--brokerTlsCert and --brokerTlsKey go together' : undefined),
  },
  {
    options: ['brokerUser', 'brokerPassword'],
    rule: '`--brokerUser` and `--brokerPassword` go together: both or neither.',
    problem: (c) => (!!c.brokerUser !== !!c.brokerPassword ? '--brokerUser and --brokerPassword go together' : undefined),
  },
];

/**
 * The inspector address `--inspect` asks for: '' for off (not given, or
 * "off"), 127.0.0.1:2113 for the flag alone, loopback for a bare port or
 * `:port`; undefined when it is not an address.
 */
export function toInspectAddress(value: string | undefined): string | undefined {
  if (value === undefined || value === 'off') return '';
  if (value === '' || value === 'true') return '127.0.0.1:2113';
  if (/^\d+$/.test(value)) return `127.0.0.1:${value}`;
  const m = /^(.*):(\d+)$/.exec(value);
  if (!m || Number(m[2]) > 65535) return undefined;
  return `${m[1] || '127.0.0.1'}:${m[2]}`;
}

/** One flag of `steward start`, with the names it goes by. */
export interface StartFlag {
  /** The camelCase flag, also the `steward.json` key. */
  readonly flag: string;
  /** The configuration key it sets; undefined for {@link startOnlyOptions}. */
  readonly key?: ConfigKey;
  /** The kebab-case spelling (`--node-folder`). */
  readonly kebab: string;
  /** The `STEWARD_*` variables, the flag's first, then its aliases'. */
  readonly env: readonly string[];
  readonly spec: OptionSpec<unknown>;
}

/** `STEWARD_` and the name in upper snake case: how yargs reads an option from the environment. */
export function envNameOf(flag: string): string {
  return 'STEWARD_' + flag.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toUpperCase();
}

/** The kebab-case spelling yargs accepts for a camelCase flag. */
export function kebabOf(flag: string): string {
  return flag.replace(/([a-z0-9])([A-Z])/g, '$1-$2').toLowerCase();
}

/** Every flag of `steward start`, in the order of the CLI reference. */
export function startFlags(): StartFlag[] {
  const of = (flag: string, spec: OptionSpec<unknown>, key?: ConfigKey): StartFlag => ({
    flag,
    key,
    kebab: kebabOf(flag),
    env: [flag, ...(spec.aliases ?? [])].map(envNameOf),
    spec,
  });
  return [
    ...(Object.entries(configSchema) as [ConfigKey, OptionSpec<unknown>][]).map(([key, spec]) => of(spec.flag ?? key, spec, key)),
    ...Object.entries(startOnlyOptions).map(([flag, spec]) => of(flag, spec as OptionSpec<unknown>)),
  ];
}
