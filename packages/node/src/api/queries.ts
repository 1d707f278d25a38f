/**
 * The read-only requests of the local API (`status`, `jobs`, `nodes`):
 * answers built from the node's journal.
 */
import { methodsWhere, type InboxRecord, type OutboxRecord } from '@steward/core';
import { parseFacts } from '../node/facts.js';
import type { NodeServices } from '../node/services.js';
import { KeyStatus, readRegistry } from '../security/keyRegistry.js';
import { expectsReplyMessage, sentResult, type SentFacts } from './sendResult.js';
import {
  ErrorCode,
  RequestError,
  withReqId,
  type JobsRequest,
  type NodesRequest,
  type ReceivedStatus,
  type SentStatus,
  type SocketResponse,
  type StatusRequest,
} from './socketProtocol.js';
import { minIdPart } from './idParts.js';

/**
 * Seconds after which a node that has not said hello counts as stale, unless
 * the request says: three missed hellos, at least 10 s.
 */
export function defaultStaleAfter(sayHelloInterval: number): number {
  return sayHelloInterval > 0 ? Math.max(3 * sayHelloInterval, 10) : 90;
}

/** `status`: what the journal knows of one message (by id, or its first or last 6 or more characters). */
export function statusOf(s: NodeServices, req: StatusRequest): SocketResponse {
  const j = s.journal;
  let id = req.id;
  if (!j.getOutbox(id) && !j.getInbox(id)) {
    const ids = id.length >= minIdPart ? j.findIdsByPart(id, 5) : [];
    if (ids.length > 1)
      throw new RequestError(ErrorCode.Ambiguous, `id "${id}" matches several messages: ${ids.join(', ')}`, { reqId: req.reqId });
    if (ids.length === 0)
      throw new RequestError(
        ErrorCode.NotFound,
        `no message with id ${id} in the journal of node ${s.config.node} (finished messages are kept ${s.config.journalRetentionDays} days)`,
        { reqId: req.reqId },
      );
    id = ids[0]!;
  }
  const out = j.getOutbox(id);
  const inb = j.getInbox(id);
  return {
    type: 'status',
    ...withReqId(req.reqId),
    id,
    ...(out ? { sent: sentStatus(s, out) } : {}),
    ...(inb ? { received: receivedStatus(inb) } : {}),
  };
}

/** A message this node sent, as `status` shows it. */
function sentStatus(s: NodeServices, rec: OutboxRecord): SentStatus {
  const m = rec.message;
  const facts: SentFacts = {
    message: m,
    state: rec.state,
    attempts: rec.attempts,
    ...(rec.reply ? { ack: rec.reply } : {}),
    ...(rec.lastError !== undefined ? { lastError: rec.lastError } : {}),
  };
  const reply = rec.state === 'delivered' && expectsReplyMessage(m) ? s.journal.findReplyTo(rec.id) : undefined;
  const result = sentResult(facts, reply?.message);
  return {
    id: rec.id,
    subject: rec.subject,
    toNode: m.toNode,
    fromNode: m.fromNode,
    method: m.method,
    commandOrEvent: m.commandOrEvent,
    data: m.data,
    state: rec.state,
    attempts: rec.attempts,
    createdAt: rec.createdAt,
    updatedAt: rec.updatedAt,
    ...(rec.finishedAt !== undefined ? { finishedAt: rec.finishedAt } : {}),
    ...(rec.lastError !== undefined ? { lastError: rec.lastError } : {}),
    ...(m.deadline !== undefined ? { deadline: m.deadline } : {}),
    ...(rec.reply ? { ack: rec.reply } : {}),
    ...(result ? { result } : {}),
  };
}

/** `jobs`: the messages this node sent most recently. */
export function jobsOf(s: NodeServices, req: JobsRequest): SocketResponse {
  const recs = s.journal.recentOutbox({
    ...(req.states ? { states: req.states } : {}),
    ...(req.node !== undefined ? { toNode: req.node } : {}),
    ...(req.method !== undefined ? { method: req.method } : {}),
    // Liveness messages (SayHello) go out every few seconds: they would bury the operator's own messages.
    excludeMethods: req.all || req.method !== undefined ? [] : methodsWhere('liveness'),
    limit: req.limit,
  });
  return {
    type: 'jobs',
    ...withReqId(req.reqId),
    node: s.config.node,
    jobs: recs.map((r) => ({
      id: r.id,
      toNode: r.message.toNode,
      method: r.message.method,
      subject: r.subject,
      state: r.state,
      attempts: r.attempts,
      createdAt: r.createdAt,
      ...(r.finishedAt !== undefined ? { finishedAt: r.finishedAt } : {}),
      ...(r.reply ? { ackStatus: r.reply.status } : {}),
      ...(r.reply?.exitCode !== undefined ? { exitCode: r.reply.exitCode } : {}),
      ...(r.lastError !== undefined ? { lastError: r.lastError } : {}),
    })),
  };
}

/** `nodes`: the nodes that said hello to this one, and whether each is alive. */
export function nodesOf(s: NodeServices, req: NodesRequest): SocketResponse {
  const c = s.config;
  const staleAfter = req.staleAfter ?? defaultStaleAfter(c.sayHelloInterval);
  const now = Date.now();
  // Where signatures count, a node whose key central has not approved is told apart (--where skips it).
  const keys = c.enableSignatureCheck && c.node === c.centralNodeName ? approvalsOf(c.nodeFolder) : undefined;
  return {
    type: 'nodes',
    ...withReqId(req.reqId),
    node: c.node,
    central: c.centralNodeName,
    isCentral: c.node === c.centralNodeName,
    staleAfter,
    nodes: s.journal.listNodes().map((n) => {
      const ageSeconds = Math.max(0, (now - n.lastSeen) / 1000);
      const version = /^steward (\S+)/.exec(n.info)?.[1];
      return {
        name: n.name,
        alive: ageSeconds <= staleAfter,
        lastSeen: n.lastSeen,
        firstSeen: n.firstSeen,
        ageSeconds: Math.round(ageSeconds * 10) / 10,
        ...(version ? { version } : {}),
        info: n.info,
        facts: parseFacts(n.info),
        ...(keys ? { keyApproved: keys[n.name]?.status === KeyStatus.Allowed } : {}),
      };
    }),
  };
}

/** The key register's entries; none when it cannot be read (then no node counts as approved). */
function approvalsOf(nodeFolder: string): Record<string, { status: string }> {
  try {
    return readRegistry(nodeFolder).nodes;
  } catch {
    return {};
  }
}

/** A message this node received, as `status` shows it. */
function receivedStatus(rec: InboxRecord): ReceivedStatus {
  const m = rec.message;
  return {
    id: rec.id,
    subject: rec.subject,
    fromNode: m.fromNode,
    method: m.method,
    commandOrEvent: m.commandOrEvent,
    data: m.data,
    state: rec.state,
    receivedAt: rec.receivedAt,
    ...(rec.startedAt !== undefined ? { startedAt: rec.startedAt } : {}),
    ...(rec.finishedAt !== undefined ? { finishedAt: rec.finishedAt } : {}),
    ...(rec.result ? { result: rec.result } : {}),
    ...(m.previousMessageId !== undefined ? { previousMessageId: m.previousMessageId } : {}),
  };
}
