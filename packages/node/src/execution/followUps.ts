/**
 * What an execution sends back besides its ACK: the reply message of an
 * Event request (CLICommandRequest → CLICommandReply, REQCliCommand → its
 * replyMethod; see replyMessage.ts), journaled with the execution's result,
 * and output cut to fit one broker message.
 */
import { encodeText, isFailureStatus, type AckReply, type OutboxSubmission, type WireMessage } from '@steward/core';
import type { MethodHandler } from '../methods/index.js';
import type { NodeServices } from '../node/services.js';
import { buildReply } from './replyMessage.js';

/**
 * The reply message an Event request answers with (CLICommandRequest →
 * CLICommandReply, REQCliCommand → its replyMethod), if any; see replyMessage.ts.
 * `handler` is the one that ran `m`.
 */
export function followUpOf(s: NodeServices, m: WireMessage, reply: AckReply, handler: MethodHandler): OutboxSubmission | undefined {
  // Streams and copies send their replies themselves; only their failures are answered here.
  if (!isFailureStatus(reply.status) && handler.replyOnSuccess === false) return undefined;
  let text = reply.output ?? '';
  if (isFailureStatus(reply.status))
    text += `${text && !text.endsWith('\n') ? '\n' : ''}steward: ${m.method} ${reply.status}: ${reply.error ?? ''}\n`;
  return buildReply(s, m, text, `reply:${m.id}`);
}

/** A reply message was journaled: audit it and wake its publisher. */
export function followUpQueued(s: NodeServices, followUp: OutboxSubmission): void {
  s.audit.append([{ event: 'accepted', message: followUp.message, subject: followUp.subject, source: 'reply' }]);
  s.metrics.accepted.inc({ method: followUp.message.method });
  s.onNewMessages([followUp.subject]);
}

/**
 * Cuts output that would not fit in one broker message (nats-server's
 * max_payload, 1 MiB by default; `brokerMaxPayload` as the server says),
 * keeping its end, so the ACK or reply is never refused by the broker and
 * the sender always gets an answer. Output that fits once compressed (the
 * ACK and the reply travel compressed when large, see payloadEncoding.ts) is
 * kept whole.
 */
export function fitOutput(output: string, brokerMaxPayload: number | undefined): string {
  const maxPayload = brokerMaxPayload ?? 1024 * 1024;
  const limit = Math.max(1024, maxPayload - 64 * 1024);
  const bytes = Buffer.byteLength(output);
  if (bytes <= limit) return output;
  // The reply message wraps the output in JSON ({"data":[...]}) before compressing; escapes add a little.
  if (encodeText(output).value.length <= limit - 4 * 1024) return output;
  const tail = Buffer.from(output)
    .subarray(bytes - limit)
    .toString('utf8');
  return `[steward: output was ${bytes} bytes; only its last ${limit} bytes are kept, to fit the broker's max_payload of ${maxPayload}]\n${tail}`;
}
