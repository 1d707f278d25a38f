/**
 * The reply guard: what a node does with a reply is decided by the request
 * it sent itself, never by the reply.
 *
 * A reply (CLICommandReply, ECHOReply, REQPong, or any message naming one of
 * this node's requests in `previousMessageId` with the reply method that
 * request asked for) is taken only when
 * - this node's journal holds the request (its own outbox record),
 * - the reply comes from the node the request went to,
 * - and the request still waits for a reply: one reply per request, except
 *   for streams and schedules (see `manyReplies` in the method catalogue).
 *
 * What then runs is rebuilt from the request: the reply method's arguments,
 * `directory`, `fileName` and `methodTimeout` are the request's, and a reply
 * never asks for a reply of its own. Only the output (`data`, or
 * `previousOutput` when the request gave `replyMethodArgs`) comes from the
 * replying node. Otherwise a node with an approved key and no rights could
 * send a "reply" naming `replyMethod: CLICommand` and have the receiver run
 * it, signed with the receiver's own key.
 *
 * A message of a reply-only method that answers nothing of ours is refused.
 * Any other message that names a request is an ordinary message of its
 * sender, checked by the ACL like every other. @internal
 */
import { methodInfo, type Journal, type OutboxRecord, type WireMessage } from '@steward/core';
import { replyMethodOf } from '../execution/replyMessage.js';

/** What the guard decided about a received message. */
export type ReplyVerdict =
  /** Not a reply to this node: an ordinary message of its sender. */
  | { kind: 'message' }
  /** A reply to `request`; `message` is what runs (rebuilt from the request). */
  | { kind: 'reply'; request: OutboxRecord; message: WireMessage }
  /** A reply that must not be taken. */
  | { kind: 'refused'; reason: string };

/**
 * Decides what `m` is. `claimed(requestId)` names the reply already being
 * taken for a request but not journaled yet (two copies racing).
 */
export function replyVerdict(journal: Journal, m: WireMessage, claimed: (requestId: string) => string | undefined): ReplyVerdict {
  const onlyAsReply = methodInfo(m.method)?.onlyAsReply === true;
  const prev = m.previousMessageId;
  const request = prev === undefined ? undefined : journal.getOutbox(prev);
  if (!request) {
    if (!onlyAsReply) return { kind: 'message' };
    return {
      kind: 'refused',
      reason:
        prev === undefined
          ? `${m.method} is only taken as the reply to a request, and this one names none`
          : `${m.method} answers message ${prev}, which this node never sent`,
    };
  }
  const r = request.message;
  const expected = replyMethodOf(r);
  if (m.method !== expected) {
    if (!onlyAsReply) return { kind: 'message' };
    return { kind: 'refused', reason: `${m.method} answers ${r.method} ${r.id}, which asked for ${expected ?? 'no reply'}` };
  }
  if (m.fromNode !== r.toNode)
    return { kind: 'refused', reason: `${m.method} answers ${r.method} ${r.id}, which went to "${r.toNode}", not to "${m.fromNode}"` };
  const many = methodInfo(r.method)?.manyReplies === true || r.schedule !== undefined;
  if (!many) {
    const taken = journal.findReplyTo(r.id)?.id ?? claimed(r.id);
    if (taken !== undefined && taken !== m.id)
      return { kind: 'refused', reason: `${m.method} answers ${r.method} ${r.id}, which was answered already (by ${taken})` };
  }
  return { kind: 'reply', request, message: answerOf(m, r) };
}

/** The message that runs for reply `m` to request `r`: the request's settings, the reply's output. */
function answerOf(m: WireMessage, r: WireMessage): WireMessage {
  const a: WireMessage = {
    id: m.id,
    fromNode: m.fromNode,
    toNode: m.toNode,
    method: m.method,
    commandOrEvent: m.commandOrEvent,
    createdAt: m.createdAt,
    timeout: m.timeout,
    retries: m.retries,
    methodTimeout: r.replyMethodTimeout ?? m.methodTimeout,
    previousMessageId: r.id,
    data: r.replyMethodArgs ?? m.data,
  };
  // With replyMethodArgs the output travels in previousOutput; the arguments are the request's own.
  if (r.replyMethodArgs !== undefined) a.previousOutput = m.previousOutput ?? '';
  if (r.directory !== undefined) a.directory = r.directory;
  if (r.fileName !== undefined) a.fileName = r.fileName;
  if (m.follows !== undefined) a.follows = m.follows;
  return a;
}
