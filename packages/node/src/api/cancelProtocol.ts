/**
 * The `cancel` request of the local API (`steward cancel`) and its answer.
 * Pure, and free of the rest of the protocol module (which imports this
 * one), so the node and the command share one definition without a cycle.
 */

/** A problem with one field of a request (the shape of socketProtocol's RequestProblem). */
interface Problem {
  field: string;
  reason: string;
}

/** `cancel`: take back messages this node sent. */
export interface CancelRequest {
  op: 'cancel';
  reqId?: string | number;
  /** Message ids (or their unambiguous first or last 6 or more characters); empty: select by `toNode`/`state`. */
  ids: string[];
  /** With no ids: only unfinished messages to nodes matching this name or glob. */
  toNode?: string;
  /** With no ids: `queued` (never sent) or `open` (every unfinished one). @defaultValue open */
  state?: 'queued' | 'open';
}

/** What happened to one message. */
export interface CancelResult {
  id: string;
  toNode?: string;
  method?: string;
  /**
   * `withdrawn`: never sent, taken out of the outbox (it ends `cancelled`);
   * `toReceiver`: it was sent, so the receiver is told (a `Cancel` message,
   * `cancelId`) and it is not resent; `finished`: it had ended (`state`),
   * nothing changed; `unknown`: not a message this node sent.
   */
  outcome: 'withdrawn' | 'toReceiver' | 'finished' | 'unknown';
  /** For `finished`: its final delivery state, and the receiver's result status when it answered. */
  state?: string;
  status?: string;
  /** For `toReceiver`: the id of the Cancel message sent to the receiver. */
  cancelId?: string;
}

/** The fields a `cancel` request may have. */
export const cancelRequestFields: ReadonlySet<string> = new Set(['op', 'reqId', 'ids', 'toNode', 'state']);

/** Validates the fields of a `cancel` request. */
export function parseCancel(obj: Record<string, unknown>, problems: Problem[]): CancelRequest {
  const req: CancelRequest = { op: 'cancel', ids: [] };
  if (obj.ids !== undefined) {
    if (
      !Array.isArray(obj.ids) ||
      obj.ids.length > 10_000 ||
      !obj.ids.every((id) => typeof id === 'string' && /^[A-Za-z0-9_.:-]{1,128}$/.test(id))
    )
      problems.push({ field: 'ids', reason: 'must be an array of at most 10000 message ids' });
    else req.ids = obj.ids as string[];
  }
  if (obj.toNode !== undefined) {
    if (typeof obj.toNode !== 'string' || !/^[A-Za-z0-9_*?[\]!-]{1,64}$/.test(obj.toNode))
      problems.push({ field: 'toNode', reason: 'must be a node name or a glob of one' });
    else req.toNode = obj.toNode;
  }
  if (obj.state !== undefined) {
    if (obj.state !== 'queued' && obj.state !== 'open') problems.push({ field: 'state', reason: 'must be "queued" or "open"' });
    else req.state = obj.state;
  }
  if (req.ids.length === 0 && req.toNode === undefined && req.state === undefined)
    problems.push({ field: 'ids', reason: 'name message ids, or select them with toNode and/or state' });
  if (req.ids.length > 0 && (req.toNode !== undefined || req.state !== undefined))
    problems.push({ field: 'ids', reason: 'name ids, or select with toNode/state, not both' });
  return req;
}
