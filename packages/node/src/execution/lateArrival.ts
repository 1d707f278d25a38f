/**
 * Message deadlines on the receiving side: a message whose `deadline` (its
 * sender's `ttl`) has passed when it arrives is refused, not run late. Its
 * sender stops sending at the deadline, so this catches what was on its way
 * (or held by a slow link) when the deadline passed, and a sender whose
 * clock is behind this node's.
 *
 * The deadline is the sender's clock's: with clocks out of sync by more than
 * the slack a message can be refused early (this node's clock ahead) or
 * taken late (behind). Signed messages cannot have it moved: it is part of
 * what the signature covers.
 */
import { methodInfo, ResultStatus, type AckReply, type WireMessage } from '@steward/core';
import { deadlineCounter, deadlinePassed } from '../delivery/deadline.js';
import { FailureKind } from '../node/errorKernel.js';
import type { NodeServices } from '../node/services.js';

/**
 * Refuses `m`, which arrived on `subject`, when its deadline has passed:
 * answers `rejected` through `answer` (when the sender waits for an ACK),
 * reports and counts it, and returns true. Returns false when it may run.
 * Call it for new messages only: a resend of one already received is
 * answered from the journal as always.
 */
export function refusedAsLate(s: NodeServices, m: WireMessage, subject: string, answer: (ack: AckReply) => void): boolean {
  const now = Date.now();
  if (!deadlinePassed(m, now)) return false;
  const error = `deadline passed: the message had to run by ${new Date(m.deadline!).toISOString()} (its ttl), it arrived at ${new Date(now).toISOString()} (this node's clock); not run`;
  deadlineCounter(s.metrics).inc({ method: m.method, side: 'receiver' });
  s.errors.report({
    kind: FailureKind.Rejected,
    text: `refused ${m.method} from ${m.fromNode} on ${subject}: ${error}`,
    messageId: m.id,
    subject,
    peer: m.fromNode,
    localOnly: methodInfo(m.method)?.errorReport === true,
  });
  answer({ id: m.id, node: s.config.node, status: ResultStatus.Rejected, error });
  return true;
}
