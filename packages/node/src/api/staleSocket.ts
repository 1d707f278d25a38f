/**
 * The socket file of the local API across runs: a socket left by a node that
 * was killed is removed (only when nobody listens on it any more), and the
 * node folder gets a link to a socket placed in the runtime directory.
 */
import { lstatSync, symlinkSync, unlinkSync } from 'node:fs';
import { createConnection } from 'node:net';
import type { Logger } from '../observability/logger.js';
import { SocketPathError } from './socketPath.js';

/**
 * Removes a socket left by an earlier run that was killed. A path that is
 * not a socket, or a socket another process still listens on, is left alone.
 */
export async function removeStaleSocket(path: string, isOwnSocket: boolean, log: Logger): Promise<void> {
  let st;
  try {
    st = lstatSync(path);
  } catch {
    return;
  }
  const what = isOwnSocket ? 'the socket path' : 'the link path';
  if (!st.isSocket())
    throw new SocketPathError(`${what} ${path} exists and is not a socket; it is left alone (remove it, or choose another --socketPath)`);
  const probe = await probeSocket(path);
  if (probe.state === 'live')
    throw new SocketPathError(`another process listens on ${path} (a second node with the same name or folder?); it is left alone`);
  if (probe.state === 'unknown') throw new SocketPathError(`cannot check the existing socket ${path}: ${probe.reason}`);
  unlinkSync(path);
  log.info('removed a stale socket left by an earlier run', { path });
}

/**
 * Points `<nodeFolder>/steward.sock` at the socket in the runtime directory,
 * so clients in the folder find it. Resolves with the link, or undefined when
 * it could not be made (a warning says so).
 */
export async function linkSocket(link: string, target: string, log: Logger): Promise<string | undefined> {
  try {
    let st;
    try {
      st = lstatSync(link);
    } catch {
      st = undefined;
    }
    if (st?.isSymbolicLink()) unlinkSync(link);
    else if (st) await removeStaleSocket(link, false, log);
    symlinkSync(target, link);
    return link;
  } catch (err) {
    log.warn(`socket API: could not create the link ${link} → ${target}: ${(err as Error).message}; use --socket ${target}`);
    return undefined;
  }
}

/** What {@link probeSocket} found: a process listening, nobody, or an error that says neither. */
type Probe = { state: 'live' } | { state: 'stale' } | { state: 'unknown'; reason: string };

/** Whether a process listens on the socket at `path`. */
function probeSocket(path: string): Promise<Probe> {
  return new Promise((resolve) => {
    const c = createConnection(path);
    // A listener that never answers is still a listener: better to leave its socket alone.
    const timer = setTimeout(() => {
      c.destroy();
      resolve({ state: 'live' });
    }, 2000);
    c.once('connect', () => {
      clearTimeout(timer);
      c.destroy();
      resolve({ state: 'live' });
    });
    c.once('error', (err: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      resolve(
        err.code === 'ECONNREFUSED' || err.code === 'ENOENT' ? { state: 'stale' } : { state: 'unknown', reason: err.code ?? err.message },
      );
    });
  });
}
