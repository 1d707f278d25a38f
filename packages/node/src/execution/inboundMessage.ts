/**
 * A message as it arrives on a subscriber's subject: parsed from untrusted
 * bytes into a typed value (once, at the edge), checked against the subject
 * it came on, then verified (signature, trust, expiry, ACL, and for a reply
 * the request it answers) before anything is deduplicated or journaled.
 */
import type { Msg } from '@nats-io/transport-node';
import {
  ChunksMissing,
  decodeMessageFields,
  methodInfo,
  parseWireMessage,
  ValidationError,
  type ChunkRef,
  type MessageKind,
  type WireMessage,
} from '@steward/core';
import type { NodeConfig } from '../node/config.js';
import type { NodeServices } from '../node/services.js';
import type { NodeSecurity, Refusal } from '../security/nodeSecurity.js';
import { chunkVerdict } from '../security/chunkGuard.js';
import { replyVerdict } from '../security/replyGuard.js';

/** Largest payload accepted on a subject, in bytes. */
export const maxPayloadBytes = 8 * 1024 * 1024;

/**
/**
 * A message as it arrived: alone in a NATS message (`data`), or one of a
 * frame (see core frame.ts), already parsed (`raw`), with what the frame
 * says of it.
 */
export interface Arrival {
  subject: string;
  /** Where its ACK goes: its own reply subject, or its frame's. */
  reply?: string;
  /** The payload of a message that came alone. */
  data?: Uint8Array;
  /** A message of a frame: its JSON object. */
  raw?: Record<string, unknown>;
  /** A message of a frame: the frame's signer (proven, when signatures are checked) and replay window. */
  frame?: { fromNode: string; expiresAt: number };
}

/** An arrival from a NATS message that carries one message. */
export function arrivalOf(msg: Msg): Arrival {
  return { subject: msg.subject, data: msg.data, ...(msg.reply ? { reply: msg.reply } : {}) };
}

/**
 * A parsed message, or why it is not one (with its id when it had a usable
 * one, so the sender can match the refusal). `missing`: it is not one yet,
 * its chunked `data` still waits for chunks (see chunks.ts).
 */
export type Inbound =
  | { ok: true; m: WireMessage; raw: Record<string, unknown>; frame?: Arrival['frame'] }
  | { ok: false; rawId: string; text: string; missing?: ChunksMissing };

/**
 * Parses `msg`, which arrived on a subject of kind `kind` and method `method`
 * of node `config.node`. `wholeOf` gives the whole of a chunked `data`
 * (see chunks.ts); without it a chunked message is refused.
 */
export function parseInbound(
  msg: Arrival,
  kind: MessageKind,
  method: string,
  config: NodeConfig,
  wholeOf?: (ref: ChunkRef, raw: Record<string, unknown>) => string,
): Inbound {
  let rawId = '';
  let rawObj: Record<string, unknown> = {};
  try {
    let raw: unknown;
    if (msg.raw) {
      // One of a frame: its replay window is the frame's.
      raw = msg.raw;
      if (msg.frame) msg.raw.expiresAt = msg.frame.expiresAt;
    } else {
      const data = msg.data ?? new Uint8Array();
      const limit = config.maxPayloadBytes ?? maxPayloadBytes;
      if (data.length > limit) throw new ValidationError([{ field: '(payload)', reason: `larger than ${limit} bytes` }]);
      raw = JSON.parse(new TextDecoder().decode(data)) as unknown;
    }
    if (typeof raw === 'object' && raw !== null && !Array.isArray(raw)) rawObj = raw as Record<string, unknown>;
    // Keep the id, if there is one, so the sender can match the refusal to its message.
    const maybeId = typeof raw === 'object' && raw !== null ? (raw as { id?: unknown }).id : undefined;
    if (typeof maybeId === 'string' && /^[A-Za-z0-9_-]{1,128}$/.test(maybeId)) rawId = maybeId;
    // Signatures are checked on `rawObj`, the wire form: a compressed payload is inflated here, bounded, only to be validated.
    const m = parseWireMessage(decodeMessageFields(raw, undefined, wholeOf && ((ref) => wholeOf(ref, rawObj))));
    const problems = [];
    if (m.toNode !== config.node) problems.push({ field: 'toNode', reason: `is "${m.toNode}" but arrived at node "${config.node}"` });
    if (m.method !== method) problems.push({ field: 'method', reason: `is "${m.method}" but arrived on subject ${msg.subject}` });
    if (m.commandOrEvent !== kind)
      problems.push({ field: 'commandOrEvent', reason: `is "${m.commandOrEvent}" but arrived on subject ${msg.subject}` });
    if (problems.length) throw new ValidationError(problems);
    return { ok: true, m, raw: rawObj, ...(msg.frame ? { frame: msg.frame } : {}) };
  } catch (err) {
    if (err instanceof ChunksMissing) return { ok: false, rawId, text: err.message, missing: err };
    const text = err instanceof SyntaxError ? `not JSON: ${err.message}` : (err as Error).message;
    return { ok: false, rawId, text };
  }
}

/** What the checks decided about a parsed message. */
export interface Verified {
  /** The message to run: a reply runs on its request's authority (see replyGuard.ts). */
  m: WireMessage;
  /** For a reply: the id of this node's request it answers. */
  answers?: string;
  /** Why it is refused, if it is. */
  refusal?: Refusal;
}

/**
 * Checks a parsed message: a reply is taken only as the answer to a request
 * of ours, and runs as that request says (see replyGuard.ts); then the
 * signature, trust, expiry and ACL checks of `security` (absent = none).
 * `claimOf` says which reply a request is taking right now, not journaled yet.
 */
export function verifyInbound(
  s: NodeServices,
  security: NodeSecurity | undefined,
  parsed: { m: WireMessage; raw: Record<string, unknown>; frame?: Arrival['frame'] },
  claimOf: (requestId: string) => string | undefined,
): Verified {
  let m = parsed.m;
  // A chunk is judged by the chunk guard (see chunkGuard.ts), every other message by the reply guard.
  const verdict = methodInfo(m.method)?.chunk === true ? chunkVerdict(s.journal, m) : replyVerdict(s.journal, m, claimOf);
  // Verified before dedup and before anything is journaled: a refused message leaves no trace but the report.
  // A frame's signature proves its signer's messages only: one naming another sender is refused.
  if (parsed.frame && m.fromNode !== parsed.frame.fromNode) {
    const refusal: Refusal = {
      code: 'badSignature',
      reason: `names sender "${m.fromNode}" in a frame signed by "${parsed.frame.fromNode}"`,
    };
    security?.countRefusal(refusal.code);
    return { m, refusal };
  }
  // Signatures first; the ACL is not asked about a reply (taken on its request's authority, or refused as unsolicited).
  let refusal: Refusal | undefined = security?.check(parsed.raw, m, verdict.kind !== 'message', parsed.frame !== undefined);
  if (!refusal && verdict.kind === 'refused') {
    refusal = { code: 'unsolicited', reason: verdict.reason };
    security?.countRefusal(refusal.code);
  }
  let answers: string | undefined;
  if (verdict.kind === 'reply') {
    m = verdict.message;
    answers = verdict.request.id;
  } else if ('key' in verdict) answers = verdict.key;
  return { m, ...(answers !== undefined ? { answers } : {}), ...(refusal ? { refusal } : {}) };
}
