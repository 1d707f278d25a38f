/**
 * The `retry` request of the local API (`steward retry`): the messages to
 * send again, as the node found them in its journal or audit log. Pure, and
 * free of the rest of the protocol module (which imports this one).
 */

/** A problem with one field of a request (the shape of socketProtocol's RequestProblem). */
interface Problem {
  field: string;
  reason: string;
}

/** `retry`: look up messages this node sent, to send them again as new messages. */
export interface RetryRequest {
  op: 'retry';
  reqId?: string | number;
  /** Message ids (or their unambiguous first or last 6 or more characters). */
  ids: string[];
  /** Also a message that succeeded (or whose outcome is unknown). @defaultValue false */
  force: boolean;
}

/** One message to send again, or why not. */
export interface RetryItem {
  /** The id given (resolved when it was part of an id). */
  id: string;
  /** Where it was found: the journal, or the audit log once the journal pruned it. */
  from?: 'journal' | 'audit';
  /** How it ended: its delivery state, and the receiver's status when it answered. */
  state?: string;
  status?: string;
  /** The message's fields, to send as a new message (absent when refused). */
  spec?: Record<string, unknown>;
  /** Why it is not sent again. */
  refused?: string;
}

/** The fields a `retry` request may have. */
export const retryRequestFields: ReadonlySet<string> = new Set(['op', 'reqId', 'ids', 'force']);

/** Validates the fields of a `retry` request. */
export function parseRetry(obj: Record<string, unknown>, problems: Problem[]): RetryRequest {
  const req: RetryRequest = { op: 'retry', ids: [], force: false };
  if (
    !Array.isArray(obj.ids) ||
    obj.ids.length === 0 ||
    obj.ids.length > 10_000 ||
    !obj.ids.every((id) => typeof id === 'string' && /^[A-Za-z0-9_.:-]{1,128}$/.test(id))
  )
    problems.push({ field: 'ids', reason: 'must be a non-empty array of at most 10000 message ids' });
  else req.ids = obj.ids as string[];
  if (obj.force !== undefined) {
    if (typeof obj.force !== 'boolean') problems.push({ field: 'force', reason: 'must be true or false' });
    else req.force = obj.force;
  }
  return req;
}
