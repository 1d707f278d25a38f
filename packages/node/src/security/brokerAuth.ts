/**
 * The authentication and TLS options of the broker connection, built from the
 * node configuration. Secrets (password, token, seeds) go to the NATS client
 * only: {@link describeBrokerAuth} is what may be logged.
 */
import { credsAuthenticator, nkeyAuthenticator, type NodeConnectionOptions } from '@nats-io/transport-node';
import { readFileSync } from 'node:fs';
import type { NodeConfig } from '../node/config.js';
import { ConfigFileError } from './errors.js';

/** The broker settings of a node configuration. */
export type BrokerAuthConfig = Pick<
  NodeConfig,
  | 'brokerTlsCa'
  | 'brokerTlsCert'
  | 'brokerTlsKey'
  | 'brokerUser'
  | 'brokerPassword'
  | 'brokerToken'
  | 'brokerNkeySeedFile'
  | 'brokerCredsFile'
>;

function readSecretFile(path: string, what: string): Uint8Array {
  try {
    return new Uint8Array(readFileSync(path));
  } catch (err) {
    throw new ConfigFileError(`cannot read the ${what} ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, {
      cause: err,
    });
  }
}

/**
 * The nats.js connect options for `c`: TLS, user/password, token, nkey seed
 * or creds file. Files are read now, so a missing file is reported at start.
 *
 * @throws {@link ConfigFileError} when a file cannot be read.
 */
export function brokerConnectOptions(c: BrokerAuthConfig): Partial<NodeConnectionOptions> {
  const o: Partial<NodeConnectionOptions> = {};
  if (c.brokerTlsCa || c.brokerTlsCert) {
    const tls: NonNullable<NodeConnectionOptions['tls']> = {};
    if (c.brokerTlsCa) {
      readSecretFile(c.brokerTlsCa, 'TLS CA file');
      tls.caFile = c.brokerTlsCa;
    }
    if (c.brokerTlsCert) {
      readSecretFile(c.brokerTlsCert, 'TLS certificate file');
      readSecretFile(c.brokerTlsKey, 'TLS key file');
      tls.certFile = c.brokerTlsCert;
      tls.keyFile = c.brokerTlsKey;
    }
    o.tls = tls;
  }
  if (c.brokerUser) {
    o.user = c.brokerUser;
    o.pass = c.brokerPassword;
  }
  if (c.brokerToken) o.token = c.brokerToken;
  if (c.brokerCredsFile) o.authenticator = credsAuthenticator(readSecretFile(c.brokerCredsFile, 'creds file'));
  else if (c.brokerNkeySeedFile) {
    const seed = new TextDecoder().decode(readSecretFile(c.brokerNkeySeedFile, 'nkey seed file')).trim();
    o.authenticator = nkeyAuthenticator(new TextEncoder().encode(seed));
  }
  return o;
}

/** What the connection authenticates with, without any secret: for logs. */
export function describeBrokerAuth(c: BrokerAuthConfig): string {
  const parts: string[] = [];
  if (c.brokerTlsCa || c.brokerTlsCert) parts.push(c.brokerTlsCert ? 'TLS with client certificate' : 'TLS');
  if (c.brokerUser) parts.push(`user "${c.brokerUser}" with password`);
  if (c.brokerToken) parts.push('token');
  if (c.brokerCredsFile) parts.push(`creds file ${c.brokerCredsFile}`);
  else if (c.brokerNkeySeedFile) parts.push(`nkey seed file ${c.brokerNkeySeedFile}`);
  return parts.length ? parts.join(', ') : 'no authentication';
}

/** Removes every configured secret from `text` (defence in depth for error messages). */
export function redactSecrets(text: string, c: BrokerAuthConfig): string {
  let out = text;
  for (const secret of [c.brokerPassword, c.brokerToken]) if (secret && secret.length >= 4) out = out.split(secret).join('***');
  return out;
}
