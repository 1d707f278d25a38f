/**
 * @steward/node/client: what the `steward` command needs without running a
 * node (the local socket protocol, socket paths, key and ACL files, the
 * configuration defaults). It loads none of the runtime (NATS, SQLite,
 * XState actors, winston, prom-client), so `steward send`, `status`, `jobs`,
 * `nodes`, `keys` and `acl` start in about half the time of `steward start`.
 */
export { defaultConfig, parseConfig, validateConfig, configProblems, type NodeConfig } from './node/config.js';
export {
  configSchema,
  startOnlyOptions,
  crossRules,
  startFlags,
  envNameOf,
  kebabOf,
  toInspectAddress,
  OptionSection,
  type OptionSpec,
  type FlagContext,
  type ConfigKey,
  type CrossRule,
  type StartFlag,
} from './node/configSchema.js';
export type { Check } from './node/configChecks.js';
export { ConfigError } from './errors.js';
export { stewardVersion } from './version.js';
export {
  outcomeOf,
  parseResponseLine,
  maxMessagesPerRequest,
  maxJobsLimit,
  defaultJobsLimit,
  type SocketResponse,
  type ReqId,
  type SendResult,
  type SendOutcome,
  type AcceptedMessage,
  type SentStatus,
  type ReceivedStatus,
  type JobSummary,
  type NodeStatus,
  type CancelResult,
  type RetryItem,
} from './api/socketProtocol.js';
export { isFailureEvent, minWatchIdPart, type WatchEvent } from './api/watchProtocol.js';
export { socketFileName, runtimeSocketPath } from './api/socketPath.js';
export { loadOrCreateNodeKeys } from './security/keyStore.js';
export { KeyStatus, readRegistry, decideKey, registryPath } from './security/keyRegistry.js';
export { aclInForce, parseAcl, readAcl, writeAcl, aclPath, type AclRule } from './security/acl.js';
