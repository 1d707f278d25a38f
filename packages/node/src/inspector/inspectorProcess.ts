/**
 * The inspector as a supervised process of the node (`root/inspector`), and
 * the token it requires.
 *
 * The inspector shows every message's command line and the node's fleet, so
 * by default it is locked: when `--inspect` is on and no `--inspectToken` is
 * given, a random token is generated once, stored mode 0600 in
 * `<nodeFolder>/state/inspect.token` and kept across restarts (an open page
 * keeps working). The log says where the token is, never the token itself.
 * `--inspectToken none` serves the inspector without a token, with a warning:
 * then any local user, and any web page a local browser opens that guesses
 * the port, can read it (DNS rebinding is still refused).
 */
import { randomBytes } from 'node:crypto';
import { closeSync, constants, fstatSync, mkdirSync, openSync, readFileSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { processLogic, type ChildSpec, type Process } from '@steward/core';
import type { AnyActorRef } from 'xstate';
import type { NodeConfig } from '../node/config.js';
import { FailureKind } from '../node/errorKernel.js';
import type { NodeServices } from '../node/services.js';
import { InspectorServer, defaultInspectHostPort } from './inspectorServer.js';
import type { LiveModel } from './liveModel.js';

/** The `--inspectToken` value that turns the token off. */
export const noInspectToken = 'none';

/** Where the generated token is kept: `<nodeFolder>/state/inspect.token`. */
export function inspectTokenFile(nodeFolder: string): string {
  return join(nodeFolder, 'state', 'inspect.token');
}

/** The token the inspector requires, and the file it was read from when generated; '' for none. */
export interface InspectToken {
  token: string;
  file?: string;
}

/** A stored token is reused only when it is a regular file of this user that no one else can read. */
function readStoredToken(file: string): string | undefined {
  let fd: number;
  try {
    fd = openSync(file, constants.O_RDONLY | constants.O_NOFOLLOW);
  } catch {
    return undefined;
  }
  try {
    const st = fstatSync(fd);
    const uid = process.getuid?.();
    if (!st.isFile() || (uid !== undefined && st.uid !== uid) || (st.mode & 0o077) !== 0) return undefined;
    const token = readFileSync(fd, 'utf8').trim();
    return /^[A-Za-z0-9_-]{32,}$/.test(token) ? token : undefined;
  } finally {
    closeSync(fd);
  }
}

/**
 * The token of the inspector (see the module doc): the configured one, none
 * for `none`, else the stored one, generated and stored when missing or unsound.
 *
 * @throws when the token cannot be stored.
 */
export function resolveInspectToken(config: Pick<NodeConfig, 'inspectToken' | 'nodeFolder'>): InspectToken {
  if (config.inspectToken === noInspectToken) return { token: '' };
  if (config.inspectToken) return { token: config.inspectToken };
  const file = inspectTokenFile(config.nodeFolder);
  const stored = readStoredToken(file);
  if (stored) return { token: stored, file };
  mkdirSync(join(config.nodeFolder, 'state'), { recursive: true, mode: 0o700 });
  const token = randomBytes(32).toString('base64url');
  // A new file beside it, renamed over: never written through a link someone planted at the name.
  const tmp = `${file}.${process.pid}.tmp`;
  try {
    unlinkSync(tmp);
  } catch {
    // not there: the usual case
  }
  const fd = openSync(tmp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600);
  try {
    writeSync(fd, `${token}\n`);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, file);
  return { token, file };
}

/** Options of {@link inspectorChild}. */
export interface InspectorChildOptions {
  services: NodeServices;
  live: LiveModel;
  root: () => AnyActorRef | undefined;
  /**
   * Milliseconds between two tries to bind a busy address.
   * @defaultValue 30000
   */
  retryMs?: number;
}

/**
 * The child spec of the inspector process. An address that cannot be bound
 * (another node on this machine has it) is reported once and retried, but
 * does not fail the process: restarting would not free the port, and an
 * escalation would stop a node whose real work is fine. A token that cannot
 * be stored is reported and the inspector is not served.
 */
export function inspectorChild(o: InspectorChildOptions): ChildSpec {
  const startedAt = Date.now();
  return { id: 'inspector', logic: processLogic<undefined>(() => startInspector(o, startedAt)) };
}

/**
 * Starts the inspector process of {@link inspectorChild} (the node's tree
 * imports this module only when `--inspect` is on, and calls this).
 *
 * @param startedAt - when the node started (ms since the epoch), shown as its uptime
 */
export function startInspector(o: InspectorChildOptions, startedAt: number): Process {
  const s = o.services;
  const c = s.config;
  const hostAndPort = c.inspect || defaultInspectHostPort;
  let auth: InspectToken;
  try {
    auth = resolveInspectToken(c);
  } catch (err) {
    s.errors.report({
      kind: FailureKind.ActorCrashed,
      text: `inspector not started: cannot store its token in ${inspectTokenFile(c.nodeFolder)}: ${(err as Error).message}; pass --inspectToken`,
      error: err,
    });
    return { stop: () => undefined };
  }
  const server = new InspectorServer({ hostAndPort, token: auth.token, services: s, live: o.live, root: o.root, startedAt });
  let stopped = false;
  let reported = false;
  let timer: NodeJS.Timeout | undefined;
  const retryMs = o.retryMs ?? 30_000;
  const attempt = async () => {
    try {
      await server.listen();
      if (stopped) return void (await server.close());
      const url = `http://${server.address}/`;
      const open = server.address.startsWith('0.0.0.0') || server.address.startsWith('[::]');
      if (auth.file) {
        // The token itself never goes to the log: logs are read by more people than the node's user.
        s.log.info(`inspector on ${url} (token required: open ${url}?token=<the token in ${auth.file}>)`, { token: 'generated' });
      } else {
        s.log.info(`inspector on ${url}`, { token: auth.token ? 'required' : 'none' });
      }
      if (!auth.token)
        s.log.warn(
          open
            ? 'the inspector listens on every interface with --inspectToken none: anyone who reaches the port can read it'
            : 'the inspector requires no token (--inspectToken none): every local user can read it (commands, nodes, errors)',
        );
    } catch (err) {
      if (!reported) {
        reported = true;
        s.errors.report({
          kind: FailureKind.ActorCrashed,
          text: `inspector cannot listen on ${hostAndPort}: ${(err as Error).message}; retrying every ${retryMs / 1000}s`,
          error: err,
        });
      }
      if (!stopped) timer = setTimeout(() => void attempt(), retryMs);
    }
  };
  void attempt();
  return {
    stop: () => {
      stopped = true;
      clearTimeout(timer);
      return server.close();
    },
  };
}
