/**
 * The ACK: what a receiving node answers on NATS request/reply. For Command
 * kinds it carries the method's outcome and output; for Event kinds it only
 * says the message was received durably.
 */
import type { KeyObject } from 'node:crypto';
import { ValidationError } from './errors.js';
import { isChunkRef, parseChunkRef, type ChunkRef } from './chunkedPayload.js';
import { decodeValue, encodeText, shouldCompress, type EncodedValue } from './payloadEncoding.js';
import { SIGNATURE_FIELD, signMessage, verifyMessage } from './signing.js';

/** The outcome a receiver reports for a message. */
export const ResultStatus = {
  /** Stored durably; will run (Event kinds answer with this). */
  Received: 'received',
  /** A resend reached the receiver while the method still runs: the result follows. Not final. */
  Running: 'running',
  /** The method ran and succeeded. */
  Succeeded: 'succeeded',
  /** The method ran and failed (non-zero exit, write error, ...). */
  Failed: 'failed',
  /** The method ran past its methodTimeout and was killed. */
  TimedOut: 'timedOut',
  /** The node was killed while the method ran; it was not run again. */
  Interrupted: 'interrupted',
  /** The message was refused before running (invalid, not allowed). */
  Rejected: 'rejected',
  /** Its sender cancelled it (`steward cancel`): stopped while running (its process tree killed), or never run. */
  Cancelled: 'cancelled',
} as const;
/** The outcome a receiver reports for a message. */
export type ResultStatus = (typeof ResultStatus)[keyof typeof ResultStatus];

const statuses = new Set<string>(Object.values(ResultStatus));

/** The body of an ACK, and the stored result of an execution. */
export interface AckReply {
  /** The id of the message this answers. */
  id: string;
  /** The node that answers. */
  node: string;
  status: ResultStatus;
  /** The method's output (Command kinds). */
  output?: string;
  /** Why it failed, in words. */
  error?: string;
  /** The command's exit code, when it was a command. */
  exitCode?: number | null;
  /** True when this answers a resend of a message that had already been handled. */
  duplicate?: boolean;
  /**
   * The output comes in `Chunk` messages (see chunkedPayload.ts): set on a
   * received ACK whose output was too big for one broker message, until the
   * sender has the whole. Never stored with `output`.
   */
  outputChunks?: ChunkRef;
}

/** Whether the status means the work is done for good, successfully or not. */
export function isFinalStatus(s: ResultStatus): boolean {
  return s !== ResultStatus.Received && s !== ResultStatus.Running;
}

/** Whether the status is a failure that the error kernel should hear about. */
export function isFailureStatus(s: ResultStatus): boolean {
  return s === ResultStatus.Failed || s === ResultStatus.TimedOut || s === ResultStatus.Interrupted || s === ResultStatus.Rejected;
}

/**
 * Parses an ACK body received from NATS.
 *
 * @throws {@link ValidationError} when it is not an ACK.
 */
export function parseAckReply(raw: unknown): AckReply {
  if (typeof raw !== 'object' || raw === null) throw new ValidationError([{ field: '(ack)', reason: 'must be a JSON object' }]);
  const o = raw as Record<string, unknown>;
  const problems = [];
  if (typeof o.id !== 'string') problems.push({ field: 'id', reason: 'must be a string' });
  if (typeof o.node !== 'string') problems.push({ field: 'node', reason: 'must be a string' });
  if (typeof o.status !== 'string' || !statuses.has(o.status)) problems.push({ field: 'status', reason: 'is not a known status' });
  let output = o.output;
  let outputChunks: ChunkRef | undefined;
  // A large output travels compressed (see payloadEncoding.ts), or in chunks (chunkedPayload.ts); a bad encoding is a malformed ACK.
  if (isChunkRef(output)) {
    try {
      outputChunks = parseChunkRef(output, 'output', Number.MAX_SAFE_INTEGER);
    } catch (err) {
      if (!(err instanceof ValidationError)) throw err;
      problems.push(...err.problems);
    }
    output = undefined;
  } else if (typeof output === 'object' && output !== null) {
    try {
      output = decodeValue(output, 'output');
    } catch (err) {
      if (!(err instanceof ValidationError)) throw err;
      problems.push(...err.problems);
      output = undefined;
    }
  } else if (output !== undefined && typeof output !== 'string') problems.push({ field: 'output', reason: 'must be a string' });
  if (o.error !== undefined && typeof o.error !== 'string') problems.push({ field: 'error', reason: 'must be a string' });
  if (problems.length) throw new ValidationError(problems);
  const reply: AckReply = { id: o.id as string, node: o.node as string, status: o.status as ResultStatus };
  if (typeof output === 'string') reply.output = output;
  if (typeof o.error === 'string') reply.error = o.error;
  if (typeof o.exitCode === 'number' || o.exitCode === null) reply.exitCode = o.exitCode;
  if (o.duplicate === true) reply.duplicate = true;
  if (outputChunks) reply.outputChunks = outputChunks;
  return reply;
}

/** An ACK body as it travels: its output compressed when large (see payloadEncoding.ts). */
export type WireAck = Omit<AckReply, 'output' | 'outputChunks'> & { output?: string | EncodedValue | ChunkRef };

/** The wire form of `reply`: `reply` itself when its output is small. */
export function encodeAck(reply: AckReply): WireAck {
  if (reply.output === undefined || reply.output.length <= 1024 || !shouldCompress(Buffer.byteLength(reply.output))) return reply;
  const encoded = encodeText(reply.output);
  // Random output grows by a third in base64: sent as it is when encoding does not make it smaller.
  return encoded.value.length < reply.output.length ? { ...reply, output: encoded } : reply;
}

/**
 * What an ACK signature covers besides the ACK's own fields: a fixed
 * domain, so a signed ACK can never be taken for a signed message, or the
 * other way round.
 */
const ackSignatureDomain = 'steward-ack-v1';
const ackDomainField = 'signedAs';

/**
 * The ACK body as the answering node sends it: `reply` with a `signature`
 * (ed25519, base64) over its canonical JSON, so the sender can tell the
 * target's own answer from one that any client on the broker made up.
 */
export function signAck<T extends WireAck>(reply: T, privateKey: KeyObject): T & { signature: string } {
  return { ...reply, signature: signMessage({ ...reply, [ackDomainField]: ackSignatureDomain }, privateKey) };
}

/** Whether the raw ACK body `raw` carries a valid signature of `publicKey`. */
export function ackSignatureValid(raw: Record<string, unknown>, publicKey: KeyObject): boolean {
  const signed: Record<string, unknown> = { ...raw, [ackDomainField]: ackSignatureDomain };
  return verifyMessage(signed, raw[SIGNATURE_FIELD], publicKey);
}
