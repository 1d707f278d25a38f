/**
 * REQCopyDst, on the node that receives a copy (see copySrc.ts). A chunk is
 * checked against its SHA-256 and written at its offset into a hidden
 * partial file beside the destination (`.<name>.steward-copy-<id>.part`),
 * then synced: writing the same chunk again gives the same file, so a chunk
 * cut by a crash is simply redone. The commit checks the partial file's size
 * and SHA-256, gives it the source's mode and renames it over the
 * destination, so the destination is either the old file or the whole,
 * verified new one. A relative destination is under the node folder; an
 * absolute one must be under an allowed root; neither may be one of the
 * node's control paths (read folder, inmsg.txt, state/, socket: see
 * confinedFile).
 */
import { constants } from 'node:fs';
import { chmod, lstat, open, rename, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { UnrecoverableError } from '@steward/core';
import type { NodeConfig } from '../../node/config.js';
import type { MethodHandler } from '../types.js';
import { confinedFile, openInPlace, rootAndParts } from '../writePath.js';
import { parseCopyHeader, type CommitHeader } from './copyProtocol.js';
import { sha256, sha256File } from './fileHash.js';

/** Resolves the destination file, creating its folders (confined, never a control path). */
export async function copyTarget(config: NodeConfig, path: string, folderMode: number): Promise<string> {
  const { root, parts } = rootAndParts(config, config.nodeFolder, path, 'dstPath');
  const name = parts.pop();
  if (!name || name === '.' || name === '..') throw new UnrecoverableError(`refused: dstPath "${path}" does not name a file`);
  return confinedFile(config, root, parts, name, folderMode);
}

function partOf(file: string, copy: string): string {
  return join(dirname(file), `.${basename(file)}.steward-copy-${copy}.part`);
}

/** Writes a chunk, or checks and installs the file. */
export const copyDst: MethodHandler = {
  idempotent: true,
  async run({ services, message }) {
    const h = parseCopyHeader(message.data[0]);
    const file = await copyTarget(services.config, h.path, h.folderMode);
    const part = partOf(file, h.copy);
    if (h.op === 'commit') return commit(services.config.node, h, file, part);
    const bytes = Buffer.from(message.data[1] ?? '', 'base64');
    if (bytes.length !== h.size || sha256(bytes) !== h.sha256)
      return { ok: false, output: '', error: `chunk ${h.index + 1}/${h.count} of copy ${h.copy} arrived damaged (SHA-256 mismatch)` };
    // Written in place: a hard link planted at the partial file's name must not carry the bytes elsewhere.
    const { fh } = await openInPlace(part, constants.O_WRONLY | constants.O_CREAT, 0o600);
    try {
      await fh.write(bytes, 0, bytes.length, h.offset);
      await fh.datasync();
    } finally {
      await fh.close();
    }
    return { ok: true, output: '' };
  },
};

async function commit(node: string, h: CommitHeader, file: string, part: string) {
  const report = `copied ${h.source} to ${node}:${file}: ${h.size} bytes in ${h.count} chunks, sha256 ${h.sha256} verified, mode ${h.mode.toString(8).padStart(4, '0')}\n`;
  const st = await lstat(part).catch(() => undefined);
  if (!st) {
    // Redone after a crash that came after the rename: the verified file is in place already.
    if ((await lstat(file).catch(() => undefined)) && (await sha256File(file)) === h.sha256) return { ok: true, output: report };
    if (h.size > 0) return { ok: false, output: '', error: `copy ${h.copy} to ${file}: no chunk arrived` };
    await (await open(part, constants.O_WRONLY | constants.O_CREAT | constants.O_NOFOLLOW, 0o600)).close();
  } else if (!st.isFile()) {
    return { ok: false, output: '', error: `copy ${h.copy}: ${part} is not a regular file` };
  }
  const size = (await lstat(part)).size;
  const fail = async (why: string) => {
    await unlink(part).catch(() => undefined);
    return { ok: false, output: '', error: `copy ${h.copy} to ${file} failed verification: ${why}; nothing was installed` };
  };
  if (size !== h.size) return fail(`${size} bytes arrived, ${h.size} expected (chunks missing)`);
  const got = await sha256File(part);
  if (got !== h.sha256) return fail(`SHA-256 ${got}, expected ${h.sha256}`);
  await chmod(part, h.mode);
  await rename(part, file);
  const dir = await open(dirname(file), 'r');
  try {
    await dir.sync();
  } finally {
    await dir.close();
  }
  return { ok: true, output: report };
}
