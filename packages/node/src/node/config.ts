/**
 * The configuration of one node: every option `steward start` accepts, with
 * its default. The CLI fills it from flags, environment and a config file.
 */
import { join, resolve } from 'node:path';

/** Options of one steward node. */
export interface NodeConfig {
  /** The node's unique name (`--node`). */
  node: string;
  /** The node's folder: inmsg.txt lives here. @defaultValue the current directory */
  nodeFolder: string;
  /** Where received files are written. @defaultValue `<nodeFolder>/data` */
  dataFolder: string;
  /** The journal file. @defaultValue `<nodeFolder>/state/journal.db` */
  journalPath: string;
  /** The audit log (JSON lines). @defaultValue `<nodeFolder>/state/audit.log` */
  auditPath: string;
  /**
   * NATS server addresses (`host:port` or `nats://host:port`), comma-separated
   * in flags. Empty: use 127.0.0.1:4222, starting a local nats-server there
   * when nothing listens. @defaultValue []
   */
  brokerAddresses: string[];
  /** The node that receives ErrorLog messages and SayHello. @defaultValue 'central' */
  centralNodeName: string;
  /** Whether this node is the central error logger (receives ErrorLog). @defaultValue false */
  centralErrorLogger: boolean;
  /** ACK timeout in seconds for messages that do not set one. @defaultValue 10 */
  defaultMessageTimeout: number;
  /** Resends for messages that do not set `retries`; -1 = forever. @defaultValue 1 */
  defaultMessageRetries: number;
  /** Method timeout in seconds for messages that do not set one; -1 = none. @defaultValue 10 */
  defaultMethodTimeout: number;
  /** ACK timeout of ErrorLog messages sent to central. @defaultValue 10 */
  errorMessageTimeout: number;
  /** Retries of ErrorLog messages sent to central. @defaultValue 3 */
  errorMessageRetries: number;
  /** `host:port` of the Prometheus endpoint; empty or `off` disables it. @defaultValue '127.0.0.1:2112' */
  promHostAndPort: string;
  /** Port of the Node.js inspector for profiling (loopback); 0 = off. @defaultValue 0 */
  profilingPort: number;
  /**
   * `host:port` of the live actor inspector page (`--inspect`); empty = off.
   * `--inspect` alone means 127.0.0.1:2113. @defaultValue ''
   */
  inspect: string;
  /**
   * Token the inspector requires on every request. Empty: a random token,
   * generated once and kept mode 0600 in `<nodeFolder>/state/inspect.token`.
   * `none`: no token (a warning is logged; keep it on loopback then). @defaultValue ''
   */
  inspectToken: string;
  /**
   * Forward actor events to Stately's inspector: `sky`, or a `ws://` URL of a
   * WebSocket inspector; empty = off. @defaultValue ''
   */
  inspectStately: string;
  /** Seconds between SayHello messages to central; 0 = never. @defaultValue 30 */
  sayHelloInterval: number;
  /** Seconds an idle publisher lives before it is stopped. @defaultValue 10 */
  keepPublishersAliveFor: number;
  /** Restarts of one child allowed within {@link NodeConfig.restartPeriod} before escalating. @defaultValue 5 */
  restartIntensity: number;
  /** Seconds of the restart-intensity window. @defaultValue 60 */
  restartPeriod: number;
  /** Journal durability: `full` survives power loss, `normal` only a killed process. @defaultValue 'full' */
  journalSync: 'full' | 'normal';
  /** Days finished messages are kept in the journal (and duplicates recognised). @defaultValue 7 */
  journalRetentionDays: number;
  /** Concurrent executions of a NOSEQ method, and deliveries on a NOSEQ subject. @defaultValue 64 */
  noseqConcurrency: number;
  /**
   * Messages in flight at once on an ordered subject (pipelined delivery;
   * the receiver still runs them one at a time, in order). 1 = stop-and-wait. @defaultValue 64
   */
  orderedWindow: number;
  /** Log level: error, warn, info, debug. @defaultValue 'info' */
  logLevel: string;
  /** Start a local nats-server when no broker is given and none listens on 127.0.0.1:4222. @defaultValue true */
  embeddedBroker: boolean;
  /**
   * The read folder: JSON or YAML files put here are sent as messages, then
   * removed. Empty: no read folder. @defaultValue `<nodeFolder>/readfolder`
   */
  readFolder: string;
  /**
   * Absolute folders that a reply with an absolute `directory`, or a copy,
   * may write under, besides the data folder (replies) and the node folder
   * (copies). @defaultValue []
   */
  allowedWriteRoots: string[];
  /**
   * The local API socket (`steward send`, `status`, `jobs`, `nodes`). Empty:
   * `$XDG_RUNTIME_DIR/steward/<node>.sock` when that directory is usable (with
   * a `steward.sock` symlink in the node folder), else `<nodeFolder>/steward.sock`;
   * `off` disables the socket. @defaultValue ''
   */
  socketPath: string;
  /** CA certificate file (PEM) the broker's TLS certificate must chain to; set to use TLS. @defaultValue '' */
  brokerTlsCa: string;
  /** Client certificate file (PEM) for TLS client authentication. @defaultValue '' */
  brokerTlsCert: string;
  /** Private key file (PEM) of {@link NodeConfig.brokerTlsCert}. @defaultValue '' */
  brokerTlsKey: string;
  /** Broker user name (with {@link NodeConfig.brokerPassword}). @defaultValue '' */
  brokerUser: string;
  /** Broker password. Never logged. Prefer the environment variable STEWARD_BROKER_PASSWORD. @defaultValue '' */
  brokerPassword: string;
  /** Broker token. Never logged. @defaultValue '' */
  brokerToken: string;
  /** File holding the node's NATS nkey seed (`SU...`). @defaultValue '' */
  brokerNkeySeedFile: string;
  /** NATS `.creds` file (JWT + nkey seed). @defaultValue '' */
  brokerCredsFile: string;
  /**
   * Run nothing whose ed25519 signature does not verify against a key this
   * node trusts (keys approved at central and pushed to every node), and take
   * no ACK that the target did not sign. On by default: a node that runs
   * commands as root acts only on authority it can prove. @defaultValue true
   */
  enableSignatureCheck: boolean;
  /**
   * Deny every received message no ACL rule allows (the ACL is written at
   * central with `steward acl` and pushed with the key set). Use it with
   * {@link NodeConfig.enableSignatureCheck}, or the sender's name is not proven.
   * Until an ACL is set, the policy is "central may call every method on
   * every node" (see security/nodeSecurity.ts). @defaultValue true
   */
  enableAclCheck: boolean;
  /**
   * Central's public key (base64, as printed by `steward keys show`). Empty:
   * trust the key of the first key set received from central (trust on first use). @defaultValue ''
   */
  centralPublicKey: string;
  /**
   * Seconds a sent message stays valid: each send (first try or resend) is
   * stamped `expiresAt` = now + this, and receivers refuse it afterwards.
   * Must be shorter than the journal retention, so a replay is refused either
   * as a duplicate or as expired. @defaultValue 3600
   */
  messageMaxAge: number;
  /** Seconds between the key-set pushes of central to every node (central only). @defaultValue 30 */
  keysPushInterval: number;
  /** Largest payload accepted from the broker, in bytes. @defaultValue 8388608 */
  maxPayloadBytes: number;
  /**
   * A group (name or id) that may read what the node writes: its folders
   * become 2750 and its files 0640, in that group. Empty: owner only
   * (folders 0700, files 0600). @defaultValue ''
   */
  fileGroup: string;
}

/** The defaults of every option, for a node named `node` in `nodeFolder`. */
export function defaultConfig(node: string, nodeFolder = process.cwd()): NodeConfig {
  const folder = resolve(nodeFolder);
  return {
    node,
    nodeFolder: folder,
    dataFolder: join(folder, 'data'),
    journalPath: join(folder, 'state', 'journal.db'),
    auditPath: join(folder, 'state', 'audit.log'),
    brokerAddresses: [],
    centralNodeName: 'central',
    centralErrorLogger: false,
    defaultMessageTimeout: 10,
    defaultMessageRetries: 1,
    defaultMethodTimeout: 10,
    errorMessageTimeout: 10,
    errorMessageRetries: 3,
    promHostAndPort: '127.0.0.1:2112',
    profilingPort: 0,
    inspect: '',
    inspectToken: '',
    inspectStately: '',
    sayHelloInterval: 30,
    keepPublishersAliveFor: 10,
    restartIntensity: 5,
    restartPeriod: 60,
    journalSync: 'full',
    journalRetentionDays: 7,
    noseqConcurrency: 64,
    orderedWindow: 64,
    logLevel: 'info',
    embeddedBroker: true,
    readFolder: join(folder, 'readfolder'),
    allowedWriteRoots: [],
    socketPath: '',
    brokerTlsCa: '',
    brokerTlsCert: '',
    brokerTlsKey: '',
    brokerUser: '',
    brokerPassword: '',
    brokerToken: '',
    brokerNkeySeedFile: '',
    brokerCredsFile: '',
    enableSignatureCheck: true,
    enableAclCheck: true,
    centralPublicKey: '',
    messageMaxAge: 3600,
    keysPushInterval: 30,
    maxPayloadBytes: 8 * 1024 * 1024,
    fileGroup: '',
  };
}
