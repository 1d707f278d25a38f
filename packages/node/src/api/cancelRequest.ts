/**
 * The `cancel` socket request (`steward cancel`): takes back messages this
 * node sent. For each one:
 *
 * - finished (delivered, expired, cancelled): said so, nothing changes;
 * - never sent: withdrawn from the outbox (its delivery ends `cancelled`,
 *   journaled; it is never published after that, see withdrawals.ts);
 * - sent and not answered (in flight, or waiting to resend): not resent, and
 *   a `Cancel` message (guaranteed and signed like any other) tells the
 *   receiver to stop it, or to refuse it if it has not come yet.
 *
 * Cancelling twice is harmless: the second time finds it finished, or tells
 * the receiver again, which answers the same.
 */
import { OutboxState, type OutboxRecord } from '@steward/core';
import { FailureKind } from '../node/errorKernel.js';
import type { NodeServices } from '../node/services.js';
import { cancelledCounter, withdrawalsOf } from '../delivery/withdrawals.js';
import { outboxNamed } from './idParts.js';
import { ErrorCode, RequestError, withReqId, type CancelRequest, type CancelResult, type SocketResponse } from './socketProtocol.js';

const finalStates = new Set<string>([OutboxState.Delivered, OutboxState.Expired, OutboxState.Cancelled]);
/** At most this many messages are cancelled by one `--toNode`/`--state` selection. */
const maxSelected = 10_000;

/** Serves one `cancel` request; `respond` gets the one `cancel` response. */
export async function serveCancel(s: NodeServices, req: CancelRequest, respond: (r: SocketResponse) => void): Promise<void> {
  const recs = select(s, req);
  const results: CancelResult[] = [];
  const toReceiver = new Map<string, CancelResult[]>();
  const ends: Promise<void>[] = [];
  for (const rec of recs) {
    const result = cancelOne(s, rec, ends);
    results.push(result);
    if (result.outcome === 'toReceiver' && result.toNode !== undefined) {
      const list = toReceiver.get(result.toNode) ?? [];
      list.push(result);
      toReceiver.set(result.toNode, list);
    }
  }
  // One Cancel per receiving node, naming all of its ids; journaled like any message, so it survives restarts.
  for (const [toNode, list] of toReceiver) {
    const [sent] = await s.submit([
      {
        spec: { toNode, method: 'Cancel', commandOrEvent: 'CommandACK', data: list.map((r) => r.id) },
        source: 'steward cancel',
      },
    ]);
    for (const r of list) r.cancelId = sent!.id;
  }
  // Recorded before the answer: a second cancel finds them finished.
  await Promise.all(ends);
  respond({ type: 'cancel', ...withReqId(req.reqId), results });
}

/** The messages a request names: by id (or its unambiguous first or last characters), or by `toNode`/`state`. */
function select(s: NodeServices, req: CancelRequest): (OutboxRecord | { id: string; unknown: true })[] {
  const j = s.journal;
  if (req.ids.length === 0) {
    const states = req.state === 'queued' ? [OutboxState.Queued] : ['open'];
    return j.recentOutbox({ states, ...(req.toNode !== undefined ? { toNode: req.toNode } : {}), limit: maxSelected }).reverse();
  }
  return req.ids.map((given) => {
    const { rec, several } = outboxNamed(j, given);
    if (several)
      throw new RequestError(ErrorCode.Ambiguous, `id "${given}" matches several messages: ${several.join(', ')}`, {
        reqId: req.reqId,
      });
    return rec ?? { id: given, unknown: true as const };
  });
}

/** Cancels one message; a promise of its recorded end goes into `ends`. */
function cancelOne(s: NodeServices, rec: OutboxRecord | { id: string; unknown: true }, ends: Promise<void>[]): CancelResult {
  if ('unknown' in rec) return { id: rec.id, outcome: 'unknown' };
  const base = { id: rec.id, toNode: rec.message.toNode, method: rec.message.method };
  if (finalStates.has(rec.state)) {
    return { ...base, outcome: 'finished', state: rec.state, ...(rec.reply ? { status: rec.reply.status } : {}) };
  }
  const w = withdrawalsOf(s);
  // First, in this turn: from now on no publisher sends it (see withdrawals.ts).
  w.cancelling.add(rec.id);
  const end = endOf(s, rec.id);
  const byPublisher = w.publisherOf(rec.subject)?.cancelDelivery(rec.id);
  if (byPublisher !== undefined) {
    ends.push(end);
    return { ...base, outcome: byPublisher === 'withdrawn' ? 'withdrawn' : 'toReceiver' };
  }
  stopWaiting(end);
  // No publisher holds it (none runs for its subject, or it is not loaded yet): recorded here.
  ends.push(recordCancelled(s, rec));
  return { ...base, outcome: rec.attempts === 0 ? 'withdrawn' : 'toReceiver' };
}

/** Ends the delivery of `rec` as cancelled in the journal, and tells it like the publisher would. */
async function recordCancelled(s: NodeServices, rec: OutboxRecord): Promise<void> {
  const { id, subject, message: m } = rec;
  try {
    await s.journal.updateOutbox(id, { state: OutboxState.Cancelled, attempts: rec.attempts, finishedAt: Date.now() });
  } catch (err) {
    s.errors.report({ kind: FailureKind.Journal, text: `could not record the cancel of ${id}`, messageId: id, subject, error: err });
    throw err;
  }
  s.events.emit('delivery', { id, subject, message: m, state: OutboxState.Cancelled, attempts: rec.attempts, time: Date.now() });
  s.audit.appendSoon([{ event: 'cancelled', id, subject, attempts: rec.attempts }]);
  cancelledCounter(s.metrics).inc({ method: m.method, side: 'sender' });
  s.log.info(`cancelled after ${rec.attempts} attempt(s)`, { id, subject });
}

type Waiting = Promise<void> & { stop?: () => void };

/** Resolves when the delivery of `id` ends (its end is journaled); a long wait is bounded by the delivery itself. */
function endOf(s: NodeServices, id: string): Waiting {
  let stop: () => void = () => undefined;
  const p: Waiting = new Promise<void>((resolve) => {
    const on = (e: { id: string; state: string }): void => {
      if (e.id !== id || !finalStates.has(e.state)) return;
      s.events.off('delivery', on);
      resolve();
    };
    s.events.on('delivery', on);
    stop = () => {
      s.events.off('delivery', on);
      resolve();
    };
  });
  p.stop = stop;
  return p;
}

function stopWaiting(p: Waiting): void {
  p.stop?.();
}
