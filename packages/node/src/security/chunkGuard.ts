/**
 * The chunk guard: what a received `Chunk` (a piece of a field too big for
 * one broker message, see execution/chunks.ts) is taken as.
 *
 * A chunk that names, in `previousMessageId`, a request this node sent is
 * part of that request's answer (its ACK output, or a reply message): taken
 * without an ACL rule, like a reply, but only from the node the request
 * went to. A chunk that names no request of ours is an ordinary message of
 * its sender, checked by the ACL as method `Chunk`. Either way a chunk is
 * only ever read as part of a whole sent by its own sender (the message
 * carrying the reference, or the ACK of the request), whose signed
 * reference names the whole's SHA-256: a chunk grants nothing by itself. @internal
 */
import { parseChunkHeader, ValidationError, type Journal, type WireMessage } from '@steward/core';
import { chunkKey } from '../execution/chunks.js';

/** What the guard decided about a received chunk. */
export type ChunkVerdict =
  /** Part of the answer to a request of ours: no ACL rule needed. Stored under `key`. */
  | { kind: 'answer'; key: string }
  /** An ordinary message of its sender (the ACL decides). Stored under `key`. */
  | { kind: 'message'; key: string }
  /** Not to be taken. */
  | { kind: 'refused'; reason: string };

/** Decides what chunk `m` is. */
export function chunkVerdict(journal: Journal, m: WireMessage): ChunkVerdict {
  let of: string;
  try {
    of = parseChunkHeader(m.data).of;
  } catch (err) {
    if (!(err instanceof ValidationError)) throw err;
    return { kind: 'refused', reason: err.message };
  }
  const key = chunkKey(of);
  const prev = m.previousMessageId;
  const request = prev === undefined ? undefined : journal.getOutbox(prev);
  if (!request) return { kind: 'message', key };
  if (request.message.toNode !== m.fromNode)
    return {
      kind: 'refused',
      reason: `Chunk answers ${request.message.method} ${request.id}, which went to "${request.message.toNode}", not to "${m.fromNode}"`,
    };
  return { kind: 'answer', key };
}
