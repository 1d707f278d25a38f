/**
 * Reply messages: what a receiver sends back with a method's output.
 *
 * A reply swaps the direction (to the request's `fromNode`, or its
 * `replyToNode`), takes the request's `replyMethod` (or the method's default
 * from the catalogue) as its method, and carries the request's `directory`,
 * `fileName`, `replyMethodTimeout`, `replyACKTimeout` and `replyRetries`.
 * Its `data` is the output, as in the seed (`CLICommandReply`); when the
 * request gave `replyMethodArgs`, those become the reply's `data` and the
 * output travels in `previousOutput` (the value of `{{STEWARD_DATA}}`).
 *
 * A reply taken by the requester never asks for a reply of its own (the
 * reply guard rebuilds it from the request), so replies never bounce back and
 * forth. A reply to a third node (`replyToNode`) goes only where the
 * requester may send that method itself (see NodeServices.relayRefusal). @internal
 */
import { kindIsCommand, methodInfo, subjectOf, type MessageSpec, type OutboxSubmission, type WireMessage } from '@steward/core';
import { FailureKind } from '../node/errorKernel.js';
import type { NodeServices } from '../node/services.js';

/** The method of the reply `m` asks for, or undefined when it gets none. */
export function replyMethodOf(m: WireMessage): string | undefined {
  // Command kinds answer in the ACK, as in the seed.
  if (kindIsCommand(m.commandOrEvent)) return undefined;
  // A replyMethod that means "no reply" (REQNone; the method table says which).
  if (m.replyMethod !== undefined) return methodInfo(m.replyMethod)?.meansNoReply === true ? undefined : m.replyMethod;
  if (m.previousMessageId !== undefined) return undefined;
  return methodInfo(m.method)?.replyMethod;
}

/**
 * The reply message carrying `text` for request `m`, or undefined when `m`
 * asks for no reply. `sourceKey` makes queueing it idempotent.
 */
export function buildReply(s: NodeServices, m: WireMessage, text: string, sourceKey: string): OutboxSubmission | undefined {
  const method = replyMethodOf(m);
  if (method === undefined) return undefined;
  const args = m.replyMethodArgs;
  const toNode = m.replyToNode ?? m.fromNode;
  if (toNode !== m.fromNode) {
    // Sent on the requester's behalf to a third node, signed with this node's key: only what the requester may send itself.
    const refusal = s.relayRefusal?.(m.fromNode, method, toNode, args ?? [text]);
    if (refusal !== undefined) {
      s.errors.report({
        kind: FailureKind.Rejected,
        text: `no ${method} reply to ${toNode} for ${m.method} from ${m.fromNode}: ${refusal}`,
        messageId: m.id,
        peer: m.fromNode,
      });
      return undefined;
    }
  }
  const spec: MessageSpec = {
    toNode,
    method,
    // replyACKTimeout 0: the reply goes without ACK.
    commandOrEvent: m.requestTimeout === 0 ? 'EventNACK' : 'EventACK',
    data: args ?? [text],
  };
  if (m.requestTimeout !== undefined && m.requestTimeout > 0) spec.timeout = m.requestTimeout;
  if (m.requestRetries !== undefined) spec.retries = m.requestRetries;
  if (m.replyMethodTimeout !== undefined) spec.methodTimeout = m.replyMethodTimeout;
  if (m.directory !== undefined) spec.directory = m.directory;
  if (m.fileName !== undefined) spec.fileName = m.fileName;
  const message: WireMessage = { ...s.toWire(spec), previousMessageId: m.id };
  if (args !== undefined) message.previousOutput = text;
  return { message, subject: subjectOf(spec), sourceKey };
}

/** Journals messages built by this node (replies, copy chunks), audits them and wakes their publishers. */
export async function queueMessages(s: NodeServices, items: OutboxSubmission[], source: string): Promise<void> {
  if (items.length === 0) return;
  const results = await s.journal.submit(items);
  const fresh = items.filter((_, i) => !results[i]!.duplicate);
  s.audit.append(fresh.map((f) => ({ event: 'accepted' as const, message: f.message, subject: f.subject, source })));
  for (const f of fresh) s.metrics.accepted.inc({ method: f.message.method });
  s.onNewMessages([...new Set(items.map((i) => i.subject))]);
}

/**
 * The `emit` of a streaming execution: each call sends one reply, in call
 * order. The keys include the run's start time, so a run resumed after a
 * restart never collides with the replies of the first run.
 */
export function replyEmitter(s: NodeServices, m: WireMessage): (text: string) => Promise<void> {
  const run = Date.now();
  let n = 0;
  let chain: Promise<void> = Promise.resolve();
  return (text: string) => {
    const key = `reply:${m.id}:${run}:${n++}`;
    chain = chain.then(async () => {
      const reply = buildReply(s, m, text, key);
      if (reply) await queueMessages(s, [reply], 'reply');
    });
    return chain;
  };
}

/** The text a sink method writes: the output of the request it answers, else its data. */
export function textOf(m: WireMessage): string {
  return m.previousOutput ?? m.data.join('');
}
