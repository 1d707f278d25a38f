/**
 * REQCopySrc, on the node that has the file: `methodArgs` are
 * `[srcPath, dstNode, dstPath, chunkSize?, maxTotalSeconds?, folderPerm?]`.
 *
 * Before the copy runs (durably, with the execution's `running` state) the
 * file's size, mode and SHA-256 are recorded. The run then puts one
 * REQCopyDst message per chunk (with the chunk's SHA-256) and a final commit
 * in the outbox, keyed by copy and chunk number: the journal carries them
 * to the destination across broker outages and restarts of either node, and
 * a re-run after a crash queues nothing twice. The destination checks each
 * chunk, then the whole file, sets the source's mode, moves the file into
 * place, and reports to whoever asked for the copy (the request's
 * `replyMethod`, default REQToFileAppend). This method's own success sends no
 * reply; its failure does.
 */
import { open, stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import { LOCAL_NODE, methodInfo, nodeNameProblem, subjectOf, UnrecoverableError, type MessageSpec, type WireMessage } from '@steward/core';
import type { MethodHandler } from '../types.js';
import { queueMessages } from '../../execution/replyMessage.js';
import { defaultChunkBytes, maxChunkBytes, type ChunkHeader, type CommitHeader } from './copyProtocol.js';
import { sha256, sha256File } from './fileHash.js';

/** The arguments of a copy, checked. */
export interface CopyArgs {
  src: string;
  dstNode: string;
  dstPath: string;
  chunkBytes: number;
  maxTotalSeconds: number;
  folderMode: number;
}

/** What is recorded before the copy runs. */
interface CopyProgress {
  size: number;
  mode: number;
  sha256: string;
}

/**
 * Checks `methodArgs` of a REQCopySrc message.
 *
 * @throws {@link UnrecoverableError} naming the wrong argument.
 */
function parseCopyArgs(data: string[]): CopyArgs {
  const [src, dstNode, dstPath, chunk, total, perm] = data;
  if (!src) throw new UnrecoverableError('methodArgs[0] (srcPath) is missing');
  const nodeProblem = nodeNameProblem(dstNode);
  if (nodeProblem) throw new UnrecoverableError(`methodArgs[1] (dstNode) ${nodeProblem}`);
  if (!dstPath) throw new UnrecoverableError('methodArgs[2] (dstPath) is missing');
  const chunkBytes = chunk === undefined || chunk === '' ? defaultChunkBytes : Number(chunk);
  if (!Number.isSafeInteger(chunkBytes) || chunkBytes < 1)
    throw new UnrecoverableError(`methodArgs[3] (chunkSize) must be a whole number of bytes ≥ 1, got "${chunk}"`);
  const maxTotalSeconds = total === undefined || total === '' ? 60 : Number(total);
  if (!Number.isFinite(maxTotalSeconds) || maxTotalSeconds <= 0)
    throw new UnrecoverableError(`methodArgs[4] (maxTotalSeconds) must be a number of seconds > 0, got "${total}"`);
  const permText = perm === undefined || perm === '' ? '0755' : perm;
  if (!/^0?[0-7]{3,4}$/.test(permText)) throw new UnrecoverableError(`methodArgs[5] (folderPerm) must be octal, like 0755, got "${perm}"`);
  return {
    src,
    dstNode: dstNode!,
    dstPath,
    // Bigger chunks would not fit in one broker message once in base64.
    chunkBytes: Math.min(chunkBytes, maxChunkBytes),
    maxTotalSeconds,
    folderMode: parseInt(permText, 8),
  };
}

/** Reads the file and queues its chunks and the commit. */
export const copySrc: MethodHandler = {
  idempotent: true,
  replyOnSuccess: false,
  async prepare({ services, message }): Promise<CopyProgress> {
    const args = parseCopyArgs(message.data);
    const src = resolve(services.config.nodeFolder, args.src);
    const st = await stat(src).catch((err: NodeJS.ErrnoException) => {
      throw new UnrecoverableError(`cannot copy ${src}: ${err.code === 'ENOENT' ? 'no such file' : err.message}`);
    });
    if (!st.isFile()) throw new UnrecoverableError(`cannot copy ${src}: not a regular file`);
    return { size: st.size, mode: st.mode & 0o7777, sha256: await sha256File(src) };
  },
  async run({ services: s, message, progress, signal }) {
    const args = parseCopyArgs(message.data);
    const p = progress as CopyProgress;
    const src = resolve(s.config.nodeFolder, args.src);
    const dstNode = args.dstNode === LOCAL_NODE ? s.config.node : args.dstNode;
    const count = Math.ceil(p.size / args.chunkBytes);
    // Each chunk is resent until maxTotalSeconds have passed: enough for the destination to restart.
    const timeout = Math.min(10, Math.max(1, args.maxTotalSeconds / 10));
    const retries = Math.max(1, Math.ceil(args.maxTotalSeconds / timeout));
    const send = async (spec: MessageSpec, key: string, extra: Partial<WireMessage> = {}) => {
      const wire: WireMessage = { ...s.toWire(spec), previousMessageId: message.id, ...extra };
      await queueMessages(s, [{ message: wire, subject: subjectOf(spec), sourceKey: `copy:${message.id}:${key}` }], 'REQCopySrc');
    };
    const base = { toNode: dstNode, method: 'REQCopyDst', commandOrEvent: 'EventACK' as const, timeout, retries, methodTimeout: 60 };
    const fh = await open(src, 'r');
    try {
      for (let i = 0; i < count; i++) {
        if (signal.aborted) return { ok: false, output: '', error: 'stopped before every chunk was queued' };
        const offset = i * args.chunkBytes;
        const want = Math.min(args.chunkBytes, p.size - offset);
        const buf = Buffer.alloc(want);
        const { bytesRead } = await fh.read(buf, 0, want, offset);
        if (bytesRead !== want) return { ok: false, output: '', error: `${src} shrank while it was copied` };
        const header: ChunkHeader = {
          op: 'chunk',
          copy: message.id,
          path: args.dstPath,
          index: i,
          count,
          offset,
          size: want,
          sha256: sha256(buf),
          folderMode: args.folderMode,
        };
        await send({ ...base, data: [JSON.stringify(header), buf.toString('base64')] }, String(i));
      }
    } finally {
      await fh.close();
    }
    const commit: CommitHeader = {
      op: 'commit',
      copy: message.id,
      path: args.dstPath,
      count,
      size: p.size,
      sha256: p.sha256,
      mode: p.mode,
      folderMode: args.folderMode,
      source: `${s.config.node}:${src}`,
    };
    // The commit answers whoever asked for the copy, with the request's reply settings.
    const spec: MessageSpec = {
      ...base,
      data: [JSON.stringify(commit)],
      replyMethod: message.replyMethod ?? methodInfo('REQCopySrc')!.replyMethod!,
    };
    for (const f of ['replyMethodArgs', 'replyMethodTimeout', 'requestTimeout', 'requestRetries', 'directory', 'fileName'] as const) {
      if (message[f] !== undefined) (spec as unknown as Record<string, unknown>)[f] = message[f];
    }
    await send(spec, 'commit', { replyToNode: message.fromNode });
    return {
      ok: true,
      output: `copy ${message.id}: ${src} to ${dstNode}:${args.dstPath}, ${p.size} bytes in ${count} chunks queued\n`,
    };
  },
};
