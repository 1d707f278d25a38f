/**
 * Where a node may write files that a message names: replies under the data
 * folder (`<dataFolder>/<directory>/<fromNode>/<fileName>`), copies under the
 * node folder, and either one under an absolute folder only when it lies in
 * one of the `--allowedWriteRoots`.
 *
 * Names were checked when the message was parsed (no `..`, no separators in
 * `fileName`, no control characters). Here the folders are created one level
 * at a time without following a symbolic link out of the root: a link inside
 * the root to a place inside the root is fine, a link that leads out is
 * refused before anything is created or written beyond it. The file itself
 * must not be a symbolic link (it is opened with `O_NOFOLLOW`), and a file
 * written in place (appended to, or written at an offset) must not have a
 * second hard link: that would be a door to a file elsewhere.
 *
 * Whatever the roots say, nothing a message makes the node write lands in
 * the node's own control paths ({@link controlPaths}): the read folder and
 * `inmsg.txt` (a file there is sent as messages), the `state/` folder
 * (journal, keys, ACL, audit log), the socket, the broker credentials. The
 * check compares real paths, so a link inside a root to a control folder
 * does not get around it. Every writer goes through {@link confinedFile}.
 *
 * The checks read the file system with synchronous calls (`realpath`,
 * `lstat`): each takes microseconds on the node's own folders, where the same
 * call through the thread pool costs ten times that in CPU, and a node taking
 * replies from a thousand nodes makes several per reply. Folders are made
 * through the thread pool: that can wait on the disk. A path not there
 * yet is found out with an `lstat` that throws nothing, not a failed
 * `realpath`, whose error object costs more than the call.
 */
import { closeSync, constants, fstatSync, lstatSync, openSync, realpathSync, type Stats } from 'node:fs';
import { mkdir, open, type FileHandle } from 'node:fs/promises';
import { basename, dirname, isAbsolute, join, normalize, relative, resolve, sep } from 'node:path';
import { UnrecoverableError, type WireMessage } from '@steward/core';
import type { NodeConfig } from '../node/config.js';
import { inmsgFileName } from '../inputs/inmsgFile.js';
import { keysFolder } from '../security/keyStore.js';
import { runtimeSocketPath, socketFileName } from '../api/socketPath.js';

/** Flags that open a file for appending without following a symbolic link. */
export const appendNoFollow = constants.O_RDWR | constants.O_APPEND | constants.O_CREAT | constants.O_NOFOLLOW;

/**
 * Whether the absolute, normalised path `path` is `root` (also absolute and
 * normalised) or inside it: what {@link isWithin} says of such paths, by
 * comparing the text (as real paths and `join` results are).
 */
function isWithinNormal(root: string, path: string): boolean {
  if (!path.startsWith(root)) return false;
  return path.length === root.length || root.endsWith(sep) || path[root.length] === sep;
}

/** Whether `path` is `root` or inside it (both resolved, real paths). */
export function isWithin(root: string, path: string): boolean {
  const rel = relative(root, path);
  return rel === '' || (rel !== '..' && !rel.startsWith(`..${sep}`) && !isAbsolute(rel));
}

/**
 * A path the node takes instructions or secrets from. No message may make
 * the node write there (see {@link controlPaths}).
 */
export interface ControlPath {
  /** The path as configured (absolute). */
  path: string;
  /** What the node keeps there, for the refusal: e.g. `read folder`. */
  what: string;
  /**
   * `folder`: the path and everything below it. `file`: the path itself.
   * `prefix`: every name in the path's folder that starts with the path's
   * last part (`inmsg.` covers `inmsg.txt`, its `.processing` copies and
   * `inmsg.rejected.txt`).
   */
  kind: 'folder' | 'file' | 'prefix';
}

/**
 * The node's control paths: where a file appearing or changing would be
 * taken as an instruction (read folder, `inmsg.txt` and its siblings, the
 * config file), or would change who is trusted or what is recorded (the
 * `state/` folder with keys, ACL, journal and audit log, a journal or audit
 * log configured elsewhere, the socket, the broker credentials).
 */
export function controlPaths(config: NodeConfig, env: NodeJS.ProcessEnv = process.env): ControlPath[] {
  const folder = resolve(config.nodeFolder);
  const list: ControlPath[] = [];
  const add = (path: string | undefined, what: string, kind: ControlPath['kind']) => {
    if (path && path !== 'off') list.push({ path: resolve(folder, path), what, kind });
  };
  add(config.readFolder, 'read folder', 'folder');
  // inmsg.txt, the inmsg.txt.<time>.processing files read again at start, inmsg.rejected.txt.
  add(join(folder, 'inmsg.'), `${inmsgFileName} input`, 'prefix');
  // Most specific first, so the refusal names the keys rather than the state folder around them.
  add(keysFolder(folder), 'keys', 'folder');
  add(join(folder, 'state'), 'state folder: journal, keys, ACL, audit log', 'folder');
  for (const suffix of ['', '-wal', '-shm', '-journal']) add(`${config.journalPath}${suffix}`, 'journal', 'file');
  add(config.auditPath, 'audit log', 'file');
  add(config.socketPath, 'local API socket', 'file');
  add(join(folder, socketFileName), 'local API socket', 'file');
  add(runtimeSocketPath(config.node, env), 'local API socket', 'file');
  add(join(folder, 'steward.json'), 'config file', 'file');
  add(env['STEWARD_CONFIG'], 'config file', 'file');
  for (const f of ['brokerTlsCa', 'brokerTlsCert', 'brokerTlsKey', 'brokerNkeySeedFile', 'brokerCredsFile'] as const)
    add(config[f], `broker credentials (--${f})`, 'file');
  return list;
}

/** The real path of `path` (every link resolved, as realpath(3)); throws as it does. */
function realpathOf(path: string): string {
  return realpathSync.native(path);
}

/**
 * Whether nothing is at `path` (or a part of it is not a folder), told by an
 * lstat that throws nothing when nothing is there: a failed realpath costs
 * an error object, many times the call itself.
 */
function absent(path: string): boolean {
  try {
    return lstatSync(path, { throwIfNoEntry: false }) === undefined;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ENOTDIR';
  }
}

/** `path` with every link in its longest existing part resolved; the rest, not there yet, appended as is. */
function realish(path: string): string {
  const rest: string[] = [];
  let current = resolve(path);
  for (let first = true; ; first = false) {
    // Not there (a reply folder or file not made yet): one level up at once, as a failed realpath below would.
    // Not asked of the path itself, which is there almost always: then realpath alone answers.
    if (!first && absent(current) && dirname(current) !== current) {
      rest.unshift(basename(current));
      current = dirname(current);
      continue;
    }
    try {
      return join(realpathOf(current), ...rest);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      const parent = dirname(current);
      if ((code !== 'ENOENT' && code !== 'ENOTDIR') || parent === current) return join(current, ...rest);
      rest.unshift(basename(current));
      current = parent;
    }
  }
}

/** The real path of `path`, or undefined when it (or a link in it) leads nowhere. */
function realpathIfThere(path: string): string | undefined {
  try {
    return realpathOf(path);
  } catch {
    return undefined;
  }
}

/** The lstat of `path`, or undefined when nothing is there; other errors are thrown, or with `quiet` taken as nothing there. */
function lstatIfThere(path: string, quiet = false): Stats | undefined {
  try {
    return lstatSync(path, { throwIfNoEntry: false });
  } catch (err) {
    if (quiet) return undefined;
    throw err;
  }
}

/**
 * The control paths of a node, resolved to real paths once for one write:
 * `refusal(path)` says why a real path may not be written, or undefined.
 */
export interface ControlGuard {
  /**
   * Why the node may not write at the real path `path`, or undefined.
   * `asked` is the path as the message named it, for the refusal's words.
   */
  refusal(path: string, asked?: string): string | undefined;
}

/** How long a resolved guard is reused for writes of the same node: resolving costs a dozen realpath calls. */
const guardTtlMs = 1000;
const guards = new WeakMap<NodeConfig, { at: number; guard: Promise<ControlGuard> }>();

/**
 * Resolves {@link controlPaths} into a {@link ControlGuard}. The result is
 * reused for a second: only the node's own user can move its control paths.
 */
function controlGuard(config: NodeConfig): Promise<ControlGuard> {
  const now = Date.now();
  const cached = guards.get(config);
  if (cached && now - cached.at < guardTtlMs) return cached.guard;
  const guard = new Promise<ControlGuard>((ok) => ok(resolveGuard(config)));
  guards.set(config, { at: now, guard });
  // A failed resolution is not kept.
  guard.catch(() => guards.delete(config));
  return guard;
}

function resolveGuard(config: NodeConfig): ControlGuard {
  const resolved = controlPaths(config).map((c) => ({ ...c, real: realish(c.kind === 'prefix' ? dirname(c.path) : c.path) }));
  return {
    refusal(path: string, asked = path): string | undefined {
      // Paths here are absolute and normalised (real paths, joins of them): compared as text, which is cheap.
      const normal = isAbsolute(path) && normalize(path) === path;
      for (const c of resolved) {
        if (!(normal ? isWithinNormal(c.real, path) : isWithin(c.real, path))) continue;
        const via = isWithin(path, asked) ? '' : ` (real path ${path})`;
        if (c.kind === 'folder') return `refused: ${asked} is inside the node's control folder ${c.path} (${c.what})${via}`;
        if (c.kind === 'file') return `refused: ${asked} is the node's control file ${c.path} (${c.what})${via}`;
        const first = relative(c.real, path).split(sep)[0] ?? '';
        if (first.startsWith(basename(c.path))) return `refused: ${asked} is one of the node's control files ${c.path}* (${c.what})${via}`;
      }
      return undefined;
    },
  };
}

/**
 * Creates (if needed) the folder `root/parts...` and returns its real path.
 * Refuses, naming the culprit, when a part is a link that leads outside
 * `root` or is not a folder, and, with a `guard`, when a folder (the root
 * included, links followed) is one of the node's control paths; the
 * refusal comes before anything is created there, and names `asked` (the
 * path the message asked for) when given.
 *
 * @throws {@link UnrecoverableError}
 */
export async function confinedDir(root: string, parts: string[], mode?: number, guard?: ControlGuard, asked?: string): Promise<string> {
  const refuse = (path: string) => {
    const why = guard?.refusal(path, asked);
    if (why) throw new UnrecoverableError(why);
  };
  // The root is there almost always: its real path at once (what realish gives then, with nothing to create).
  let realRoot = realpathIfThere(root);
  if (realRoot === undefined) {
    refuse(realish(root));
    await mkdir(root, { recursive: true, ...(mode !== undefined ? { mode } : {}) });
    realRoot = realpathOf(root);
  }
  refuse(realRoot);
  let current = realRoot;
  for (const part of parts) {
    if (part === '' || part === '.') continue;
    if (part === '..' || part.includes('/')) throw new UnrecoverableError(`refused: path part "${part}" would leave ${root}`);
    const next = join(current, part);
    refuse(next);
    let st = lstatIfThere(next);
    if (!st) {
      // Through the thread pool: making a folder can wait on the disk, which must not hold up the event loop.
      const made = await mkdir(next, mode !== undefined ? { mode } : {}).then(
        () => true,
        (err: NodeJS.ErrnoException) => {
          if (err.code !== 'EEXIST') throw err;
          return false;
        },
      );
      // The mode the message asked for (folderPerm), not cut down by the node's owner-only umask.
      if (made && mode !== undefined) {
        const dir = await open(next, constants.O_RDONLY | constants.O_DIRECTORY | constants.O_NOFOLLOW);
        await dir.chmod(mode).finally(() => dir.close());
      }
      st = lstatSync(next);
    }
    if (st.isSymbolicLink()) {
      const target = realpathIfThere(next);
      if (target === undefined || !isWithin(realRoot, target))
        throw new UnrecoverableError(`refused: ${next} is a symbolic link that leads outside ${root}${target ? ` (to ${target})` : ''}`);
      // A link inside the root may still lead into a control folder: the real path decides.
      refuse(target);
      current = target;
      continue;
    }
    if (!st.isDirectory()) throw new UnrecoverableError(`refused: ${next} exists and is not a folder`);
    current = next;
  }
  return current;
}

/**
 * The file `name` in the folder `root/parts...`, confined as
 * {@link confinedDir} does and never one of the node's control paths. The
 * folders are created; the file, when it exists, must be a regular file and
 * not a symbolic link. Every file a received message makes the node write
 * (replies, copies) is found here.
 *
 * @throws {@link UnrecoverableError} naming the path and the reason.
 */
export async function confinedFile(config: NodeConfig, root: string, parts: string[], name: string, folderMode?: number): Promise<string> {
  const guard = await controlGuard(config);
  const asked = join(root, ...parts, name);
  // The whole path first, so the refusal names the most specific control path (keys, not the state folder around them).
  const early = guard.refusal(realish(asked), asked);
  if (early) throw new UnrecoverableError(early);
  const dir = await confinedDir(root, parts, folderMode, guard, asked);
  const file = join(dir, name);
  const why = guard.refusal(file, asked);
  if (why) throw new UnrecoverableError(why);
  const st = lstatIfThere(file, true);
  if (st?.isSymbolicLink()) throw new UnrecoverableError(`refused: ${file} is a symbolic link`);
  if (st && !st.isFile())
    throw new UnrecoverableError(`refused: ${file} exists and is ${st.isDirectory() ? 'a directory' : 'not a regular file'}`);
  return file;
}

/**
 * Opens `file` to write into it in place (append, or write at an offset)
 * with `O_NOFOLLOW`, and checks the opened file itself (no race with a swap
 * of the name): it must be a regular file with one link. A second hard link
 * planted at the name would make the write land in a file elsewhere, which a
 * symbolic-link check cannot see.
 *
 * @throws {@link UnrecoverableError} for a file with more than one link, or not a regular file.
 */
export async function openInPlace(file: string, flags: number, mode?: number): Promise<{ fh: FileHandle; st: Stats }> {
  const fh = await open(file, flags | constants.O_NOFOLLOW, mode);
  try {
    const st = await fh.stat();
    refuseUnlessInPlace(file, st);
    return { fh, st };
  } catch (err) {
    await fh.close();
    throw err;
  }
}

/**
 * {@link openInPlace} without the thread pool, for the appends of every
 * received message: opening and checking a local file takes microseconds,
 * and each call through the thread pool costs tens of microseconds of CPU.
 * Returns the file descriptor; the caller closes it.
 *
 * @throws {@link UnrecoverableError} as openInPlace does.
 */
export function openInPlaceSync(file: string, flags: number, mode?: number): { fd: number; st: Stats } {
  const fd = openSync(file, flags | constants.O_NOFOLLOW, mode);
  try {
    const st = fstatSync(fd);
    refuseUnlessInPlace(file, st);
    return { fd, st };
  } catch (err) {
    closeSync(fd);
    throw err;
  }
}

/** Throws unless the opened file `st` (named `file`) is a regular file with one link (see openInPlace). */
function refuseUnlessInPlace(file: string, st: Stats): void {
  if (!st.isFile()) throw new UnrecoverableError(`refused: ${file} is not a regular file`);
  if (st.nlink > 1)
    throw new UnrecoverableError(`refused: ${file} has ${st.nlink} hard links (it may be a door to a file elsewhere); nothing was written`);
}

/** The allowed root an absolute `path` lies in, or undefined. */
function allowedRootOf(config: NodeConfig, path: string): string | undefined {
  const p = resolve(path);
  return config.allowedWriteRoots.find((root) => isWithin(resolve(root), p));
}

/**
 * Splits a path the message named into a root and the parts below it:
 * relative paths go under `base`, absolute ones must be in an allowed root.
 *
 * @throws {@link UnrecoverableError} for an absolute path outside every allowed root.
 */
export function rootAndParts(config: NodeConfig, base: string, path: string, field: string): { root: string; parts: string[] } {
  if (isAbsolute(path)) {
    const root = allowedRootOf(config, path);
    if (root === undefined)
      throw new UnrecoverableError(
        `refused: ${field} "${path}" is absolute but not under an allowed root (--allowedWriteRoots: ${
          config.allowedWriteRoots.length ? config.allowedWriteRoots.join(',') : 'none'
        })`,
      );
    return { root, parts: relative(root, resolve(path)).split(sep) };
  }
  const parts = path.split(/[\\/]/);
  if (parts.includes('..')) throw new UnrecoverableError(`refused: ${field} "${path}" contains ".."`);
  return { root: base, parts };
}

/**
 * The path {@link replyFile} would give, without touching the disk; undefined
 * when replyFile would refuse the message.
 */
export function replyFilePath(config: NodeConfig, m: WireMessage, subject: string): string | undefined {
  try {
    const { root, parts } = rootAndParts(config, config.dataFolder, m.directory ?? '', 'directory');
    return join(root, ...parts, m.fromNode, m.fileName ?? `${subject}.log`);
  } catch {
    return undefined;
  }
}

/**
 * The file a reply method writes: `<dataFolder>/<directory>/<fromNode>/<fileName>`,
 * `fileName` defaulting to `<subject>.log` (the seed's TextLogging name).
 * Creates the folders; refuses paths that leave their root or reach a control path.
 */
export async function replyFile(config: NodeConfig, m: WireMessage, subject: string): Promise<string> {
  const { root, parts } = rootAndParts(config, config.dataFolder, m.directory ?? '', 'directory');
  const name = m.fileName ?? `${subject}.log`;
  if (name === '' || name === '.' || name === '..' || /[\\/]/.test(name))
    throw new UnrecoverableError(`refused: fileName "${name}" is not a plain file name`);
  return confinedFile(config, root, [...parts, m.fromNode], name);
}
