/**
 * @steward/node: the steward node runtime. Everything of the light entry
 * point `@steward/node/client` (what the CLI needs without a node) is here too.
 */
export * from './client.js';
export { StewardNode, EXIT_ESCALATED, type StewardNodeOptions } from './node/stewardNode.js';
export { createLogger, type Logger, type LoggerOptions } from './observability/logger.js';
export { BrokerNotInstalledError, BrokerExitedError } from './errors.js';
export { findExecutable, isListening, toServerUrl, defaultBrokerHostPort } from './transport/brokerAddress.js';
export { FailureKind, type Failure } from './node/errorKernel.js';
export { inmsgFileName, rejectedFileName } from './inputs/inmsgFile.js';
export { runCommand, type RunCommandOptions, type CommandResult } from './execution/commandRunner.js';
export { killProcessTree } from './execution/processTree.js';
export { NodeEvents, type NodeEventMap, type DeliveryEvent, type ExecutionEvent } from './node/nodeEvents.js';
export type { NodeServices, SpecSubmission } from './node/services.js';
export {
  SocketOp,
  SendStatus,
  ErrorCode,
  RequestError,
  parseRequest,
  parseRequestLine,
  maxRequestLineBytes,
  type SocketRequest,
  type SocketResponseType,
  type SendRequest,
  type StatusRequest,
  type JobsRequest,
  type NodesRequest,
  type PingRequest,
  type JobStateFilter,
  type MessageWarning,
  type RequestProblem,
} from './api/socketProtocol.js';
export {
  isFailureEvent,
  watchFilter,
  type WatchRequest,
  type WatchEvent,
  type DeliveryWatchEvent,
  type ExecutionWatchEvent,
  type FailureWatchEvent,
  type ProcessWatchEvent,
} from './api/watchProtocol.js';
export { parseReplyText } from './api/sendResult.js';
export { defaultStaleAfter } from './api/queries.js';
export { chooseSocketPath, privateDirProblem, maxSocketPathBytes, SocketPathError, type SocketPlacement } from './api/socketPath.js';
export { brokerConnectOptions, describeBrokerAuth, redactSecrets, type BrokerAuthConfig } from './security/brokerAuth.js';
export { ConfigFileError, KeySetError } from './security/errors.js';
export { keysFolder, type NodeKeys } from './security/keyStore.js';
export { approvedKeys, type KeyEntry, type KeyRegistry } from './security/keyRegistry.js';
export { TrustStore, KEYS_UPDATE, type KeySet } from './security/trustStore.js';
export { HELLO_KEY_PREFIX, type Refusal } from './security/nodeSecurity.js';
export { aclRefusal, emptyAcl, type Acl, type AclRequest } from './security/acl.js';
