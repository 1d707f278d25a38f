/**
 * `steward nodes`: the node registry kept by the central node from the
 * SayHello messages every node sends: alive or stale, last seen, version;
 * with `--where`, only the nodes whose facts match, and their facts.
 */
import type { Argv } from 'yargs';
import { clientOptionNames, clientOptions, connectToNode, type NodeClient } from './clientSocket.js';
import { exitCodeOfError, NodeFailedError } from './errors.js';
import { ExitCode } from './exitCodes.js';
import { formatDuration, formatTime, table } from './format.js';
import { processIO, type ClientIO } from './sendCommand.js';
import { factsLine, matchesWhere, parseWhere } from './where.js';

/** Declares the options of `steward nodes`. */
export function nodesOptions<T>(y: Argv<T>) {
  return clientOptions(y)
    .option('staleAfter', {
      type: 'number',
      describe: 'seconds without a SayHello after which a node is stale',
      defaultDescription: "3 × the central node's sayHelloInterval, at least 10",
    })
    .option('where', {
      type: 'string',
      array: true,
      describe: 'only nodes whose facts match, e.g. arch=arm64 or tag:site=north (globs allowed; every --where must hold)',
    })
    .option('facts', { type: 'boolean', default: false, describe: "show each node's facts (os, arch, kernel, version, tags)" });
}

/** The names of every `steward nodes` option. */
export const nodesOptionNames = [...clientOptionNames, 'staleAfter', 'where', 'facts'];

type NodesArgs = Awaited<ReturnType<typeof nodesOptions>['argv']>;

/** Runs `steward nodes`; resolves with the exit code (0, 2 usage, 4 no node). */
export async function runNodes(a: NodesArgs, io: ClientIO = processIO()): Promise<number> {
  let client: NodeClient | undefined;
  try {
    const where = parseWhere((a.where ?? []).map(String));
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
    const nodes = where.length > 0 ? r.nodes.filter((n) => matchesWhere(where, n)) : r.nodes;
    if (a.json) {
      for (const n of nodes) io.stdout.write(JSON.stringify(n) + '\n');
      return ExitCode.Ok;
    }
    const matching = where.length > 0 ? ` matching ${where.map((c) => c.text).join(' and ')}` : '';
    if (nodes.length === 0) {
      if (where.length > 0) io.stdout.write(`no node${matching} (of ${r.nodes.length} in the registry)\n`);
      return ExitCode.Ok;
    }
    const showFacts = a.facts || where.length > 0;
    io.stdout.write(
      table(
        ['NODE', 'STATUS', 'LAST SEEN', 'VERSION', 'FIRST SEEN', ...(showFacts ? ['FACTS'] : [])],
        nodes.map((n) => [
          n.name,
          (n.alive ? 'alive' : 'stale') + (n.keyApproved === false ? ', key not approved' : ''),
          `${formatDuration(n.ageSeconds)} ago`,
          n.version ?? '-',
          formatTime(n.firstSeen),
          ...(showFacts ? [factsLine(n) || '-'] : []),
        ]),
      ),
    );
    const alive = nodes.filter((n) => n.alive).length;
    io.stdout.write(
      `${nodes.length} node(s)${matching}: ${alive} alive, ${nodes.length - alive} stale (stale after ${r.staleAfter} s without a SayHello)\n`,
    );
    return ExitCode.Ok;
  } catch (err) {
    io.stderr.write(`steward nodes: ${(err as Error).message}\n`);
    return exitCodeOfError(err);
  } finally {
    client?.close();
  }
}
