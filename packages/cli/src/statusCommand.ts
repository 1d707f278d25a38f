/**
 * `steward status <id>`: what became of one message, from the local node's
 * journal: its delivery state, attempts, times and result (for a message the
 * node sent), or its execution state and result (for one it received).
 */
import type { Argv } from 'yargs';
import { outcomeOf, type ReceivedStatus, type SentStatus } from '@steward/node/client';
import { clientOptionNames, clientOptions, connectToNode, type NodeClient } from './clientSocket.js';
import { exitCodeOfError, NodeFailedError } from './errors.js';
import { ExitCode } from './exitCodes.js';
import { formatTime } from './format.js';
import { processIO, type ClientIO } from './sendCommand.js';
import { describeFailure } from './sendReport.js';

/** Declares the options of `steward status`. */
export function statusOptions<T>(y: Argv<T>) {
  return clientOptions(y).positional('id', {
    type: 'string',
    demandOption: true,
    describe: 'the message id (or its first or last 6 or more characters, as watch and jobs show it)',
  });
}

/** The names of every `steward status` option. */
export const statusOptionNames = [...clientOptionNames];

type StatusArgs = Awaited<ReturnType<typeof statusOptions>['argv']>;

/** Runs `steward status`; resolves with the exit code (0 found, 1 not found, 2 usage, 4 no node). */
export async function runStatus(a: StatusArgs, io: ClientIO = processIO()): Promise<number> {
  let client: NodeClient | undefined;
  try {
    client = await connectToNode(a);
    const r = await client.request({ op: 'status', id: String(a.id) });
    if (r.type === 'error') {
      io.stderr.write(`steward status: ${r.error}\n`);
      return r.code === 'notFound' || r.code === 'ambiguous' ? ExitCode.Failed : r.code === 'badRequest' ? ExitCode.Usage : ExitCode.Failed;
    }
    if (r.type !== 'status') throw new NodeFailedError(`unexpected answer from the local node: ${r.type}`);
    if (a.json) {
      const { type: _type, reqId: _reqId, ...rest } = r;
      io.stdout.write(JSON.stringify(rest) + '\n');
      return ExitCode.Ok;
    }
    if (r.sent) io.stdout.write(describeSent(r.sent));
    if (r.sent && r.received) io.stdout.write('\n');
    if (r.received) io.stdout.write(describeReceived(r.received));
    return ExitCode.Ok;
  } catch (err) {
    io.stderr.write(`steward status: ${(err as Error).message}\n`);
    return exitCodeOfError(err);
  } finally {
    client?.close();
  }
}

function field(name: string, value: string): string {
  return `  ${(name + ':').padEnd(10)} ${value}\n`;
}

function indent(text: string): string {
  const t = text.endsWith('\n') ? text.slice(0, -1) : text;
  return t
    .split('\n')
    .map((l) => `    ${l}\n`)
    .join('');
}

/** The sending side of a message, in words. */
export function describeSent(s: SentStatus): string {
  let out = `message ${s.id}, sent by ${s.fromNode}\n`;
  out += field('to', `${s.toNode} (${s.subject})`);
  out += field('data', JSON.stringify(s.data));
  const final = s.state === 'delivered' || s.state === 'expired' || s.state === 'cancelled';
  out += field('state', `${s.state}${final ? ` after ${s.attempts} attempt(s)` : `, ${s.attempts} attempt(s) so far`}`);
  out += field('created', formatTime(s.createdAt));
  if (s.finishedAt !== undefined) out += field('finished', `${formatTime(s.finishedAt)} (${s.finishedAt - s.createdAt} ms later)`);
  else out += field('updated', formatTime(s.updatedAt));
  if (s.deadline !== undefined) out += field('deadline', `${formatTime(s.deadline)} (its ttl: never sent or run after)`);
  if (s.lastError !== undefined && s.state !== 'delivered') out += field('last error', s.lastError);
  const r = s.result;
  if (r) {
    const exit = r.exitCode !== undefined && r.exitCode !== null ? `, exit code ${r.exitCode}` : '';
    out += field('result', outcomeOf(r.status) === 'ok' ? `${r.status}${exit}` : describeFailure(r));
    if (r.replyId) out += field('reply', r.replyId);
    if (r.output) out += `  output:\n${indent(r.output)}`;
  } else if (s.state === 'delivered') {
    out += field('result', 'delivered; waiting for the reply message');
  }
  return out;
}

/** The receiving side of a message, in words. */
export function describeReceived(r: ReceivedStatus): string {
  let out = `message ${r.id}, received from ${r.fromNode}\n`;
  out += field('method', `${r.method} (${r.subject})`);
  out += field('data', JSON.stringify(r.data));
  if (r.previousMessageId) out += field('answers', r.previousMessageId);
  out += field('state', r.state);
  out += field('received', formatTime(r.receivedAt));
  if (r.startedAt !== undefined) out += field('started', formatTime(r.startedAt));
  if (r.finishedAt !== undefined) out += field('finished', `${formatTime(r.finishedAt)} (${r.finishedAt - r.receivedAt} ms after receipt)`);
  const res = r.result;
  if (res) {
    const exit = res.exitCode !== undefined && res.exitCode !== null ? `, exit code ${res.exitCode}` : '';
    out += field('result', `${res.status}${exit}${res.error ? `: ${res.error}` : ''}`);
    if (res.output) out += `  output:\n${indent(res.output)}`;
  }
  return out;
}
