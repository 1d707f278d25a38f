/**
 * Chunk: one piece of a field too big for one broker message (an output, a
 * reply's data; see execution/chunks.ts). The subscriber has already stored
 * it in the inbox under the whole it belongs to; running it tells whoever
 * waits for that whole to look again. Nothing else happens, so a re-run is
 * harmless.
 */
import { parseChunkHeader } from '@steward/core';
import { chunkArrived } from '../execution/chunks.js';
import type { MethodHandler } from './types.js';

/** Wakes the waiters of the chunk's whole. */
export const chunk: MethodHandler = {
  idempotent: true,
  replyOnSuccess: false,
  run({ services, message }) {
    chunkArrived(services, parseChunkHeader(message.data).of);
    return Promise.resolve({ ok: true, output: '' });
  },
};
