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
import { copyDst } from './copy/copyDst.js';
import { copySrc } from './copy/copySrc.js';
import { cliCommand } from './cliCommand.js';
import { cliCommandCont } from './cliCommandCont.js';
import { echoRequest } from './echo.js';
import { errorLog } from './errorLog.js';
import { httpGet } from './httpGet.js';
import { none } from './none.js';
import { opProcessList, opProcessStart, opProcessStop } from './opProcess.js';
import { ping } from './ping.js';
import { sayHello } from './sayHello.js';
import { tailFile } from './tailFile.js';
import { textLogging } from './textLogging.js';
import { toConsole } from './toConsole.js';
import { toFile } from './toFile.js';
import type { MethodHandler } from './types.js';

export type { MethodContext, MethodHandler } from './types.js';
export { scheduled } from './schedule.js';

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
  REQTailFile: tailFile,
  REQHttpGet: httpGet,
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
  REQCopySrc: copySrc,
  REQCopyDst: copyDst,
  Cancel: cancel,
  Chunk: chunk,
};

/** Handlers by method name, in the order of the catalogue's rows. */
export const methodHandlers: ReadonlyMap<string, MethodHandler> = new Map(methodRows.map((r) => [r.name, handlers[r.name]]));
