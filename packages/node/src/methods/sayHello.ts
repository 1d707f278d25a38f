/** SayHello: the central node records who is alive, with the time and what the node said. */
import type { MethodHandler } from './types.js';

/** Records the hello in the node registry. */
export const sayHello: MethodHandler = {
  idempotent: true,
  async run({ services, message }) {
    await services.journal.recordHello(message.fromNode, message.data.join(' '));
    services.log.debug(`hello from ${message.fromNode}`, { id: message.id });
    return { ok: true, output: '' };
  },
};
