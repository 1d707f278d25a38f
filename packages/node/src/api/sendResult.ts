/**
 * What became of a message this node sent, as `steward send` and `steward
 * status` report it: the delivery outcome for Event and NACK kinds, the ACK's
 * result for Command kinds, and for request methods (CLICommandRequest,
 * ECHORequest) the reply message that came back.
 */
import { isFailureStatus, kindIsCommand, kindWantsAck, methodInfo, type AckReply, type WireMessage } from '@steward/core';
import { SendStatus, type SendResult } from './socketProtocol.js';

/** The facts about a sent message that decide its result. */
export interface SentFacts {
  message: WireMessage;
  /** The delivery state: final ones are `delivered`, `expired` and `cancelled`. */
  state: string;
  attempts: number;
  ack?: AckReply;
  lastError?: string;
}

/** Whether the message's outcome comes as a separate reply message (Event kinds of request methods). */
export function expectsReplyMessage(m: Pick<WireMessage, 'method' | 'commandOrEvent'>): boolean {
  return !kindIsCommand(m.commandOrEvent) && kindWantsAck(m.commandOrEvent) && methodInfo(m.method)?.replyMethod !== undefined;
}

/**
 * The result of a sent message, or undefined while it is not known yet
 * (not finished, or delivered and its reply message not yet received).
 */
export function sentResult(f: SentFacts, replyMessage?: WireMessage): SendResult | undefined {
  const m = f.message;
  const base = { id: m.id, toNode: m.toNode, method: m.method, attempts: f.attempts };
  if (f.state === 'expired') {
    return { ...base, status: SendStatus.Expired, error: `delivery expired after ${f.attempts} attempt(s): ${f.lastError ?? 'no ACK'}` };
  }
  if (f.state === 'cancelled') {
    return { ...base, status: SendStatus.Cancelled, error: f.ack?.error ?? `cancelled (steward cancel) after ${f.attempts} attempt(s)` };
  }
  if (f.state !== 'delivered') return undefined;
  const ack = f.ack;
  if (!kindWantsAck(m.commandOrEvent)) return { ...base, status: SendStatus.Sent };
  if (ack && isFailureStatus(ack.status)) return fromAck(base, ack);
  if (kindIsCommand(m.commandOrEvent)) return ack ? fromAck(base, ack) : { ...base, status: SendStatus.Succeeded };
  if (!expectsReplyMessage(m)) return { ...base, status: SendStatus.Received };
  if (!replyMessage) return undefined;
  return { ...base, ...parseReplyText(replyMessage.data.join('')), replyId: replyMessage.id };
}

function fromAck(base: Omit<SendResult, 'status'>, ack: AckReply): SendResult {
  const r: SendResult = { ...base, status: ack.status as SendResult['status'] };
  if (ack.output !== undefined) r.output = ack.output;
  if (ack.exitCode !== undefined) r.exitCode = ack.exitCode;
  if (ack.error !== undefined) r.error = ack.error;
  return r;
}

const trailer = /(?:^|\n)steward: (\S+) (failed|timedOut|interrupted|rejected): ([^\n]*)\n?$/;

/**
 * Reads the text of a reply message (CLICommandReply, ECHOReply). The
 * receiver ends the text of a failed request with a line
 * `steward: <method> <status>: <error>`; that line gives the status and,
 * from an error ending in `exit code N`, the exit code, and is taken out of
 * the output.
 */
export function parseReplyText(text: string): Pick<SendResult, 'status' | 'output' | 'exitCode' | 'error'> {
  const m = trailer.exec(text);
  if (!m) return { status: SendStatus.Succeeded, output: text };
  const output = text.slice(0, m.index + (m[0].startsWith('\n') ? 1 : 0));
  const error = m[3]!;
  const code = /exit code (\d+)$/.exec(error);
  return {
    status: m[2] as SendResult['status'],
    output,
    error,
    ...(code ? { exitCode: Number(code[1]) } : {}),
  };
}
