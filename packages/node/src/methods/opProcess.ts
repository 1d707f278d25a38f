/**
 * REQOpProcessList, REQOpProcessStart, REQOpProcessStop: the node's own
 * supervised processes (see processTable.ts). A stopped process stays
 * stopped until it is started again or the node restarts.
 */
import type { MethodHandler } from './types.js';

/** Lists the processes, one per line: path, status, restarts. */
export const opProcessList: MethodHandler = {
  idempotent: true,
  run({ services }) {
    const table = services.processes;
    if (!table) return Promise.resolve({ ok: false, output: '', error: 'the process table is not available' });
    const lines = table.list().map((p) => `${p.path} ${p.status}${p.restarts ? ` (${p.restarts} restarts)` : ''}\n`);
    return Promise.resolve({ ok: true, output: lines.join('') });
  },
};

/** Starts the process named by `methodArgs[0]`. */
export const opProcessStart: MethodHandler = {
  idempotent: true,
  run: ({ services, message }) => act(services.processes, (t) => t.start(message.data[0]!)),
};

/** Stops the process named by `methodArgs[0]`. */
export const opProcessStop: MethodHandler = {
  idempotent: true,
  run: ({ services, message }) => act(services.processes, (t) => t.stop(message.data[0]!)),
};

function act<T>(table: T | undefined, fn: (t: T) => string) {
  if (!table) return Promise.resolve({ ok: false, output: '', error: 'the process table is not available' });
  try {
    return Promise.resolve({ ok: true, output: `${fn(table)}\n` });
  } catch (err) {
    return Promise.resolve({ ok: false, output: '', error: (err as Error).message });
  }
}
