/**
 * @steward/node: the steward node runtime.
 */
export { StewardNode, EXIT_ESCALATED, type StewardNodeOptions } from './stewardNode.js';
export { defaultConfig, type NodeConfig } from './config.js';
export { createLogger, type Logger, type LoggerOptions } from './logger.js';
export { BrokerNotInstalledError, BrokerExitedError, ConfigError } from './errors.js';
export { findExecutable, isListening, toServerUrl, defaultBrokerHostPort } from './broker.js';
export { FailureKind, type Failure } from './errorKernel.js';
export { inmsgFileName, rejectedFileName } from './inmsgFile.js';
export { runCommand, killProcessTree, type RunCommandOptions, type CommandResult } from './commandRunner.js';
export { stewardVersion } from './version.js';
export { NodeEvents, type NodeEventMap, type DeliveryEvent, type ExecutionEvent } from './nodeEvents.js';
export type { NodeServices, SpecSubmission } from './services.js';
