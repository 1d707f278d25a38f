/**
 * `steward nodes`: the node registry kept by the central node from the
 * SayHello messages every node sends: alive or stale, last seen, version.
 */
import type { Argv } from 'yargs';
import { clientOptionNames, clientOptions, connectToNode, type NodeClient } from './clientSocket.js';
import { exitCodeOfError, NodeFailedError } from './errors.js';
import { ExitCode } from './exitCodes.js';
import { formatDuration, formatTime, table } from './format.js';
import { processIO, type ClientIO } from './sendCommand.js';

/** Declares the options of `steward nodes`. */
export function nodesOptions<T>(y: Argv<T>) {
  return clientOptions(y).option('staleAfter', {
    type: 'number',
    describe: 'seconds without a SayHello after which a node is stale',
    defaultDescription: "3 × the central node's sayHelloInterval, at least 10",
  });
}

/** The names of every `steward nodes` option. */
export const nodesOptionNames = [...clientOptionNames, 'staleAfter'];

type NodesArgs = Awaited<ReturnType<typeof nodesOptions>['argv']>;

/** Runs `steward nodes`; resolves with the exit code (0, 2 usage, 4 no node). */
export async function runNodes(a: NodesArgs, io: ClientIO = processIO()): Promise<number> {
  let client: NodeClient | undefined;
  try {
    client = await connectToNode(a);
    const r = await client.request({ op: 'nodes', ...(a.staleAfter !== undefined ? { staleAfter: a.staleAfter } : {}) });
    if (r.type === 'error') {
      io.stderr.write(`steward nodes: ${r.error}\n`);
      return r.code === 'badRequest' ? ExitCode.Usage : ExitCode.Failed;
    }
    if (r.type !== 'nodes') throw new NodeFailedError(`unexpected answer from the local node: ${r.type}`);
    if (!r.isCentral && r.nodes.length === 0)
      io.stderr.write(
        `steward nodes: node ${r.node} keeps no registry: only the central node (${r.central}) records SayHello; run this on ${r.central}\n`,
      );
    if (a.json) {
      for (const n of r.nodes) io.stdout.write(JSON.stringify(n) + '\n');
      return ExitCode.Ok;
    }
    if (r.nodes.length === 0) return ExitCode.Ok;
    io.stdout.write(
      table(
        ['NODE', 'STATUS', 'LAST SEEN', 'VERSION', 'FIRST SEEN'],
        r.nodes.map((n) => [
          n.name,
          n.alive ? 'alive' : 'stale',
          `${formatDuration(n.ageSeconds)} ago`,
          n.version ?? '-',
          formatTime(n.firstSeen),
        ]),
      ),
    );
    const alive = r.nodes.filter((n) => n.alive).length;
    io.stdout.write(
      `${r.nodes.length} node(s): ${alive} alive, ${r.nodes.length - alive} stale (stale after ${r.staleAfter} s without a SayHello)\n`,
    );
    return ExitCode.Ok;
  } catch (err) {
    io.stderr.write(`steward nodes: ${(err as Error).message}\n`);
    return exitCodeOfError(err);
  } finally {
    client?.close();
  }
}
