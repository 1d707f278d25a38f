/**
 * Credentials of the local broker: the nats-server a node starts on
 * 127.0.0.1:4222 when it is given no `--brokerAddress`.
 *
 * That broker requires a user and password, generated once and kept in a
 * file only the node's user can read, `~/.config/steward/local-broker.json`
 * (`$XDG_CONFIG_HOME/steward/...`, or `STEWARD_LOCAL_BROKER_CREDENTIALS`),
 * folder 0700, file 0600. Every node of that user on the machine finds the
 * broker's credentials there, whichever of them started it; another user of
 * the machine cannot read them, so cannot connect and cannot send anything.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, linkSync, lstatSync, mkdirSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { ConfigFileError } from './errors.js';

/** The user and password of the local broker. */
export interface LocalBrokerCredentials {
  user: string;
  password: string;
}

/** Where the local broker's credentials are kept (see module doc). */
export function localBrokerCredentialsPath(env: NodeJS.ProcessEnv = process.env): string {
  const explicit = env['STEWARD_LOCAL_BROKER_CREDENTIALS'];
  if (explicit) return explicit;
  const config = env['XDG_CONFIG_HOME'] || join(homedir(), '.config');
  return join(config, 'steward', 'local-broker.json');
}

/**
 * Reads the local broker's credentials, creating them on first use.
 *
 * @throws {@link ConfigFileError} when the file is readable by others, not
 *   this user's, or not credentials: a node never uses secrets another user
 *   could have read or planted.
 */
export function localBrokerCredentials(path = localBrokerCredentialsPath()): LocalBrokerCredentials {
  if (!existsSync(path)) {
    mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
    const created: LocalBrokerCredentials = { user: 'steward', password: randomBytes(24).toString('base64url') };
    const tmp = `${path}.${process.pid}.tmp`;
    writeFileSync(tmp, JSON.stringify(created) + '\n', { mode: 0o600 });
    try {
      // link() never replaces: when two nodes start at once, the second reads what the first wrote.
      linkSync(tmp, path);
      return created;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    } finally {
      unlinkSync(tmp);
    }
  }
  const st = lstatSync(path);
  if (!st.isFile()) throw new ConfigFileError(`${path}: the local broker's credentials must be a regular file`);
  if (typeof process.getuid === 'function' && st.uid !== process.getuid())
    throw new ConfigFileError(`${path}: belongs to uid ${st.uid}, not to this user: refusing the local broker's credentials`);
  if ((st.mode & 0o077) !== 0)
    throw new ConfigFileError(
      `${path}: mode ${(st.mode & 0o777).toString(8)} lets other users read the local broker's password; chmod 600 it (or delete it to make new ones)`,
    );
  try {
    const o = JSON.parse(readFileSync(path, 'utf8')) as Partial<LocalBrokerCredentials>;
    if (typeof o.user !== 'string' || typeof o.password !== 'string' || !o.user || !o.password)
      throw new Error('needs "user" and "password"');
    return { user: o.user, password: o.password };
  } catch (err) {
    throw new ConfigFileError(`${path}: not the local broker's credentials: ${(err as Error).message}`, { cause: err });
  }
}

/** A nats-server configuration for the local broker: loopback only, this user and password required. */
export function localBrokerConfig(host: string, port: string, creds: LocalBrokerCredentials): string {
  return [
    `listen: "${host}:${port}"`,
    'authorization {',
    `  user: ${JSON.stringify(creds.user)}`,
    `  password: ${JSON.stringify(creds.password)}`,
    '}',
    '',
  ].join('\n');
}
