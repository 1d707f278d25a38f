/**
 * The `retry` socket request (`steward retry`): finds each named message in
 * the journal, or in the audit log once the journal has pruned it (its
 * `accepted` line holds the whole wire message, "to recreate the same
 * message"), and says whether it may be sent again. The command then sends
 * the returned fields as new messages with `send`, and reports like `send`.
 *
 * A message still on its way is not sent twice; one that succeeded only with
 * `force`. Expired, failed, timed out, rejected, interrupted and cancelled
 * ones may be.
 */
import { createReadStream, existsSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { OutboxState, type WireMessage } from '@steward/core';
import type { NodeServices } from '../node/services.js';
import { outboxNamed } from './idParts.js';
import { withReqId, type SocketResponse } from './socketProtocol.js';
import type { RetryItem, RetryRequest } from './retryProtocol.js';

/** Receiver statuses that mean it did not do its work: a retry is what the operator wants. */
const failedStatuses = new Set(['failed', 'timedOut', 'rejected', 'interrupted', 'cancelled']);
/** Fields the sending node sets on each message; a new message gets its own. */
const wireOnly = ['id', 'fromNode', 'createdAt', 'follows', 'deadline', 'expiresAt', 'signature'] as const;

/** Serves one `retry` request. */
export async function serveRetry(s: NodeServices, req: RetryRequest, respond: (r: SocketResponse) => void): Promise<void> {
  const items: RetryItem[] = [];
  for (const given of req.ids) items.push(await lookUp(s, given, req.force));
  respond({ type: 'retry', ...withReqId(req.reqId), items });
}

async function lookUp(s: NodeServices, given: string, force: boolean): Promise<RetryItem> {
  const { rec, several } = outboxNamed(s.journal, given);
  if (several) return { id: given, refused: `the id matches several messages: ${several.join(', ')}` };
  if (rec) {
    const open = rec.state !== OutboxState.Delivered && rec.state !== OutboxState.Expired && rec.state !== OutboxState.Cancelled;
    const item: RetryItem = { id: rec.id, from: 'journal', state: rec.state, ...(rec.reply ? { status: rec.reply.status } : {}) };
    if (open) return { ...item, refused: `it is still on its way (${rec.state}): cancel it first (steward cancel ${rec.id})` };
    return decide(item, rec.message, force);
  }
  const found = await fromAudit(s.audit.path, given);
  if (!found) return { id: given, refused: `no message with this id in the journal or the audit log of node ${s.config.node}` };
  return decide({ id: found.message.id, from: 'audit', ...found.end }, found.message, force);
}

/** Refuses a message that succeeded (or whose end is unknown) unless forced; otherwise gives its fields. */
function decide(item: RetryItem, m: WireMessage, force: boolean): RetryItem {
  const failed = item.state === OutboxState.Expired || item.state === OutboxState.Cancelled || failedStatuses.has(item.status ?? '');
  if (!failed && !force) {
    const how = item.state === undefined ? 'its outcome is not recorded' : `it ${item.state}${item.status ? ` (${item.status})` : ''}`;
    return { ...item, refused: `${how}: not sent again without --force` };
  }
  const spec: Record<string, unknown> = { ...m };
  for (const f of wireOnly) delete spec[f];
  return { ...item, spec };
}

/** The message's `accepted` line in the audit log, and how its delivery ended, if the log has them. */
async function fromAudit(
  path: string,
  id: string,
): Promise<{ message: WireMessage; end: { state?: string; status?: string } } | undefined> {
  if (!existsSync(path)) return undefined;
  let message: WireMessage | undefined;
  const end: { state?: string; status?: string } = {};
  const lines = createInterface({ input: createReadStream(path, { encoding: 'utf8' }), crlfDelay: Infinity });
  for await (const line of lines) {
    // Cheap filter first: most lines are about other messages.
    if (!line.includes(id)) continue;
    let e: { event?: string; id?: string; status?: string; message?: WireMessage };
    try {
      e = JSON.parse(line) as typeof e;
    } catch {
      continue;
    }
    if (e.event === 'accepted' && e.message?.id === id) message = e.message;
    else if (e.id === id && (e.event === 'delivered' || e.event === 'expired' || e.event === 'cancelled')) {
      end.state = e.event;
      if (e.status !== undefined) end.status = e.status;
    }
  }
  return message ? { message, end } : undefined;
}
