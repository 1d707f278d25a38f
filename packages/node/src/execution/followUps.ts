/**
 * What an execution sends back besides its ACK: the reply message of an
 * Event request (CLICommandRequest → CLICommandReply, REQCliCommand → its
 * replyMethod; see replyMessage.ts), journaled with the execution's result,
 * and output cut at `--maxChunkedBytes`.
 */
import { isFailureStatus, type AckReply, type OutboxSubmission, type WireMessage } from '@steward/core';
import type { MethodHandler } from '../methods/index.js';
import type { NodeServices } from '../node/services.js';
import { chunkCounter } from './chunks.js';
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
 * Cuts output longer than `--maxChunkedBytes`, keeping its end, with a
 * marker saying so (and a log line and `steward_chunked_payloads_total{event="cut"}`
 * naming the limit), so a huge output never fails the result. Output up to
 * the limit is kept whole: above the broker's max_payload it travels
 * compressed (payloadEncoding.ts) or in chunks (chunks.ts).
 */
export function fitOutput(s: NodeServices, output: string): string {
  const limit = s.config.maxChunkedBytes;
  // Three bytes per UTF-16 unit at most: the exact UTF-8 size only when it may matter.
  if (output.length <= limit / 3) return output;
  const bytes = Buffer.byteLength(output);
  if (bytes <= limit) return output;
  const tail = Buffer.from(output)
    .subarray(bytes - limit)
    .toString('utf8');
  chunkCounter(s.metrics).inc({ event: 'cut' });
  s.log.warn(`output of ${bytes} bytes cut to its last ${limit} bytes (--maxChunkedBytes)`);
  return `[steward: output was ${bytes} bytes; only its last ${limit} bytes are kept (--maxChunkedBytes ${limit})]\n${tail}`;
}
