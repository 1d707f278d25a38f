/**
 * @steward/core: the message schema and validation, subjects, the state
 * machines (delivery, execution, supervision) and the journal.
 */
export { StewardError, ValidationError, JournalError, UnrecoverableError, EscalationError, type FieldProblem } from './errors.js';
export { MessageKind, kindWantsAck, kindIsCommand } from './messageKind.js';
export {
  RETRY_FOREVER,
  NO_METHOD_TIMEOUT,
  nodeNameProblem,
  parseMessageSpec,
  parseWireMessage,
  toWireMessage,
  expandTargets,
  LOCAL_NODE,
  subjectOf,
  flatString,
  parseSubject,
  type MessageSpec,
  type WireMessage,
  type MessageDefaults,
  type ParsedSpec,
} from './message.js';
export { newMessageId } from './messageId.js';
export {
  SIGNATURE_FIELD,
  canonicalJson,
  signedJson,
  signedBytes,
  signMessage,
  verifyMessage,
  publicKeyFromText,
  publicKeyToText,
  privateKeyFromPem,
  keyFingerprint,
  parseFingerprint,
  FINGERPRINT_PREFIX,
} from './signing.js';
export {
  AcceptedBy,
  DataShape,
  isMethodName,
  methodCatalog,
  methodInfo,
  methodRows,
  methodsWhere,
  type MethodInfo,
  type MethodName,
} from './methodCatalog.js';
export {
  ResultStatus,
  isFinalStatus,
  isFailureStatus,
  parseAckReply,
  signAck,
  ackSignatureValid,
  encodeAck,
  type AckReply,
  type WireAck,
} from './ack.js';
export {
  GZIP_BASE64,
  COMPRESS_THRESHOLD_BYTES,
  MAX_DECODED_BYTES,
  encodeText,
  decodeValue,
  shouldCompress,
  encodeMessageFields,
  decodeMessageFields,
  type EncodedValue,
} from './payloadEncoding.js';
export {
  CHUNKS,
  ChunksMissing,
  splitText,
  isChunkRef,
  parseChunkRef,
  chunkData,
  parseChunkHeader,
  joinChunks,
  type ChunkRef,
  type ChunkHeader,
  type SplitText,
} from './chunkedPayload.js';
export {
  Journal,
  journalSchemaVersion,
  OutboxState,
  InboxState,
  type OutboxRecord,
  type InboxRecord,
  type OutboxSubmission,
  type SubmitResult,
  type NodeRecord,
  type JournalOptions,
  type WriteOptions,
  type OutboxPatch,
  type InboxPatch,
} from './journal.js';
export {
  deliveryMachine,
  publishWith,
  canRetry,
  type DeliveryInput,
  type DeliveryContext,
  type DeliveryEvent,
  type DeliveryOutput,
  type PublishInput,
} from './deliveryMachine.js';
export {
  executionMachine,
  executionWith,
  resultOf,
  type ExecutionImplementation,
  type ExecutionEvent,
  type ExecutionInput,
  type ExecutionContext,
  type ExecutionResult,
  type MethodOutcome,
} from './executionMachine.js';
export { SteppedActor, type SteppedObserver } from './steppedActor.js';
export {
  supervisorMachine,
  processLogic,
  nextRestartDecision,
  type ChildSpec,
  type RestartPolicy,
  type SupervisorEvent,
  type SupervisorInput,
  type SupervisorMachineEvent,
  type RestartDecision,
  type Process,
  type ProcessContext,
  type ProcessLogicOptions,
} from './supervisor.js';
export { parseInmsg, type ParsedEntry, type ParseFailure, type InmsgParseResult } from './inmsgParser.js';
export {
  ACK_FRAME_TAG,
  MAX_FRAME_ENTRIES,
  MESSAGE_FRAME_TAG,
  encodeFrame,
  frameRuns,
  frameSignatureValid,
  isFrame,
  parseAckFrame,
  parseMessageFrame,
  splitFrame,
  type AckFrame,
  type FrameTag,
  type MessageFrame,
  type RawFrame,
} from './frame.js';
