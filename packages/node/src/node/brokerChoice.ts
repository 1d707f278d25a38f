/**
 * Which broker a node connects to, and how: the configured addresses, or the
 * local broker on 127.0.0.1:4222 (started by the node when none runs there),
 * which lets in only this user's nodes unless the node was given credentials
 * of its own.
 */
import type { NatsConnection } from '@nats-io/transport-node';
import { userInfo } from 'node:os';
import { join } from 'node:path';
import { BrokerNotInstalledError } from '../errors.js';
import type { Logger } from '../observability/logger.js';
import { brokerConnectOptions, redactSecrets } from '../security/brokerAuth.js';
import { localBrokerConfig, localBrokerCredentials, type LocalBrokerCredentials } from '../security/localBroker.js';
import { defaultBrokerHostPort, findExecutable, isListening, toServerUrl } from '../transport/brokerAddress.js';
import { BrokerConnection } from '../transport/brokerConnection.js';
import { EmbeddedBroker } from '../transport/embeddedBroker.js';
import type { NodeConfig } from './config.js';

/** The broker a node uses. @internal */
export interface BrokerChoice {
  /** The addresses to connect to. */
  addresses: string[];
  /** The local nats-server this node runs, when it starts one. */
  embedded?: EmbeddedBroker;
  /** The local broker's credentials, when this node uses the local broker and was given none of its own. */
  localCreds?: LocalBrokerCredentials;
}

/**
 * Chooses the broker: the configured addresses, else the local one (with
 * its credentials, and a nats-server to start when none listens there).
 * @throws {@link BrokerNotInstalledError} when the node should start nats-server and it is not installed.
 */
export async function chooseBroker(c: NodeConfig, log: Logger): Promise<BrokerChoice> {
  let embedded: EmbeddedBroker | undefined;
  let addresses = c.brokerAddresses;
  /** The local broker's credentials, when this node uses the local broker and was given none of its own. */
  let localCreds: LocalBrokerCredentials | undefined;
  if (addresses.length === 0) {
    addresses = [defaultBrokerHostPort];
    const explicitAuth = Boolean(c.brokerUser || c.brokerToken || c.brokerCredsFile || c.brokerNkeySeedFile);
    // The local broker lets in only this user's nodes: no other user of the machine can send anything.
    if (!explicitAuth) localCreds = localBrokerCredentials();
    if (c.embeddedBroker && !(await isListening(defaultBrokerHostPort))) {
      // Say it now, in words, rather than let the broker process fail until escalation.
      if (!findExecutable('nats-server')) throw new BrokerNotInstalledError();
      const [host, port] = defaultBrokerHostPort.split(':') as [string, string];
      embedded = new EmbeddedBroker(
        join(c.nodeFolder, 'state', 'nats-server.log'),
        log,
        localCreds ? localBrokerConfig(host, port, localCreds) : undefined,
      );
    }
  }
  return { addresses, ...(embedded ? { embedded } : {}), ...(localCreds ? { localCreds } : {}) };
}

/** The node's connection to the chosen broker; secrets never appear in what it logs. */
export function connectBroker(c: NodeConfig, log: Logger, { addresses, localCreds }: BrokerChoice): BrokerConnection {
  const connectOptions = { ...brokerConnectOptions(c), ...(localCreds ? { user: localCreds.user, pass: localCreds.password } : {}) };
  return new BrokerConnection(addresses.map(toServerUrl), c.node, log, connectOptions, (t) =>
    redactSecrets(localCreds ? t.split(localCreds.password).join('***') : t, c),
  );
}

/**
 * Warns, once connected, when the broker lets anyone in and signature checks
 * are off: then anything that reaches the broker can make this node run
 * commands.
 */
export function warnIfOpenBroker(nc: NatsConnection, c: NodeConfig, log: Logger): void {
  if (nc.info && !nc.info.auth_required && !c.enableSignatureCheck)
    log.warn(
      `the broker at ${nc.getServer()} requires no authentication and signature checks are off: any process that can reach it ` +
        `(any user of this machine, or anyone on the network) can make this node run commands as ${userInfo().username}. ` +
        'Turn signature checks back on (the default), or give the broker credentials (MANUAL: Security)',
    );
}
