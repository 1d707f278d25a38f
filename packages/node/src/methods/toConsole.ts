/**
 * REQToConsole: print the text on the node's stdout. As a reply method,
 * `replyMethodArgs: ["stderr"]` prints on stderr instead.
 */
import { textOf } from '../execution/replyMessage.js';
import type { MethodHandler } from './types.js';

/** Prints the text as it is. */
export const toConsole: MethodHandler = {
  idempotent: true,
  run({ message }) {
    const text = textOf(message);
    const toStderr = message.previousOutput !== undefined && message.data[0] === 'stderr';
    (toStderr ? process.stderr : process.stdout).write(text);
    return Promise.resolve({ ok: true, output: '' });
  },
};
