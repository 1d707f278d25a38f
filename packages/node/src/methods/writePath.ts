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
 * must not be a symbolic link (it is opened with `O_NOFOLLOW`).
 */
import { constants } from 'node:fs';
import { lstat, mkdir, realpath } from 'node:fs/promises';
import { isAbsolute, join, relative, resolve, sep } from 'node:path';
import { UnrecoverableError, type WireMessage } from '@steward/core';
import type { NodeConfig } from '../config.js';

/** Flags that open a file for appending without following a symbolic link. */
export const appendNoFollow = constants.O_RDWR | constants.O_APPEND | constants.O_CREAT | constants.O_NOFOLLOW;

/** Whether `path` is `root` or inside it (both resolved, real paths). */
export function isWithin(root: string, path: string): boolean {
  const rel = relative(root, path);
  return rel === '' || (rel !== '..' && !rel.startsWith(`..${sep}`) && !isAbsolute(rel));
}

/**
 * Creates (if needed) the folder `root/parts...` and returns its real path.
 * Refuses, naming the culprit, when a part is a link that leads outside
 * `root` or is not a folder.
 *
 * @throws {@link UnrecoverableError}
 */
export async function confinedDir(root: string, parts: string[], mode?: number): Promise<string> {
  await mkdir(root, { recursive: true, ...(mode !== undefined ? { mode } : {}) });
  const realRoot = await realpath(root);
  let current = realRoot;
  for (const part of parts) {
    if (part === '' || part === '.') continue;
    if (part === '..' || part.includes('/')) throw new UnrecoverableError(`refused: path part "${part}" would leave ${root}`);
    const next = join(current, part);
    let st = await lstat(next).catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') return undefined;
      throw err;
    });
    if (!st) {
      await mkdir(next, mode !== undefined ? { mode } : {}).catch((err: NodeJS.ErrnoException) => {
        if (err.code !== 'EEXIST') throw err;
      });
      st = await lstat(next);
    }
    if (st.isSymbolicLink()) {
      const target = await realpath(next).catch(() => undefined);
      if (target === undefined || !isWithin(realRoot, target))
        throw new UnrecoverableError(`refused: ${next} is a symbolic link that leads outside ${root}${target ? ` (to ${target})` : ''}`);
      current = target;
      continue;
    }
    if (!st.isDirectory()) throw new UnrecoverableError(`refused: ${next} exists and is not a folder`);
    current = next;
  }
  return current;
}

/** The allowed root an absolute `path` lies in, or undefined. */
export function allowedRootOf(config: NodeConfig, path: string): string | undefined {
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
 * Creates the folders; refuses paths that leave their root.
 */
export async function replyFile(config: NodeConfig, m: WireMessage, subject: string): Promise<string> {
  const { root, parts } = rootAndParts(config, config.dataFolder, m.directory ?? '', 'directory');
  const name = m.fileName ?? `${subject}.log`;
  if (name === '' || name === '.' || name === '..' || /[\\/]/.test(name))
    throw new UnrecoverableError(`refused: fileName "${name}" is not a plain file name`);
  const dir = await confinedDir(root, [...parts, m.fromNode]);
  const file = join(dir, name);
  const st = await lstat(file).catch(() => undefined);
  if (st?.isSymbolicLink()) throw new UnrecoverableError(`refused: ${file} is a symbolic link`);
  if (st && !st.isFile())
    throw new UnrecoverableError(`refused: ${file} exists and is ${st.isDirectory() ? 'a directory' : 'not a regular file'}`);
  return file;
}
