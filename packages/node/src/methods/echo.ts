/** ECHORequest: answer with the same data; the subscriber sends it back as ECHOReply. */
import type { MethodHandler } from './types.js';

/** Echoes the data. */
export const echoRequest: MethodHandler = {
  idempotent: true,
  run({ message }) {
    return Promise.resolve({ ok: true, output: message.data.join('') });
  },
};
