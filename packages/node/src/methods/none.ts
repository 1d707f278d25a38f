/** REQNone: does nothing. As a `replyMethod` it means "send no reply" (see replyMessage.ts). */
import type { MethodHandler } from './types.js';

/** Does nothing, successfully. */
export const none: MethodHandler = {
  idempotent: true,
  run: () => Promise.resolve({ ok: true, output: '' }),
};
