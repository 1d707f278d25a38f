/**
 * The local API's protocol: newline-delimited JSON over a unix socket. Each
 * line a client writes is one request object with an `op`; each line the node
 * writes is one response object with a `type`. A request may carry a `reqId`
 * (a string or a whole number), which every response to it echoes, so one
 * connection can carry many requests at once.
 *
 * This module holds the shapes of both sides and the request validation, so
 * the node and `steward send` agree on one definition. Pure: no I/O.
 */
import {
  OutboxState,
  parseMessageSpec,
  StewardError,
  ValidationError,
  type AckReply,
  type InboxState,
  type MessageKind,
  type MessageSpec,
} from '@steward/core';
import { parseWatch, watchRequestFields, type WatchEvent, type WatchRequest } from './watchProtocol.js';
import { cancelRequestFields, parseCancel, type CancelRequest, type CancelResult } from './cancelProtocol.js';
import { parseRetry, retryRequestFields, type RetryItem, type RetryRequest } from './retryProtocol.js';

/** Longest request line the node reads, in bytes; a longer one is answered with an error and skipped. */
export const maxRequestLineBytes = 8 * 1024 * 1024;
/** Most messages one `send` request may carry. */
export const maxMessagesPerRequest = 10_000;
/** Most jobs one `jobs` request may list. */
export const maxJobsLimit = 1000;
/** Jobs listed when a `jobs` request gives no limit. */
export const defaultJobsLimit = 20;

/** The operations of the local API. */
export const SocketOp = {
  /** Journal and send messages; optionally stream their progress and results. */
  Send: 'send',
  /** Look one message up in the journal. */
  Status: 'status',
  /** List recent messages this node sent. */
  Jobs: 'jobs',
  /** List the nodes registry (on the central node). */
  Nodes: 'nodes',
  /** Who is this node. */
  Ping: 'ping',
  /** Follow the node's live events (see watchProtocol.ts). */
  Watch: 'watch',
  /** Take back messages this node sent (see cancelProtocol.ts). */
  Cancel: 'cancel',
  /** Look up messages this node sent, to send them again (see retryProtocol.ts). */
  Retry: 'retry',
} as const;
/** The operations of the local API. */
export type SocketOp = (typeof SocketOp)[keyof typeof SocketOp];

/** A request id chosen by the client, echoed in every response to the request. */
export type ReqId = string | number;

/** `send`: messages to journal and deliver. */
export interface SendRequest {
  op: 'send';
  reqId?: ReqId;
  /** Validated messages, in the order given. */
  messages: MessageSpec[];
  /** Warnings about ignored fields, by message index. */
  warnings: MessageWarning[];
  /** Stream `progress` and `result` responses until every message has finished. @defaultValue false */
  wait: boolean;
  /**
   * Seconds to wait, after delivery, for the reply message of a request method
   * (CLICommandRequest, ECHORequest); -1 waits for ever.
   * @defaultValue the message's methodTimeout + 60, or for ever when methodTimeout is -1
   */
  replyTimeout?: number;
}

/** `status`: one message by id (or its unambiguous first or last 6 or more characters). */
export interface StatusRequest {
  op: 'status';
  reqId?: ReqId;
  id: string;
}

/** The states `jobs` can filter on: the delivery states, plus `open` for every unfinished one. */
export type JobStateFilter = OutboxState | 'open';

/** `jobs`: recent messages sent by this node, newest first. */
export interface JobsRequest {
  op: 'jobs';
  reqId?: ReqId;
  /** Only messages in one of these states. */
  states?: JobStateFilter[];
  /** Only messages to nodes matching this name or glob (`*`, `?`, `[...]`). */
  node?: string;
  /** Only messages of this method. */
  method?: string;
  /** @defaultValue {@link defaultJobsLimit}; at most {@link maxJobsLimit} */
  limit: number;
  /** Include SayHello messages, which are left out unless asked for by `method` or `all`. @defaultValue false */
  all: boolean;
}

/** `nodes`: the registry of nodes seen by SayHello (kept by the central node). */
export interface NodesRequest {
  op: 'nodes';
  reqId?: ReqId;
  /**
   * Seconds since the last SayHello after which a node counts as stale.
   * @defaultValue 3 × this node's sayHelloInterval, at least 10 (90 when it does not say hello)
   */
  staleAfter?: number;
}

/** `ping`: the node's name and version. */
export interface PingRequest {
  op: 'ping';
  reqId?: ReqId;
}

/** Every request, parsed. */
export type SocketRequest =
  SendRequest | StatusRequest | JobsRequest | NodesRequest | PingRequest | WatchRequest | CancelRequest | RetryRequest;
export type { CancelRequest, CancelResult, RetryRequest, RetryItem };

/** A warning about one message of a `send` request. */
export interface MessageWarning {
  /** Position of the message in `messages`, from 0. */
  index: number;
  warning: string;
}

/** One wrong field of a request; `index` is set for a field of `messages[index]`. */
export interface RequestProblem {
  index?: number;
  field: string;
  reason: string;
}

/** Why the node answered a request with an `error`. */
export const ErrorCode = {
  /** The line is not JSON, or the request is not valid; nothing was done. */
  BadRequest: 'badRequest',
  /** The line is longer than {@link maxRequestLineBytes}; it was skipped. */
  LineTooLong: 'lineTooLong',
  /** `status`: no message with that id. */
  NotFound: 'notFound',
  /** `status`: the part of an id given matches several messages. */
  Ambiguous: 'ambiguous',
  /** The node failed while handling the request (journal error, bug); see its log. */
  Internal: 'internal',
} as const;
/** Why the node answered a request with an `error`. */
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

/** A request that cannot be served; the node answers it with an `error` response. */
export class RequestError extends StewardError {
  readonly code: ErrorCode;
  readonly problems: RequestProblem[];
  readonly reqId: ReqId | undefined;
  constructor(code: ErrorCode, message: string, opts: { problems?: RequestProblem[]; reqId?: ReqId | undefined } & ErrorOptions = {}) {
    super(message, opts);
    this.name = 'RequestError';
    this.code = code;
    this.problems = opts.problems ?? [];
    this.reqId = opts.reqId;
  }
}

/** What `steward send` reports per message: the outcome, not the delivery machine's state. */
export const SendStatus = {
  /** The method ran and succeeded (Command kinds, and request methods whose reply came). */
  Succeeded: 'succeeded',
  Failed: 'failed',
  TimedOut: 'timedOut',
  Interrupted: 'interrupted',
  Rejected: 'rejected',
  /** An Event without a reply method was ACKed: stored durably on the receiver. */
  Received: 'received',
  /** A NACK kind was handed to the broker; nothing more is known. */
  Sent: 'sent',
  /** Retries used up without an ACK: the node is unreachable. */
  Expired: 'expired',
  /** Delivered, but the reply message did not come within the reply timeout. */
  NoReply: 'noReply',
  /** Cancelled (steward cancel): withdrawn before it was sent, or stopped on the receiver. */
  Cancelled: 'cancelled',
} as const;
/** What `steward send` reports per message. */
export type SendStatus = (typeof SendStatus)[keyof typeof SendStatus];

/** How a {@link SendStatus} counts in a summary and in exit codes. */
export type SendOutcome = 'ok' | 'failed' | 'expired' | 'noReply';

/** Sorts a status into ok, failed (on the node), expired, or no reply. */
export function outcomeOf(status: SendStatus): SendOutcome {
  switch (status) {
    case SendStatus.Succeeded:
    case SendStatus.Received:
    case SendStatus.Sent:
      return 'ok';
    case SendStatus.Expired:
      return 'expired';
    // The operator took it back: it did not do its work, like a failure on the node.
    case SendStatus.Cancelled:
      return 'failed';
    case SendStatus.NoReply:
      return 'noReply';
    default:
      return 'failed';
  }
}

/** The final result of one message. */
export interface SendResult {
  id: string;
  toNode: string;
  method: string;
  status: SendStatus;
  /** Sends made. */
  attempts: number;
  /** The command's output, or the reply message's text. */
  output?: string;
  /** The command's exit code, when known. */
  exitCode?: number | null;
  /** Why it failed, in words. */
  error?: string;
  /** The id of the reply message (request methods). */
  replyId?: string;
}

/** One accepted message, in `accepted`. */
export interface AcceptedMessage {
  index: number;
  id: string;
  toNode: string;
  method: string;
  subject: string;
}

/** The sending side of a message, in a `status` response. */
export interface SentStatus {
  id: string;
  subject: string;
  toNode: string;
  fromNode: string;
  method: string;
  commandOrEvent: MessageKind;
  data: string[];
  state: OutboxState;
  attempts: number;
  createdAt: number;
  updatedAt: number;
  finishedAt?: number;
  lastError?: string;
  /** The message's deadline (from its `ttl`), milliseconds since the epoch; absent: none. */
  deadline?: number;
  /** The ACK. */
  ack?: AckReply;
  /** The outcome, once known (see {@link SendResult}). */
  result?: SendResult;
}

/** The receiving side of a message, in a `status` response. */
export interface ReceivedStatus {
  id: string;
  subject: string;
  fromNode: string;
  method: string;
  commandOrEvent: MessageKind;
  data: string[];
  state: InboxState;
  receivedAt: number;
  startedAt?: number;
  finishedAt?: number;
  result?: AckReply;
  /** The id of the request this message answers. */
  previousMessageId?: string;
}

/** One message in a `jobs` response. */
export interface JobSummary {
  id: string;
  toNode: string;
  method: string;
  subject: string;
  state: OutboxState;
  attempts: number;
  createdAt: number;
  finishedAt?: number;
  /** The ACK's status, when delivered with an ACK. */
  ackStatus?: string;
  exitCode?: number | null;
  lastError?: string;
}

/** One node of the registry, in a `nodes` response. */
export interface NodeStatus {
  name: string;
  /** Whether its last SayHello is more recent than `staleAfter`. */
  alive: boolean;
  lastSeen: number;
  firstSeen: number;
  /** Seconds since the last SayHello. */
  ageSeconds: number;
  /** The steward version it reported, when it said `steward <version>`. */
  version?: string;
  /** What its SayHello said. */
  info: string;
  /**
   * The facts its SayHello told (`os`, `distro`, `arch`, `kernel`,
   * `version`, `tag:<name>`): what `--where` matches. The node's own claims.
   */
  facts?: Record<string, string>;
  /**
   * Whether central approved its key: set only on a node that checks
   * signatures (a node without an approved key can say hello, but is not
   * matched by `--where`).
   */
  keyApproved?: boolean;
}

/** Every response line, discriminated on `type`. */
export type SocketResponse =
  | { type: 'accepted'; reqId?: ReqId; messages: AcceptedMessage[]; warnings?: MessageWarning[] }
  | { type: 'progress'; reqId?: ReqId; id: string; toNode: string; state: string; attempts: number; lastError?: string }
  | ({ type: 'result'; reqId?: ReqId } & SendResult)
  | { type: 'done'; reqId?: ReqId; total: number; ok: number; failed: number; expired: number; noReply: number }
  | { type: 'status'; reqId?: ReqId; id: string; sent?: SentStatus; received?: ReceivedStatus }
  | { type: 'jobs'; reqId?: ReqId; node: string; jobs: JobSummary[] }
  | { type: 'nodes'; reqId?: ReqId; node: string; central: string; isCentral: boolean; staleAfter: number; nodes: NodeStatus[] }
  | { type: 'pong'; reqId?: ReqId; node: string; version: string; central: string; pid: number }
  | { type: 'watching'; reqId?: ReqId; node: string }
  | ({ type: 'event'; reqId?: ReqId } & WatchEvent)
  | { type: 'dropped'; reqId?: ReqId; count: number; since: number }
  | { type: 'cancel'; reqId?: ReqId; results: CancelResult[] }
  | { type: 'retry'; reqId?: ReqId; items: RetryItem[] }
  | { type: 'error'; reqId?: ReqId; code: ErrorCode; error: string; problems?: RequestProblem[] };

/** The response types. */
export type SocketResponseType = SocketResponse['type'];

const ops = new Set<string>(Object.values(SocketOp));
const outboxStates = new Set<string>(Object.values(OutboxState));
const requestFields: Record<SocketOp, ReadonlySet<string>> = {
  send: new Set(['op', 'reqId', 'messages', 'wait', 'replyTimeout']),
  status: new Set(['op', 'reqId', 'id']),
  jobs: new Set(['op', 'reqId', 'state', 'node', 'method', 'limit', 'all']),
  nodes: new Set(['op', 'reqId', 'staleAfter']),
  ping: new Set(['op', 'reqId']),
  watch: watchRequestFields,
  cancel: cancelRequestFields,
  retry: retryRequestFields,
};

/**
 * Parses one request line.
 *
 * @throws {@link RequestError} (code `badRequest`) naming every wrong field;
 *   its `reqId` is set when the line had a valid one, so the error can be routed.
 */
export function parseRequestLine(line: string): SocketRequest {
  let raw: unknown;
  try {
    raw = JSON.parse(line);
  } catch (err) {
    throw new RequestError(ErrorCode.BadRequest, `request is not JSON: ${(err as Error).message}`, { cause: err });
  }
  return parseRequest(raw);
}

/**
 * Validates a request object (see {@link parseRequestLine}). Unknown fields
 * are refused, so a misspelt option is never silently ignored.
 *
 * @throws {@link RequestError}
 */
export function parseRequest(raw: unknown): SocketRequest {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw))
    throw new RequestError(ErrorCode.BadRequest, 'a request must be a JSON object with an "op"');
  const obj = raw as Record<string, unknown>;
  const problems: RequestProblem[] = [];
  let reqId: ReqId | undefined;
  if (obj.reqId !== undefined) {
    if ((typeof obj.reqId === 'string' && obj.reqId.length <= 128) || (typeof obj.reqId === 'number' && Number.isSafeInteger(obj.reqId)))
      reqId = obj.reqId;
    else problems.push({ field: 'reqId', reason: 'must be a string of at most 128 characters or a whole number' });
  }
  const fail = (): never => {
    const text = problems.map((p) => `${p.index !== undefined ? `messages[${p.index}]: ` : ''}field "${p.field}": ${p.reason}`);
    throw new RequestError(ErrorCode.BadRequest, text.join('; '), { problems, reqId });
  };
  if (typeof obj.op !== 'string' || !ops.has(obj.op)) {
    problems.push({ field: 'op', reason: `must be one of ${[...ops].join(', ')}, got ${describe(obj.op)}` });
    return fail();
  }
  const op = obj.op as SocketOp;
  for (const key of Object.keys(obj)) {
    if (!requestFields[op].has(key)) problems.push({ field: key, reason: `unknown field for op "${op}"` });
  }
  let req: SocketRequest;
  switch (op) {
    case 'send':
      req = parseSend(obj, problems);
      break;
    case 'status': {
      const id = typeof obj.id === 'string' ? obj.id.trim() : '';
      if (id === '' || id.length > 128) problems.push({ field: 'id', reason: 'must be a message id (a non-empty string)' });
      req = { op, id };
      break;
    }
    case 'jobs':
      req = parseJobs(obj, problems);
      break;
    case 'nodes': {
      const staleAfter = positiveNumber(obj.staleAfter, 'staleAfter', problems);
      req = staleAfter === undefined ? { op } : { op, staleAfter };
      break;
    }
    case 'ping':
      req = { op };
      break;
    case 'watch':
      req = parseWatch(obj, problems);
      break;
    case 'cancel':
      req = parseCancel(obj, problems);
      break;
    case 'retry':
      req = parseRetry(obj, problems);
      break;
  }
  if (problems.length > 0) return fail();
  if (reqId !== undefined) req.reqId = reqId;
  return req;
}

function parseSend(obj: Record<string, unknown>, problems: RequestProblem[]): SendRequest {
  const messages: MessageSpec[] = [];
  const warnings: MessageWarning[] = [];
  if (!Array.isArray(obj.messages) || obj.messages.length === 0) {
    problems.push({ field: 'messages', reason: 'must be a non-empty array of messages' });
  } else if (obj.messages.length > maxMessagesPerRequest) {
    problems.push({ field: 'messages', reason: `holds ${obj.messages.length} messages; at most ${maxMessagesPerRequest} per request` });
  } else {
    obj.messages.forEach((m: unknown, index) => {
      try {
        const parsed = parseMessageSpec(m);
        messages.push(parsed.spec);
        for (const warning of parsed.warnings) warnings.push({ index, warning });
      } catch (err) {
        if (!(err instanceof ValidationError)) throw err;
        for (const p of err.problems) problems.push({ index, field: p.field, reason: p.reason });
      }
    });
  }
  if (obj.wait !== undefined && typeof obj.wait !== 'boolean') problems.push({ field: 'wait', reason: 'must be true or false' });
  const req: SendRequest = { op: 'send', messages, warnings, wait: obj.wait === true };
  if (obj.replyTimeout !== undefined) {
    if (obj.replyTimeout === -1) req.replyTimeout = -1;
    else {
      const t = positiveNumber(obj.replyTimeout, 'replyTimeout', problems);
      if (t !== undefined) req.replyTimeout = t;
    }
  }
  return req;
}

function parseJobs(obj: Record<string, unknown>, problems: RequestProblem[]): JobsRequest {
  const req: JobsRequest = { op: 'jobs', limit: defaultJobsLimit, all: false };
  if (obj.state !== undefined) {
    const list = typeof obj.state === 'string' ? obj.state.split(',').map((s) => s.trim()) : obj.state;
    if (!Array.isArray(list) || list.length === 0 || !list.every((s) => typeof s === 'string' && (s === 'open' || outboxStates.has(s))))
      problems.push({
        field: 'state',
        reason: `must be one or more of open, ${[...outboxStates].join(', ')} (a string, comma-separated, or an array)`,
      });
    else req.states = list as JobStateFilter[];
  }
  if (obj.node !== undefined) {
    if (typeof obj.node !== 'string' || !/^[A-Za-z0-9_*?[\]!-]{1,64}$/.test(obj.node))
      problems.push({ field: 'node', reason: 'must be a node name or a glob of one (letters, digits, _, -, *, ?, [...])' });
    else req.node = obj.node;
  }
  if (obj.method !== undefined) {
    if (typeof obj.method !== 'string' || !/^[A-Za-z0-9_]{1,64}$/.test(obj.method))
      problems.push({ field: 'method', reason: 'must be a method name' });
    else req.method = obj.method;
  }
  if (obj.limit !== undefined) {
    if (typeof obj.limit !== 'number' || !Number.isInteger(obj.limit) || obj.limit < 1 || obj.limit > maxJobsLimit)
      problems.push({ field: 'limit', reason: `must be a whole number from 1 to ${maxJobsLimit}` });
    else req.limit = obj.limit;
  }
  if (obj.all !== undefined) {
    if (typeof obj.all !== 'boolean') problems.push({ field: 'all', reason: 'must be true or false' });
    else req.all = obj.all;
  }
  return req;
}

function positiveNumber(v: unknown, field: string, problems: RequestProblem[]): number | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0 || v > 31_536_000) {
    problems.push({ field, reason: `must be a number of seconds > 0, got ${describe(v)}` });
    return undefined;
  }
  return v;
}

/**
 * Parses one response line (client side). Only the envelope is checked: an
 * object with a known `type`; the node is trusted for the rest.
 *
 * @throws {@link RequestError} when the line is not a response.
 */
export function parseResponseLine(line: string): SocketResponse {
  let raw: unknown;
  try {
    raw = JSON.parse(line);
  } catch (err) {
    throw new RequestError(ErrorCode.BadRequest, `the node sent a line that is not JSON: ${(err as Error).message}`, { cause: err });
  }
  const types: ReadonlySet<string> = responseTypes;
  if (typeof raw !== 'object' || raw === null || !types.has(String((raw as { type?: unknown }).type)))
    throw new RequestError(ErrorCode.BadRequest, `the node sent a line that is not a response: ${line.slice(0, 200)}`);
  return raw as SocketResponse;
}

const responseTypes: ReadonlySet<SocketResponseType> = new Set<SocketResponseType>([
  'accepted',
  'progress',
  'result',
  'done',
  'status',
  'jobs',
  'nodes',
  'pong',
  'watching',
  'event',
  'dropped',
  'cancel',
  'retry',
  'error',
]);

function describe(v: unknown): string {
  if (v === undefined) return 'nothing';
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'string') return `"${v.slice(0, 40)}"`;
  if (typeof v === 'object') return 'an object';
  if (typeof v === 'number' || typeof v === 'boolean') return `${typeof v} ${v}`;
  return typeof v;
}

/** The `reqId` field of a response to a request that had `reqId` (none otherwise). */
export function withReqId(reqId: ReqId | undefined): { reqId?: ReqId } {
  return reqId === undefined ? {} : { reqId };
}
