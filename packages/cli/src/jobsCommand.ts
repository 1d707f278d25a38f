/**
 * `steward jobs`: the messages the local node sent recently, newest first,
 * with their delivery state and result. SayHello messages are left out
 * unless asked for (`--method SayHello` or `--all`).
 */
import type { Argv } from 'yargs';
import { OutboxState } from '@steward/core';
import { defaultJobsLimit, maxJobsLimit, type JobSummary } from '@steward/node/client';
import { clientOptionNames, clientOptions, connectToNode, type NodeClient } from './clientSocket.js';
import { exitCodeOfError, NodeFailedError } from './errors.js';
import { ExitCode } from './exitCodes.js';
import { formatTime, oneLine, shortId, table } from './format.js';
import { processIO, type ClientIO } from './sendCommand.js';

/** Declares the options of `steward jobs`. */
export function jobsOptions<T>(y: Argv<T>) {
  return clientOptions(y)
    .option('state', {
      type: 'string',
      describe: `only these delivery states, comma-separated: open, ${Object.values(OutboxState).join(', ')}`,
    })
    .option('toNode', {
      type: 'string',
      alias: 'to',
      describe: 'only messages to this node (a name or a glob); --node names the local node, as in every command',
    })
    .option('method', { type: 'string', describe: 'only messages of this method' })
    .option('limit', { type: 'number', default: defaultJobsLimit, describe: `how many, at most ${maxJobsLimit}` })
    .option('all', { type: 'boolean', default: false, describe: 'include SayHello messages' });
}

/** The names of every `steward jobs` option. */
export const jobsOptionNames = [...clientOptionNames, 'state', 'toNode', 'to', 'method', 'limit', 'all'];

type JobsArgs = Awaited<ReturnType<typeof jobsOptions>['argv']>;

/** Runs `steward jobs`; resolves with the exit code (0, 2 usage, 4 no node). */
export async function runJobs(a: JobsArgs, io: ClientIO = processIO()): Promise<number> {
  let client: NodeClient | undefined;
  try {
    client = await connectToNode(a);
    const r = await client.request({
      op: 'jobs',
      limit: a.limit,
      all: a.all,
      ...(a.state !== undefined ? { state: a.state } : {}),
      ...(a.toNode !== undefined ? { node: a.toNode } : {}),
      ...(a.method !== undefined ? { method: a.method } : {}),
    });
    if (r.type === 'error') {
      io.stderr.write(`steward jobs: ${r.error}\n`);
      return r.code === 'badRequest' ? ExitCode.Usage : ExitCode.Failed;
    }
    if (r.type !== 'jobs') throw new NodeFailedError(`unexpected answer from the local node: ${r.type}`);
    if (a.json) {
      for (const j of r.jobs) io.stdout.write(JSON.stringify(j) + '\n');
      return ExitCode.Ok;
    }
    if (r.jobs.length === 0) {
      io.stderr.write(`no messages sent by ${r.node} match\n`);
      return ExitCode.Ok;
    }
    io.stdout.write(
      table(
        ['ID', 'CREATED', 'TO', 'METHOD', 'STATE', 'TRIES', 'RESULT'],
        r.jobs.map((j) => [shortId(j.id), formatTime(j.createdAt), j.toNode, j.method, j.state, String(j.attempts), resultOf(j)]),
      ),
    );
    return ExitCode.Ok;
  } catch (err) {
    io.stderr.write(`steward jobs: ${(err as Error).message}\n`);
    return exitCodeOfError(err);
  } finally {
    client?.close();
  }
}

function resultOf(j: JobSummary): string {
  if (j.state === 'expired') return oneLine(j.lastError ?? 'no ACK', 50);
  if (j.ackStatus === undefined) return j.state === 'delivered' ? 'sent' : '';
  return j.exitCode !== undefined && j.exitCode !== null ? `${j.ackStatus} (exit ${j.exitCode})` : j.ackStatus;
}
