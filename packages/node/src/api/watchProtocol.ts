/**
 * The `watch` request of the local API: its filters, the events it streams
 * and which of them count as failures. Pure, and free of the rest of the
 * protocol module (which imports this one), so the node and `steward watch`
 * share one definition without an import cycle.
 */
import { minIdPart } from './idParts.js';

/** A problem with one field of a request (the shape of socketProtocol's RequestProblem). */
interface Problem {
  field: string;
  reason: string;
}

/** `watch`: follow this node's live events until the connection closes. */
export interface WatchRequest {
  op: 'watch';
  reqId?: string | number;
  /** Only messages to nodes matching this name or glob (`*`, `?`, `[...]`). */
  toNode?: string;
  /** Only messages of this method. */
  method?: string;
  /**
   * Only this message (a whole id, or its first or last 6 or more characters),
   * and the messages that answer it (`previousMessageId`).
   */
  id?: string;
  /** Only failures (see {@link isFailureEvent}). @defaultValue false */
  failures: boolean;
}

/** Shortest part of an id (its first or last characters) a watch filter takes: as every request (see idParts). */
export const minWatchIdPart = minIdPart;

/** A message this node sends changed state; `accepted` is its entry into the outbox. */
export interface DeliveryWatchEvent {
  kind: 'delivery';
  time: number;
  id: string;
  subject: string;
  fromNode: string;
  toNode: string;
  method: string;
  /** accepted, queued, sending, awaitingAck, retryWait, delivered or expired. */
  state: string;
  /** Sends made so far (not set on `accepted`). */
  attempts?: number;
  /** `accepted`: the input it came from (`inmsg.txt`, `socket`, `startup/<file>`, ...). */
  source?: string;
  /** `delivered`: the ACK's status (succeeded, failed, received, ...). */
  status?: string;
  exitCode?: number | null;
  /** The last send's error, or the ACK's error. */
  error?: string;
  /** The request this message answers. */
  previousMessageId?: string;
}

/** A message this node received changed state. */
export interface ExecutionWatchEvent {
  kind: 'execution';
  time: number;
  id: string;
  subject: string;
  fromNode: string;
  toNode: string;
  method: string;
  /** received, running, succeeded, failed, timedOut, rejected, interrupted, duplicate or replied. */
  state: string;
  /** The result's status, once known. */
  status?: string;
  exitCode?: number | null;
  error?: string;
  previousMessageId?: string;
}

/** A failure reported to the node's error kernel (a refused message, an expiry, a crash). */
export interface FailureWatchEvent {
  kind: 'failure';
  time: number;
  /** The error kernel's kind: badInput, rejected, expired, actorCrashed, ... */
  failureKind: string;
  text: string;
  /** The message it concerns. */
  id?: string;
  subject?: string;
  /** The node it concerns (the sender of a refused message, the target of an expired one). */
  peer?: string;
}

/** A supervised process failed, is restarting, restarted, or escalated. */
export interface ProcessWatchEvent {
  kind: 'process';
  time: number;
  /** failed, restarting, restarted or escalated. */
  state: string;
  /** `<supervisor>/<child>`, as in steward_actor_restarts_total. */
  process: string;
  restartCount?: number;
  delayMs?: number;
  error?: string;
}

/** One event of the watch stream. */
export type WatchEvent = DeliveryWatchEvent | ExecutionWatchEvent | FailureWatchEvent | ProcessWatchEvent;

/** Result statuses that are not a success. */
const failedStatuses: ReadonlySet<string> = new Set(['failed', 'timedOut', 'rejected', 'interrupted']);

/**
 * Whether `--failures` keeps an event: failures and process failures,
 * expired deliveries, deliveries ACKed with a failed status, and executions
 * that failed, timed out, were rejected or interrupted. A missed ACK that
 * will be retried (`retryWait`) is not one: on a flaky link it is routine,
 * and the delivery's end says how it went.
 */
export function isFailureEvent(e: WatchEvent): boolean {
  switch (e.kind) {
    case 'failure':
      return true;
    case 'process':
      return e.state !== 'restarted';
    case 'delivery':
      return e.state === 'expired' || (e.status !== undefined && failedStatuses.has(e.status));
    case 'execution':
      return failedStatuses.has(e.state) || (e.status !== undefined && failedStatuses.has(e.status));
  }
}

/** The filter of a watch request, ready to match events. */
export interface WatchFilter {
  matches(e: WatchEvent): boolean;
}

/**
 * Builds the matcher of a (valid) watch request. Message filters (`toNode`,
 * `method`, `id`) match a failure by the message it names (its id or
 * subject), and leave out process events, which concern no message.
 */
export function watchFilter(req: WatchRequest): WatchFilter {
  const node = req.toNode === undefined ? undefined : nodeGlob(req.toNode);
  const { method, id, failures } = req;
  const messageFilter = node !== undefined || method !== undefined || id !== undefined;
  return {
    matches(e) {
      if (failures && !isFailureEvent(e)) return false;
      if (!messageFilter) return true;
      if (e.kind === 'process') return false;
      let toNode: string | undefined;
      let m: string | undefined;
      let ids: (string | undefined)[];
      if (e.kind === 'failure') {
        const parts = e.subject?.split('.');
        toNode = parts?.[0];
        m = parts?.[2];
        ids = [e.id];
      } else {
        toNode = e.toNode;
        m = e.method;
        ids = [e.id, e.previousMessageId];
      }
      if (node && (toNode === undefined || !node.test(toNode))) return false;
      if (method !== undefined && m !== method) return false;
      if (id !== undefined && !ids.some((x) => x !== undefined && (x.startsWith(id) || x.endsWith(id)))) return false;
      return true;
    },
  };
}

/** A node-name glob (already checked to hold only name characters and `*?[]!`) as an anchored expression. */
function nodeGlob(glob: string): RegExp {
  const re = glob.replace(/\*/g, '.*').replace(/\?/g, '.').replace(/\[!/g, '[^');
  return new RegExp(`^${re}$`);
}

/** The fields a watch request may have. */
export const watchRequestFields: ReadonlySet<string> = new Set(['op', 'reqId', 'toNode', 'method', 'id', 'failures']);

/** Validates the fields of a watch request (`op` and `reqId` are the caller's), adding what is wrong to `problems`. */
export function parseWatch(obj: Record<string, unknown>, problems: Problem[]): WatchRequest {
  const req: WatchRequest = { op: 'watch', failures: false };
  if (obj.toNode !== undefined) {
    if (typeof obj.toNode !== 'string' || !/^[A-Za-z0-9_*?[\]!-]{1,64}$/.test(obj.toNode) || !balanced(obj.toNode))
      problems.push({ field: 'toNode', reason: 'must be a node name or a glob of one (letters, digits, _, -, *, ?, [...])' });
    else req.toNode = obj.toNode;
  }
  if (obj.method !== undefined) {
    if (typeof obj.method !== 'string' || !/^[A-Za-z0-9_]{1,64}$/.test(obj.method))
      problems.push({ field: 'method', reason: 'must be a method name' });
    else req.method = obj.method;
  }
  if (obj.id !== undefined) {
    const id = typeof obj.id === 'string' ? obj.id.trim() : '';
    if (id.length < minWatchIdPart || id.length > 128 || !/^[A-Za-z0-9_.:-]+$/.test(id))
      problems.push({ field: 'id', reason: `must be a message id, or its first or last ${minWatchIdPart} or more characters` });
    else req.id = id;
  }
  if (obj.failures !== undefined) {
    if (typeof obj.failures !== 'boolean') problems.push({ field: 'failures', reason: 'must be true or false' });
    else req.failures = obj.failures;
  }
  return req;
}

/** Whether every `[` of a glob is closed before the next `[`, and no `]` stands alone. */
function balanced(glob: string): boolean {
  let open = false;
  for (const ch of glob) {
    if (ch === '[') {
      if (open) return false;
      open = true;
    } else if (ch === ']') {
      if (!open) return false;
      open = false;
    }
  }
  return !open;
}
