/**
 * `steward watch`: the local node's live events (deliveries and their
 * attempts, executions, failures, process restarts), one line each, until
 * Ctrl-C. Human lines on a terminal; JSON lines with `--json`, or when the
 * output is not a terminal (`--json false` forces human lines).
 *
 * The command reads only as fast as its output is taken: when stdout is
 * backed up it stops reading the socket, and the node then drops events for
 * it (never waiting) and later says how many with a `dropped` line.
 */
import type { Argv } from 'yargs';
import { isFailureEvent, minWatchIdPart, type SocketResponse, type WatchEvent } from '@steward/node/client';
import { clientOptionNames, clientOptions, connectToNode, type NodeClient } from './clientSocket.js';
import { exitCodeOfError, NodeFailedError } from './errors.js';
import { ExitCode } from './exitCodes.js';
import { formatTime, oneLine, shortId } from './format.js';
import { processIO, type ClientIO } from './sendCommand.js';

/** Declares the options of `steward watch`. */
export function watchOptions<T>(y: Argv<T>) {
  return clientOptions(y)
    .option('toNode', {
      type: 'string',
      alias: 'to',
      describe: 'only messages to this node (a name or a glob); --node names the local node, as in every command',
    })
    .option('method', { type: 'string', describe: 'only messages of this method' })
    .option('id', {
      type: 'string',
      describe: `only this message (an id, or its first or last ${minWatchIdPart} or more characters) and its reply`,
    })
    .option('failures', { type: 'boolean', default: false, describe: 'only failures: expiries, failed results, refusals, restarts' })
    .option('json', {
      type: 'boolean',
      default: undefined,
      describe: 'one JSON object per line (--json false: human lines)',
      defaultDescription: 'on when stdout is not a terminal',
    });
}

/** The names of every `steward watch` option. */
export const watchOptionNames = [...clientOptionNames, 'toNode', 'to', 'method', 'id', 'failures'];

type WatchArgs = Awaited<ReturnType<typeof watchOptions>['argv']>;

/**
 * Runs `steward watch` until Ctrl-C (SIGINT), SIGTERM, its output closing,
 * or `stop`; resolves with the exit code (0, 2 usage, 4 no node or the node stopped).
 */
export async function runWatch(a: WatchArgs, io: ClientIO = processIO(), stop?: Promise<void>): Promise<number> {
  const json = a.json ?? io.stdout.isTTY !== true;
  let client: NodeClient | undefined;
  let ended: () => void = () => undefined;
  const endedByUser = new Promise<'stopped'>((resolve) => (ended = () => resolve('stopped')));
  const onSignal = () => ended();
  // Output closed (`steward watch | head`): the reader is gone, and so is the point of watching.
  const onOutputError = () => ended();
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  io.stdout.on('error', onOutputError);
  void stop?.then(onSignal);
  try {
    const c = await connectToNode(a);
    client = c;
    let paused = false;
    const write = (line: string) => {
      // stdout is backed up: stop reading, so the node (not this process) holds or drops the events.
      if (!io.stdout.write(line + '\n') && !paused) {
        paused = true;
        c.pause();
        io.stdout.once('drain', () => {
          paused = false;
          c.resume();
        });
      }
    };
    const onResponse = (r: SocketResponse) => {
      if (r.type === 'watching') {
        // A script knows from this line on that no event is missed; a person is told how to stop.
        if (json) write(JSON.stringify({ ...r, reqId: undefined }));
        else io.stderr.write(`watching node ${r.node}; Ctrl-C to stop\n`);
      } else if (r.type === 'event' || r.type === 'dropped') {
        // The reqId is this connection's business, not the reader's.
        write(json ? JSON.stringify({ ...r, reqId: undefined }) : humanLine(r));
      }
    };
    const request = c.request(
      {
        op: 'watch',
        failures: a.failures,
        ...(a.toNode !== undefined ? { toNode: a.toNode } : {}),
        ...(a.method !== undefined ? { method: a.method } : {}),
        ...(a.id !== undefined ? { id: a.id } : {}),
      },
      { onResponse, isFinal: (r) => r.type === 'error' },
    );
    const how = await Promise.race([request, endedByUser]);
    if (how === 'stopped') return ExitCode.Ok;
    if (how.type === 'error') {
      io.stderr.write(`steward watch: ${how.error}\n`);
      return how.code === 'badRequest' ? ExitCode.Usage : ExitCode.Failed;
    }
    throw new NodeFailedError(`unexpected answer from the local node: ${how.type}`);
  } catch (err) {
    io.stderr.write(`steward watch: ${(err as Error).message}\n`);
    return exitCodeOfError(err);
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    io.stdout.off('error', onOutputError);
    client?.close();
  }
}

/** An `event` or `dropped` response. */
type WatchLine = Extract<SocketResponse, { type: 'event' } | { type: 'dropped' }>;

/** One event as a line for a person: time (UTC), id, direction and node, method, what happened. */
export function humanLine(line: WatchLine): string {
  if (line.type === 'dropped') {
    const n = line.count;
    return `${clock(Date.now())}    -- ${n} event${n === 1 ? '' : 's'} dropped since ${clock(line.since)}: this reader fell behind --`;
  }
  const e: WatchEvent = line;
  const time = clock(e.time);
  const mark = isFailureEvent(e) ? '!' : ' ';
  switch (e.kind) {
    case 'delivery': {
      const details: string[] = [];
      if (e.source !== undefined) details.push(`from ${e.source}`);
      if (e.state === 'sending' && e.attempts !== undefined) details.push(`attempt ${e.attempts}`);
      if (e.status !== undefined) details.push(withExit(e.status, e.exitCode));
      // lastError stays set on the next attempts: told where it happened.
      if (e.error !== undefined && (e.state === 'retryWait' || e.state === 'expired' || e.state === 'delivered'))
        details.push(oneLine(e.error, 100));
      if (e.previousMessageId !== undefined) details.push(`reply to ${shortId(e.previousMessageId)}`);
      return `${time} ${mark} ${shortId(e.id)}  → ${e.toNode.padEnd(12)} ${e.method.padEnd(18)} ${e.state}${list(details)}`;
    }
    case 'execution': {
      const details: string[] = [];
      if (e.status !== undefined && e.status !== e.state) details.push(withExit(e.status, e.exitCode));
      else if (e.exitCode !== undefined && e.exitCode !== null) details.push(`exit ${e.exitCode}`);
      if (e.error !== undefined) details.push(oneLine(e.error, 100));
      if (e.previousMessageId !== undefined) details.push(`reply to ${shortId(e.previousMessageId)}`);
      return `${time} ${mark} ${shortId(e.id)}  ← ${e.fromNode.padEnd(12)} ${e.method.padEnd(18)} ${e.state}${list(details)}`;
    }
    case 'failure':
      return `${time} ${mark} ${(e.id === undefined ? '-' : shortId(e.id)).padEnd(8)}  failure ${e.failureKind}: ${oneLine(e.text, 200)}`;
    case 'process': {
      const details: string[] = [];
      if (e.delayMs !== undefined) details.push(`in ${e.delayMs} ms`);
      if (e.restartCount !== undefined) details.push(`restart ${e.restartCount}`);
      if (e.error !== undefined) details.push(oneLine(e.error, 100));
      return `${time} ${mark} ${'-'.padEnd(8)}  process ${e.process} ${e.state}${list(details)}`;
    }
  }
}

/** The time of day (UTC) of an epoch-milliseconds time, to the millisecond. */
function clock(ms: number): string {
  return formatTime(ms).slice(11, 23);
}

function withExit(status: string, exitCode: number | null | undefined): string {
  return exitCode !== undefined && exitCode !== null ? `${status}, exit ${exitCode}` : status;
}

function list(details: string[]): string {
  return details.length ? `: ${details.join('; ')}` : '';
}
