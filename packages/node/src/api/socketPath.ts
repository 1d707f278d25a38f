/**
 * Where a node's local API socket lives, shared by the node (which creates
 * it) and `steward send` (which looks for it). Never in a world-writable
 * place such as /tmp: either the user's private runtime directory
 * (`$XDG_RUNTIME_DIR/steward/<node>.sock`, mode 0700 by the XDG spec) or the
 * node's own folder (`<nodeFolder>/steward.sock`). When the socket is in the
 * runtime directory, the node folder gets a symlink `steward.sock` to it, so
 * a client run in the node folder always finds it at the same name.
 */
import { lstatSync, mkdirSync, chmodSync } from 'node:fs';
import { isAbsolute, join } from 'node:path';
import { StewardError } from '@steward/core';

/** The socket's (or its symlink's) name in the node folder. */
export const socketFileName = 'steward.sock';

/** `$XDG_RUNTIME_DIR/<this>/<node>.sock` */
export const runtimeSubdir = 'steward';

/** Longest unix socket path Linux accepts (sun_path is 108 bytes with its NUL). */
export const maxSocketPathBytes = 107;

/** Where a node puts its socket, as decided by {@link chooseSocketPath}. */
export interface SocketPlacement {
  /** The socket file itself. */
  path: string;
  /** A symlink to create in the node folder, pointing at `path`, when `path` is elsewhere. */
  link?: string;
  /** Why the runtime directory was not used, when it was set but unusable. */
  fallbackReason?: string;
}

/** The socket path in the runtime directory for node `node`, or undefined when `XDG_RUNTIME_DIR` is not set. */
export function runtimeSocketPath(node: string, env: NodeJS.ProcessEnv = process.env): string | undefined {
  const dir = env['XDG_RUNTIME_DIR'];
  if (!dir) return undefined;
  return join(dir, runtimeSubdir, `${node}.sock`);
}

/**
 * Checks that `dir` is a private directory of this user: a real directory
 * (not a symlink), owned by the current uid, with no group or world access.
 * Returns the problem in words, or undefined when it is fine.
 */
export function privateDirProblem(dir: string): string | undefined {
  let st;
  try {
    st = lstatSync(dir);
  } catch (err) {
    return `${dir}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`;
  }
  if (!st.isDirectory()) return `${dir} is not a directory`;
  const uid = process.getuid?.();
  if (uid !== undefined && st.uid !== uid) return `${dir} belongs to uid ${st.uid}, not to this user (uid ${uid})`;
  if ((st.mode & 0o077) !== 0) return `${dir} has mode ${(st.mode & 0o777).toString(8)}; it must be 700`;
  return undefined;
}

/**
 * Decides where the node's socket goes. With `configured` set (`--socketPath`),
 * that path. Otherwise `$XDG_RUNTIME_DIR/steward/<node>.sock` when the runtime
 * directory is set and usable (absolute, private to this user, path short enough),
 * creating `steward/` with mode 0700; else `<nodeFolder>/steward.sock`.
 * Has the side effect of creating the `steward/` runtime subdirectory.
 */
export function chooseSocketPath(
  opts: { node: string; nodeFolder: string; configured?: string },
  env: NodeJS.ProcessEnv = process.env,
): SocketPlacement {
  const inFolder = join(opts.nodeFolder, socketFileName);
  if (opts.configured) return { path: opts.configured };
  const runtimeDir = env['XDG_RUNTIME_DIR'];
  if (!runtimeDir) return { path: inFolder };
  const problem = runtimeDirProblem(runtimeDir, opts.node);
  if (problem) return { path: inFolder, fallbackReason: problem };
  const path = runtimeSocketPath(opts.node, env)!;
  return path === inFolder ? { path } : { path, link: inFolder };
}

function runtimeDirProblem(runtimeDir: string, node: string): string | undefined {
  if (!isAbsolute(runtimeDir)) return `XDG_RUNTIME_DIR "${runtimeDir}" is not an absolute path`;
  const own = privateDirProblem(runtimeDir);
  if (own) return `XDG_RUNTIME_DIR unusable: ${own}`;
  const sub = join(runtimeDir, runtimeSubdir);
  const path = join(sub, `${node}.sock`);
  if (Buffer.byteLength(path) > maxSocketPathBytes) return `${path} is longer than ${maxSocketPathBytes} bytes`;
  try {
    mkdirSync(sub, { mode: 0o700 });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') return `cannot create ${sub}: ${(err as Error).message}`;
  }
  // A directory we made earlier with a looser mode (or by hand) is tightened; one of another user is refused.
  const st = lstatSync(sub);
  if (st.isDirectory() && st.uid === process.getuid?.() && (st.mode & 0o077) !== 0) chmodSync(sub, 0o700);
  return privateDirProblem(sub);
}

/**
 * The socket cannot be created at its path for a reason a restart will not
 * fix (the path is taken by something else, or is too long). The node keeps
 * running without its local API and reports this once.
 */
export class SocketPathError extends StewardError {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'SocketPathError';
  }
}
