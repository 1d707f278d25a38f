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
export {
  SocketOp,
  SendStatus,
  ErrorCode,
  RequestError,
  outcomeOf,
  parseRequest,
  parseRequestLine,
  parseResponseLine,
  maxRequestLineBytes,
  maxMessagesPerRequest,
  maxJobsLimit,
  defaultJobsLimit,
  type SocketRequest,
  type SocketResponse,
  type SocketResponseType,
  type SendRequest,
  type StatusRequest,
  type JobsRequest,
  type NodesRequest,
  type PingRequest,
  type ReqId,
  type SendResult,
  type SendOutcome,
  type AcceptedMessage,
  type SentStatus,
  type ReceivedStatus,
  type JobSummary,
  type JobStateFilter,
  type NodeStatus,
  type MessageWarning,
  type RequestProblem,
} from './socketProtocol.js';
export { parseReplyText } from './sendResult.js';
export { defaultStaleAfter } from './socketApi.js';
export {
  socketFileName,
  runtimeSocketPath,
  chooseSocketPath,
  privateDirProblem,
  maxSocketPathBytes,
  SocketPathError,
  type SocketPlacement,
} from './socketPath.js';
export { brokerConnectOptions, describeBrokerAuth, redactSecrets, type BrokerAuthConfig } from './security/brokerAuth.js';
export { ConfigFileError, KeySetError } from './security/errors.js';
export { loadOrCreateNodeKeys, keysFolder, type NodeKeys } from './security/keyStore.js';
export { KeyStatus, readRegistry, decideKey, approvedKeys, registryPath, type KeyEntry, type KeyRegistry } from './security/keyRegistry.js';
export { TrustStore, KEYS_UPDATE, type KeySet } from './security/trustStore.js';
export { HELLO_KEY_PREFIX, type Refusal } from './security/nodeSecurity.js';
export {
  parseAcl,
  readAcl,
  writeAcl,
  aclPath,
  aclRefusal,
  emptyAcl,
  commandMethods,
  type Acl,
  type AclRule,
  type AclRequest,
} from './security/acl.js';
