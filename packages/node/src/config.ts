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
  /** Log level: error, warn, info, debug. @defaultValue 'info' */
  logLevel: string;
  /** Start a local nats-server when no broker is given and none listens on 127.0.0.1:4222. @defaultValue true */
  embeddedBroker: boolean;
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
    sayHelloInterval: 30,
    keepPublishersAliveFor: 10,
    restartIntensity: 5,
    restartPeriod: 60,
    journalSync: 'full',
    journalRetentionDays: 7,
    noseqConcurrency: 64,
    logLevel: 'info',
    embeddedBroker: true,
  };
}
