/**
 * `steward cancel <id>...`: takes back messages the local node sent (see the
 * node's api/cancelRequest.ts). A message never sent is withdrawn; one that
 * was sent is not resent and its receiver is told (a `Cancel` message), whose
 * answer this command waits for and prints (`--no-wait`: it does not); one
 * that had finished is reported, unchanged.
 */
import type { Argv } from 'yargs';
import type { CancelResult, SentStatus } from '@steward/node/client';
import { clientOptionNames, clientOptions, connectToNode, type NodeClient } from './clientSocket.js';
import { exitCodeOfError, NodeFailedError } from './errors.js';
import { ExitCode } from './exitCodes.js';
import { processIO, type ClientIO } from './sendCommand.js';

/** Declares the options of `steward cancel`. */
export function cancelOptions<T>(y: Argv<T>) {
  return clientOptions(y)
    .positional('ids', { type: 'string', array: true, describe: 'message ids (or their first or last 6 or more characters)' })
    .option('toNode', { type: 'string', describe: 'with no ids: every unfinished message to this node (or glob)' })
    .option('state', {
      type: 'string',
      choices: ['queued', 'open'],
      describe: 'with no ids: only messages in this state (queued: never sent)',
    })
    .option('wait', { type: 'boolean', default: true, describe: "wait for the receivers' answers (--no-wait: do not)" });
}

/** The names of every `steward cancel` option. */
export const cancelOptionNames = [...clientOptionNames, 'toNode', 'state', 'wait'];

type CancelArgs = Awaited<ReturnType<typeof cancelOptions>['argv']>;

/** How long to wait between two looks at a Cancel message on its way. */
const pollMs = 300;

/**
 * Runs `steward cancel`; resolves with the exit code: 0 every message is
 * cancelled (now or before), 1 some had finished otherwise, were refused by
 * the receiver or are unknown, 2 usage, 3 a receiver could not be told (its
 * Cancel expired), 4 no local node, 5 mixed.
 */
export async function runCancel(a: CancelArgs, io: ClientIO = processIO()): Promise<number> {
  let client: NodeClient | undefined;
  try {
    client = await connectToNode(a);
    const req: Record<string, unknown> = { op: 'cancel', ids: (a.ids ?? []).map(String) };
    if (a.toNode !== undefined) req.toNode = a.toNode;
    if (a.state !== undefined) req.state = a.state;
    const r = await client.request(req);
    if (r.type === 'error') {
      io.stderr.write(`steward cancel: ${r.error}\n`);
      return r.code === 'badRequest' ? ExitCode.Usage : ExitCode.Failed;
    }
    if (r.type !== 'cancel') throw new NodeFailedError(`unexpected answer from the local node: ${r.type}`);
    if (r.results.length === 0) io.stderr.write('steward cancel: no message matched\n');
    const answers = a.wait ? await receiverAnswers(client, r.results) : new Map<string, Answer>();
    const codes: number[] = [];
    for (const res of r.results) {
      const { line, code } = describe(res, answers.get(res.cancelId ?? ''));
      codes.push(code);
      if (a.json)
        io.stdout.write(
          JSON.stringify({ ...res, ...(answers.has(res.cancelId ?? '') ? { answer: answerFor(res, answers) } : {}), exitCode: code }) +
            '\n',
        );
      else io.stdout.write(line + '\n');
    }
    return combine(codes);
  } catch (err) {
    io.stderr.write(`steward cancel: ${(err as Error).message}\n`);
    return exitCodeOfError(err);
  } finally {
    client?.close();
  }
}

/** What the Cancel message brought back: its final state and the receiver's lines. */
interface Answer {
  sent: SentStatus;
}

/** Waits until every Cancel message sent has ended, by looking at it in the journal. */
async function receiverAnswers(client: NodeClient, results: CancelResult[]): Promise<Map<string, Answer>> {
  const ids = new Set(results.map((r) => r.cancelId).filter((id): id is string => id !== undefined));
  const out = new Map<string, Answer>();
  while (out.size < ids.size) {
    for (const id of ids) {
      if (out.has(id)) continue;
      const r = await client.request({ op: 'status', id });
      if (r.type === 'status' && r.sent && ['delivered', 'expired', 'cancelled'].includes(r.sent.state)) out.set(id, { sent: r.sent });
    }
    if (out.size < ids.size) await new Promise((res) => setTimeout(res, pollMs));
  }
  return out;
}

/** The receiver's line about `res`, from its Cancel's ACK output. */
function answerFor(res: CancelResult, answers: Map<string, Answer>): string | undefined {
  const sent = answers.get(res.cancelId ?? '')?.sent;
  const line = sent?.ack?.output?.split('\n').find((l) => l.startsWith(`${res.id} `));
  return line?.slice(res.id.length + 1);
}

function describe(res: CancelResult, answer: Answer | undefined): { line: string; code: number } {
  const to = res.toNode !== undefined ? ` to ${res.toNode}` : '';
  switch (res.outcome) {
    case 'unknown':
      return { line: `${res.id}: no message with this id was sent by this node`, code: ExitCode.Failed };
    case 'finished': {
      const how = res.status !== undefined ? `${res.state}, ${res.status}` : res.state;
      const cancelled = res.state === 'cancelled' || res.status === 'cancelled';
      return { line: `${res.id}${to}: already finished (${how}): nothing changed`, code: cancelled ? ExitCode.Ok : ExitCode.Failed };
    }
    case 'withdrawn':
      return { line: `${res.id}${to}: cancelled: withdrawn from the outbox, never sent`, code: ExitCode.Ok };
    case 'toReceiver': {
      const told = `${res.id}${to}: cancelled here (not resent); ${res.toNode ?? 'the receiver'} is told by Cancel ${res.cancelId ?? '?'}`;
      if (!answer) return { line: told, code: ExitCode.Ok };
      const sent = answer.sent;
      if (sent.state === 'expired')
        return { line: `${told}: it could not be told (${sent.lastError ?? 'no ACK'})`, code: ExitCode.Unreachable };
      const ack = sent.ack;
      const mine = ack?.output?.split('\n').find((l) => l.startsWith(`${res.id} `));
      const said = mine ? mine.slice(res.id.length + 1) : (ack?.error ?? ack?.status ?? sent.state);
      const ok = mine !== undefined && !mine.includes(' refused') && !mine.includes('already finished');
      return { line: `${told}: ${res.toNode ?? 'it'} says: ${said}`, code: ok ? ExitCode.Ok : ExitCode.Failed };
    }
  }
}

function combine(codes: number[]): number {
  if (codes.length === 0) return ExitCode.Failed;
  const first = codes[0]!;
  return codes.every((c) => c === first) ? first : ExitCode.Partial;
}
