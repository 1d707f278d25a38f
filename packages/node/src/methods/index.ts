/**
 * The method table: method name → handler. The facts every node shares
 * (kind, order, data shape, reply method) are in `@steward/core`'s catalogue.
 */
import { cliCommand } from './cliCommand.js';
import { echoRequest } from './echo.js';
import { errorLog } from './errorLog.js';
import { sayHello } from './sayHello.js';
import { textLogging } from './textLogging.js';
import type { MethodHandler } from './types.js';

export type { MethodContext, MethodHandler } from './types.js';

/** Handlers by method name. */
export const methodHandlers: ReadonlyMap<string, MethodHandler> = new Map([
  ['CLICommand', cliCommand],
  ['CLICommandRequest', cliCommand],
  ['CLICommandRequestNOSEQ', cliCommand],
  ['CLICommandReply', textLogging],
  ['TextLogging', textLogging],
  ['SayHello', sayHello],
  ['ErrorLog', errorLog],
  ['ECHORequest', echoRequest],
  ['ECHOReply', textLogging],
]);
