/**
 * The handler table: method name → handler, one entry per row of
 * `@steward/core`'s method table, which holds the facts every node shares
 * (kind, order, data shape, reply method, and what kind of message it is).
 * The seed's names and the mature steward's names of the same method share a
 * handler.
 */
import { methodRows, type MethodName } from '@steward/core';
import { cancel } from './cancel.js';
import { chunk } from './chunk.js';
import { cliCommand } from './cliCommand.js';
import { cliCommandCont } from './cliCommandCont.js';
import { echoRequest } from './echo.js';
import { streamTimeLimit } from './lineStream.js';
import { errorLog } from './errorLog.js';
import { none } from './none.js';
import { opProcessList, opProcessStart, opProcessStop } from './opProcess.js';
import { ping } from './ping.js';
import { sayHello } from './sayHello.js';
import { textLogging } from './textLogging.js';
import { toConsole } from './toConsole.js';
import { toFile } from './toFile.js';
import type { MethodHandler } from './types.js';

export type { MethodContext, MethodHandler } from './types.js';
export { scheduled } from './schedule.js';

/** What the subscriber reads of a handler before it runs a message (everything but its code). */
export type HandlerFacts = Omit<MethodHandler, 'run' | 'prepare'>;

/**
 * A handler whose module is imported at its first message: the methods a
 * plain node rarely runs (copies, HTTP, file tails) cost its start-up
 * nothing. `facts` repeat the module's own (a test compares them). A module
 * that cannot be loaded fails the message with an error naming the method,
 * never the node; the next message tries again.
 *
 * @internal
 */
export function onDemand(method: string, facts: HandlerFacts, load: () => Promise<MethodHandler>): MethodHandler {
  let loading: Promise<MethodHandler> | undefined;
  const handler = (): Promise<MethodHandler> =>
    (loading ??= load().catch((err: unknown) => {
      loading = undefined;
      throw new Error(`the handler of ${method} could not be loaded: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
    }));
  return {
    ...facts,
    async prepare(ctx) {
      const h = await handler();
      return h.prepare ? h.prepare(ctx) : undefined;
    },
    async run(ctx) {
      return (await handler()).run(ctx);
    },
  };
}

/** The handlers loaded on demand: their facts and their module. @internal */
export const onDemandHandlers = {
  REQCopySrc: { facts: { idempotent: true, replyOnSuccess: false }, load: async () => (await import('./copy/copySrc.js')).copySrc },
  REQCopyDst: { facts: { idempotent: true }, load: async () => (await import('./copy/copyDst.js')).copyDst },
  REQHttpGet: { facts: {}, load: async () => (await import('./httpGet.js')).httpGet },
  REQTailFile: {
    facts: { replyOnSuccess: false, timeLimitMs: streamTimeLimit },
    load: async () => (await import('./tailFile.js')).tailFile,
  },
} satisfies Partial<Record<MethodName, { facts: HandlerFacts; load: () => Promise<MethodHandler> }>>;

const later = (m: keyof typeof onDemandHandlers): MethodHandler => onDemand(m, onDemandHandlers[m].facts, onDemandHandlers[m].load);

/**
 * The handler of every method of the catalogue. Typed by the catalogue's
 * names: a method without a handler, or a handler for no method, does not
 * compile.
 */
const handlers: Readonly<Record<MethodName, MethodHandler>> = {
  CLICommand: cliCommand,
  CLICommandRequest: cliCommand,
  CLICommandRequestNOSEQ: cliCommand,
  CLICommandReply: textLogging,
  TextLogging: textLogging,
  SayHello: sayHello,
  ErrorLog: errorLog,
  ECHORequest: echoRequest,
  ECHOReply: textLogging,
  REQCliCommand: cliCommand,
  REQCliCommandCont: cliCommandCont,
  REQTailFile: later('REQTailFile'),
  REQHttpGet: later('REQHttpGet'),
  REQToFileAppend: textLogging,
  REQToFile: toFile,
  REQToConsole: toConsole,
  REQNone: none,
  REQHello: sayHello,
  REQErrorLog: errorLog,
  REQPing: ping,
  REQPong: textLogging,
  REQOpProcessList: opProcessList,
  REQOpProcessStart: opProcessStart,
  REQOpProcessStop: opProcessStop,
  REQCopySrc: later('REQCopySrc'),
  REQCopyDst: later('REQCopyDst'),
  Cancel: cancel,
  Chunk: chunk,
};

/** Handlers by method name, in the order of the catalogue's rows. */
export const methodHandlers: ReadonlyMap<string, MethodHandler> = new Map(methodRows.map((r) => [r.name, handlers[r.name]]));
