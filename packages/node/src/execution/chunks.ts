/**
 * Payloads too big for one broker message, on a node: sent as journaled
 * `Chunk` messages plus a reference, and taken once every chunk is here
 * (the wire format is in core's chunkedPayload.ts).
 *
 * Sending. A message whose signed payload would pass the broker's
 * `max_payload` (even gzipped) has its chunks journaled, idempotently (one
 * source key per chunk), before the message is published with the
 * reference in place of `data` (see {@link messageInChunks}); an ACK whose
 * output would pass it likewise (see {@link ackInChunks}): its chunks go to
 * the request's sender, journaled before the ACK leaves. A crash anywhere
 * only repeats a step: the next send or resend journals the same chunks
 * (found by their source keys) and sends the same reference.
 *
 * Receiving. A chunk is stored in the inbox under its whole (`answers` =
 * `chunk:<id>`) by the subscriber, like any received message, so chunks
 * survive a crash. A message carrying a reference is held (not ACKed) until
 * every chunk from its own sender is here, then parsed again with the whole
 * in place (see {@link wholeOfMessage}, {@link holdUntilChunks}). An ACK
 * carrying a reference is reported only once the whole output is here (see
 * {@link wholeReply}); the message stays unfinished in the journal
 * meanwhile, so a restart resends it and waits again. Only chunks from the
 * node that sent the message, or that the request went to, are ever read,
 * and the whole must have the SHA-256 the signed reference names.
 *
 * Cost when unused: one size comparison per send and per ACK with output.
 */
import client from 'prom-client';
import {
  chunkData,
  ChunksMissing,
  joinChunks,
  methodInfo,
  parseChunkHeader,
  splitText,
  subjectOf,
  ValidationError,
  type AckReply,
  type ChunkHeader,
  type ChunkRef,
  type MessageSpec,
  type OutboxRecord,
  type OutboxSubmission,
  type SplitText,
  type WireAck,
  type WireMessage,
} from '@steward/core';
import type { Metrics } from '../observability/metrics.js';
import type { NodeServices } from '../node/services.js';
import { queueMessages } from './replyMessage.js';

/** nats-server's default max_payload, when the server has not said. */
const defaultMaxPayload = 1024 * 1024;

/** Room kept in a chunk's broker message for its fields, header and signature. */
const chunkMarginBytes = 64 * 1024;

/** Most received messages held at once waiting for their chunks; past it the sender's resend brings them back. */
const maxHeld = 1000;

/** How long a held message waits for its chunks before it is dropped (its sender resends it). */
const holdMs = 120_000;

/**
 * Whether `payload` (bytes, or text sent as UTF-8) passes the broker's
 * `maxPayload` (as the server says; 1 MiB when unknown). Text is measured
 * only when it may pass: at most three bytes per UTF-16 unit.
 */
export function tooBigForBroker(payload: Uint8Array | string, maxPayload: number | undefined): boolean {
  const limit = (maxPayload ?? defaultMaxPayload) - 1024;
  if (typeof payload !== 'string') return payload.length > limit;
  return payload.length * 3 > limit && Buffer.byteLength(payload) > limit;
}

/** Raw bytes per chunk for a broker of `maxPayload`: their base64 and the message around it fit. */
export function sliceBytesFor(maxPayload: number | undefined): number {
  const room = Math.max(4096, (maxPayload ?? defaultMaxPayload) - chunkMarginBytes);
  return Math.floor(((room - 2048) * 3) / 4);
}

/** The `answers` key under which the chunks of the whole of message `of` are stored in the inbox. */
export function chunkKey(of: string): string {
  return `chunk:${of}`;
}

const counters = new WeakMap<Metrics, client.Counter<'event'>>();

/** `steward_chunked_payloads_total{event}`: wholes sent in chunks, taken whole, refused, and outputs cut at the limit. */
export function chunkCounter(metrics: Metrics): client.Counter<'event'> {
  let c = counters.get(metrics);
  if (!c) {
    c = new client.Counter({
      name: 'steward_chunked_payloads_total',
      help: 'Payloads too big for one broker message: sent in chunks (sent), taken whole (assembled), whose chunks did not make the whole named (bad), cut at --maxChunkedBytes (cut), or not whole in time (incomplete)',
      labelNames: ['event'],
      registers: [metrics.registry],
    });
    counters.set(metrics, c);
  }
  return c;
}

// One entry: resends of one large message or ACK split the same text again without it.
let lastSplit: { key: string; text: string; split: SplitText } | undefined;

function split(key: string, text: string, sliceBytes: number): SplitText {
  if (lastSplit?.key === key && lastSplit.text === text) return lastSplit.split;
  const s = splitText(text, sliceBytes);
  lastSplit = { key, text, split: s };
  return s;
}

/** The `Chunk` messages carrying `whole`, from this node to `toward.toNode`, with its timeout and retries. */
function chunkSubmissions(
  s: NodeServices,
  whole: SplitText,
  of: string,
  field: ChunkHeader['field'],
  toward: { toNode: string; timeout: number; retries: number; retryWait?: number; previousMessageId?: string },
): OutboxSubmission[] {
  return whole.slices.map((_, i) => {
    const spec: MessageSpec = {
      toNode: toward.toNode,
      method: 'Chunk',
      commandOrEvent: 'EventACK',
      data: chunkData(whole, of, field, i),
      timeout: toward.timeout,
      retries: toward.retries,
    };
    if (toward.retryWait !== undefined) spec.retryWait = toward.retryWait;
    const message: WireMessage = { ...s.toWire(spec) };
    // Names the request the whole answers, if any: the receiver then takes it as part of that answer (see chunkGuard.ts).
    if (toward.previousMessageId !== undefined) message.previousMessageId = toward.previousMessageId;
    return {
      message,
      subject: subjectOf(spec),
      sourceKey: `chunk:${of}:${field}:${whole.ref.sha256.slice(0, 16)}:${whole.ref.count}:${i}`,
    };
  });
}

/**
 * The wire form of `m` (its `follows` set) with `data` (and
 * `previousOutput`) replaced by a chunk reference, once its chunks are
 * journaled. A chunk itself is never chunked.
 */
export async function messageInChunks(s: NodeServices, m: WireMessage, maxPayload: number | undefined): Promise<WireMessage> {
  if (methodInfo(m.method)?.chunk === true) return m;
  const inner: { data: string[]; previousOutput?: string } = { data: m.data };
  if (m.previousOutput !== undefined) inner.previousOutput = m.previousOutput;
  const whole = split(m.id, JSON.stringify(inner), sliceBytesFor(maxPayload));
  const toward = {
    toNode: m.toNode,
    timeout: m.timeout,
    retries: m.retries,
    ...(m.retryWait !== undefined ? { retryWait: m.retryWait } : {}),
  };
  const chunks = chunkSubmissions(s, whole, m.id, 'data', {
    ...toward,
    ...(m.previousMessageId !== undefined ? { previousMessageId: m.previousMessageId } : {}),
  });
  await queueMessages(s, chunks, 'chunk');
  chunkCounter(s.metrics).inc({ event: 'sent' });
  s.log.info(`data of ${whole.ref.bytes} bytes goes to ${m.toNode} in ${whole.ref.count} chunk(s)`, { id: m.id });
  const out = { ...m, data: whole.ref } as unknown as WireMessage;
  delete out.previousOutput;
  return out;
}

/**
 * The wire form of `reply`, an ACK whose output is too big for one broker
 * message, with the output replaced by a chunk reference once its chunks
 * (to the request's sender) are journaled. The request is read from the
 * inbox, where it was journaled before it ran.
 */
export async function ackInChunks(s: NodeServices, reply: AckReply, maxPayload: number | undefined): Promise<WireAck> {
  const request = s.journal.getInbox(reply.id)?.message;
  if (!request || reply.output === undefined) throw new Error(`no journaled request ${reply.id} to send its output in chunks to`);
  const whole = split(`ack:${reply.id}`, reply.output, sliceBytesFor(maxPayload));
  const chunks = chunkSubmissions(s, whole, reply.id, 'output', {
    toNode: request.fromNode,
    timeout: request.timeout,
    retries: request.retries,
    ...(request.retryWait !== undefined ? { retryWait: request.retryWait } : {}),
    previousMessageId: request.id,
  });
  await queueMessages(s, chunks, 'chunk');
  chunkCounter(s.metrics).inc({ event: 'sent' });
  s.log.info(`output of ${whole.ref.bytes} bytes goes to ${request.fromNode} in ${whole.ref.count} chunk(s)`, { id: reply.id });
  const { output: _output, ...rest } = reply;
  return { ...rest, output: whole.ref };
}

/**
 * The whole of `of`'s `field` from the chunks in the inbox sent by `from`,
 * or undefined while one is missing.
 *
 * @throws {@link ValidationError} naming `field` when the whole is larger
 *   than `--maxChunkedBytes`, or the chunks do not make the whole `ref` names.
 */
export function wholeFromInbox(s: NodeServices, of: string, from: string, ref: ChunkRef, field: ChunkHeader['field']): string | undefined {
  if (ref.bytes > s.config.maxChunkedBytes)
    throw new ValidationError([
      { field, reason: `is ${ref.bytes} bytes in chunks, more than --maxChunkedBytes ${s.config.maxChunkedBytes}` },
    ]);
  // Counted first: each chunk that arrives asks again, and reading them all each time would cost n² reads.
  if (s.journal.countInboxAnswering(chunkKey(of)) < ref.count) return undefined;
  const slices: (string | undefined)[] = new Array<string | undefined>(ref.count);
  let have = 0;
  for (const rec of s.journal.inboxAnswering(chunkKey(of))) {
    // Only the sender's own chunks: a chunk another node made up is never read.
    if (rec.message.fromNode !== from) continue;
    let h: ChunkHeader;
    try {
      h = parseChunkHeader(rec.message.data);
    } catch {
      continue;
    }
    if (h.field !== field || h.sha256 !== ref.sha256 || h.count !== ref.count || h.gzip !== ref.gzip || slices[h.index] !== undefined)
      continue;
    slices[h.index] = rec.message.data[1];
    have++;
  }
  if (have < ref.count) return undefined;
  try {
    const text = joinChunks(ref, slices, field);
    chunkCounter(s.metrics).inc({ event: 'assembled' });
    return text;
  } catch (err) {
    chunkCounter(s.metrics).inc({ event: 'bad' });
    throw err;
  }
}

/**
 * What parsing a received message uses for a chunked `data`: the whole
 * (`{"data":[...],"previousOutput":...}`) from the chunks its claimed sender
 * sent (the signature check that follows proves the sender, and the
 * reference with its hash is covered by that signature).
 *
 * @throws `ChunksMissing` while a chunk is still to come.
 */
export function wholeOfMessage(s: NodeServices): (ref: ChunkRef, raw: Record<string, unknown>) => string {
  return (ref, raw) => {
    const id = typeof raw.id === 'string' ? raw.id : '';
    const from = typeof raw.fromNode === 'string' ? raw.fromNode : '';
    const text = wholeFromInbox(s, id, from, ref, 'data');
    if (text === undefined) throw new ChunksMissing(id, ref);
    return text;
  };
}

interface Waiters {
  /** Callbacks by the id of the whole they wait for; each is called when a chunk of it arrives. */
  byWhole: Map<string, Set<() => void>>;
  held: number;
  /** Ids of sent messages whose chunked output is being waited for (see wholeReply). */
  replies: Set<string>;
}

const waitersOf = new WeakMap<NodeServices, Waiters>();

function waiters(s: NodeServices): Waiters {
  let w = waitersOf.get(s);
  if (!w) {
    w = { byWhole: new Map(), held: 0, replies: new Set() };
    waitersOf.set(s, w);
  }
  return w;
}

function wait(s: NodeServices, of: string, cb: () => void): () => void {
  const w = waiters(s);
  let set = w.byWhole.get(of);
  if (!set) w.byWhole.set(of, (set = new Set()));
  set.add(cb);
  return () => {
    set.delete(cb);
    if (set.size === 0 && w.byWhole.get(of) === set) w.byWhole.delete(of);
  };
}

/** A chunk of the whole of message `of` was journaled here: whoever waits for it looks again. */
export function chunkArrived(s: NodeServices, of: string): void {
  const set = waitersOf.get(s)?.byWhole.get(of);
  if (set) for (const cb of [...set]) cb();
}

/**
 * Holds a received message whose chunks are still to come, unanswered:
 * `retry` is called (once) when one of them arrives, to take the message
 * again. When too many are held already it is dropped instead, unanswered
 * too: the sender's resend brings it back, as it does after {@link holdMs}.
 */
export function holdUntilChunks(s: NodeServices, missing: ChunksMissing, retry: () => void): void {
  const w = waiters(s);
  if (w.held >= maxHeld || missing.of === '') {
    s.log.warn(`dropped a message waiting for its ${missing.ref.count} chunk(s): ${maxHeld} wait already; its sender resends it`, {
      id: missing.of,
    });
    return;
  }
  w.held++;
  let done = false;
  const end = () => {
    if (done) return;
    done = true;
    w.held--;
    clearTimeout(timer);
    stop();
  };
  const stop = wait(s, missing.of, () => {
    end();
    retry();
  });
  const timer = setTimeout(end, holdMs);
  timer.unref();
  s.log.info(`holding a message until its ${missing.ref.count} chunk(s) are here`, { id: missing.of });
}

/**
 * `reply` with its whole output, for an ACK of `rec` whose output comes in
 * chunks: at once when they are all here, else when the last one comes (or,
 * past the time the target keeps resending them, with a marker saying the
 * output did not come whole). Undefined when another ACK of the same message
 * already waits for them: that one reports the delivery. `reply` itself
 * when its output is not chunked.
 */
export async function wholeReply(s: NodeServices, rec: OutboxRecord, reply: AckReply): Promise<AckReply | undefined> {
  const ref = reply.outputChunks;
  if (!ref) return reply;
  const w = waiters(s);
  if (w.replies.has(rec.id)) return undefined;
  const m = rec.message;
  const withOutput = (output: string): AckReply => {
    const { outputChunks: _chunks, ...rest } = reply;
    return { ...rest, output };
  };
  const take = (): AckReply | undefined => {
    try {
      const text = wholeFromInbox(s, rec.id, m.toNode, ref, 'output');
      return text === undefined ? undefined : withOutput(text);
    } catch (err) {
      const text = `[steward: the output of ${ref.bytes} bytes from ${m.toNode} could not be taken: ${(err as Error).message}]\n`;
      s.log.warn(text.trim(), { id: rec.id });
      return withOutput(text);
    }
  };
  const now = take();
  if (now) return now;
  w.replies.add(rec.id);
  s.log.info(`${m.method} on ${m.toNode} answered; waiting for its output in ${ref.count} chunk(s)`, { id: rec.id });
  // As long as the target resends a chunk to a node that answers: every try of the request's budget.
  const waitMs = Math.max(holdMs, (m.retries + 1) * (m.timeout + (m.retryWait ?? 0)) * 1000 * 2);
  return new Promise<AckReply>((resolve) => {
    const finish = (r: AckReply) => {
      w.replies.delete(rec.id);
      clearTimeout(timer);
      stop();
      resolve(r);
    };
    const stop = wait(s, rec.id, () => {
      const r = take();
      if (r) finish(r);
    });
    const timer = setTimeout(() => {
      chunkCounter(s.metrics).inc({ event: 'incomplete' });
      const text = `[steward: the output of ${ref.bytes} bytes from ${m.toNode} did not come whole within ${Math.round(waitMs / 1000)}s]\n`;
      s.log.warn(text.trim(), { id: rec.id });
      finish(withOutput(text));
    }, waitMs);
    timer.unref();
  });
}
