/**
 * `steward send`: hands messages to the local node over its socket, waits
 * for every answer and prints it.
 *
 * ```
 * steward send --toNode ship1 -- bash -c 'uptime'          # one node, output as is
 * steward send --toNodes 'ship*' --batch 10 -- apt-get -y upgrade   # fan-out over the registry
 * steward send --file msgs.json                             # a file in inmsg.txt format; - for stdin
 * steward send --where tag:site=north --ttl 3600 -- systemctl restart app   # by facts; pointless after an hour
 * ```
 *
 * The input is checked before anything is sent (exit code 2); the node
 * journals the messages before it says they are accepted, so once accepted
 * they are delivered even if this command is interrupted.
 */
import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { Argv } from 'yargs';
import { DataShape, MessageKind, methodInfo, parseInmsg, parseMessageSpec, ValidationError } from '@steward/core';
import { maxMessagesPerRequest, type AcceptedMessage, type NodeStatus, type SocketResponse } from '@steward/node/client';
import { clientOptionNames, clientOptions, connectToNode, type NodeClient } from './clientSocket.js';
import { ConnectionLostError, exitCodeOfError, NodeFailedError, UsageError } from './errors.js';
import { ExitCode } from './exitCodes.js';
import { SendReport } from './sendReport.js';
import { expandGroups, groupsFileName, isGlob, parseGroups, resolveTargets, splitTargets, type TargetGroups } from './targets.js';
import { parseWhere, selectByFacts, type WhereCondition } from './where.js';

/** Declares the options of `steward send`. */
export function sendOptions<T>(y: Argv<T>) {
  return clientOptions(y)
    .usage('steward send --toNode <node> [options] -- <command> [args...]\nsteward send --file <messages.json | -> [options]')
    .option('toNode', { type: 'string', describe: 'the node to send to (a name, or a glob over the registry)' })
    .option('toNodes', {
      type: 'string',
      array: true,
      describe: 'nodes to send to, comma-separated names, globs and @groups (ship1,ship2 or "ship*" or @web): one message per node',
    })
    .option('method', { type: 'string', describe: 'the method to run on the node', defaultDescription: 'CLICommand' })
    .option('commandOrEvent', { choices: Object.values(MessageKind), describe: 'the kind', defaultDescription: "the method's own" })
    .option('file', { type: 'string', describe: 'send the messages of a JSON file (inmsg.txt format); "-" reads stdin' })
    .option('wait', { type: 'boolean', default: true, describe: 'wait for the answers; --no-wait prints the message ids and exits' })
    .option('timeout', { type: 'number', describe: 'seconds to wait for the ACK before resending', defaultDescription: "the node's" })
    .option('retries', { type: 'number', describe: 'resends after the first try; -1 = forever', defaultDescription: "the node's" })
    .option('methodTimeout', { type: 'number', describe: 'seconds the command may run; -1 = no limit', defaultDescription: "the node's" })
    .option('requestTimeout', { type: 'number', describe: 'ACK timeout of the reply message of a request method' })
    .option('requestRetries', { type: 'number', describe: 'retries of the reply message of a request method' })
    .option('replyTimeout', {
      type: 'number',
      describe: 'seconds to wait for the reply message of a request method after delivery; -1 = forever',
      defaultDescription: 'methodTimeout + 60',
    })
    .option('where', {
      type: 'string',
      array: true,
      describe: 'send to the alive nodes whose facts match, e.g. arch=arm64 or tag:site=north (every --where must hold)',
    })
    .option('ttl', {
      type: 'number',
      describe: 'seconds from now after which the message is expired instead of sent (and refused if it arrives later)',
      defaultDescription: 'none',
    })
    .option('batch', { type: 'number', describe: 'rolling fan-out: at most N messages in flight at once' })
    .option('staleAfter', {
      type: 'number',
      describe: 'seconds without a SayHello after which a node is stale (not matched by globs)',
      defaultDescription: "the central node's: 3 × its sayHelloInterval",
    })
    .example("steward send --toNode ship1 -- bash -c 'uptime'", 'run a command on ship1 and print its output')
    .example("steward send --toNodes 'ship*' --batch 5 -- systemctl restart app", 'every alive ship, five at a time')
    .example('steward send --no-wait --toNode ship1 -- make build', 'print the message id; steward status <id> later')
    .example(
      'steward send --where tag:site=north --ttl 3600 -- systemctl restart app',
      'the alive nodes tagged site=north; not after an hour',
    );
}

/** The names of every `steward send` option. */
export const sendOptionNames = [
  ...clientOptionNames,
  'toNode',
  'toNodes',
  'method',
  'commandOrEvent',
  'file',
  'wait',
  'timeout',
  'retries',
  'methodTimeout',
  'requestTimeout',
  'requestRetries',
  'replyTimeout',
  'batch',
  'staleAfter',
  'where',
  'ttl',
];

type SendArgs = Awaited<ReturnType<typeof sendOptions>['argv']>;

/** Where a client command reads and writes; the process's streams unless a test says otherwise. */
export interface ClientIO {
  stdin: NodeJS.ReadableStream;
  stdout: NodeJS.WritableStream & { isTTY?: boolean };
  stderr: NodeJS.WritableStream & { isTTY?: boolean };
}

/** The process's own streams. */
export function processIO(): ClientIO {
  return { stdin: process.stdin, stdout: process.stdout, stderr: process.stderr };
}

/** A message as written by the operator, before it is given its target. */
interface Draft {
  raw: Record<string, unknown>;
  /** Where it came from, for error messages. */
  where: string;
}

/** Runs `steward send`; resolves with the exit code. */
export async function runSend(a: SendArgs, io: ClientIO = processIO()): Promise<number> {
  let client: NodeClient | undefined;
  try {
    const drafts = await readDrafts(a, io);
    const given = splitTargets([...(a.toNode ? [a.toNode] : []), ...(a.toNodes ?? []).map(String)]);
    const groupsFile = join(resolve(a.nodeFolder ?? '.'), groupsFileName);
    const targets = given.some((t) => t.startsWith('@')) ? expandGroups(given, await readGroups(groupsFile), groupsFile) : given;
    const where = parseWhere((a.where ?? []).map(String));
    if (targets.length === 0 && where.length === 0 && a.file === undefined)
      throw new UsageError('say where to send it: --toNode <node>, --toNodes <node,node,...|glob>, or --where <fact=value>');
    if (a.batch !== undefined && (!Number.isInteger(a.batch) || a.batch < 1)) throw new UsageError('--batch must be a whole number ≥ 1');
    if (a.replyTimeout !== undefined && !(a.replyTimeout === -1 || a.replyTimeout > 0))
      throw new UsageError('--replyTimeout must be > 0 seconds, or -1 to wait for ever');
    if (a.staleAfter !== undefined && !(a.staleAfter > 0)) throw new UsageError('--staleAfter must be > 0 seconds');
    // Check everything that does not depend on the registry before talking to the node.
    validate(
      expand(
        drafts,
        where.length > 0 && targets.length === 0 ? ['where-placeholder'] : targets.map((t) => (isGlob(t) ? 'glob-placeholder' : t)),
      ),
    );

    client = await connectToNode(a);
    let nodes = targets;
    if (targets.some(isGlob) || where.length > 0) {
      const reg = await client.request({ op: 'nodes', ...(a.staleAfter !== undefined ? { staleAfter: a.staleAfter } : {}) });
      if (reg.type === 'error') throw new NodeFailedError(`the local node could not list the registry: ${reg.error}`);
      if (reg.type !== 'nodes') throw new NodeFailedError(`unexpected answer from the local node: ${reg.type}`);
      if (reg.nodes.length === 0 && !reg.isCentral)
        throw new UsageError(
          `cannot resolve ${[...targets.filter(isGlob), ...where.map((c) => `--where ${c.text}`)].join(', ')}: node ${reg.node} keeps no registry; only the central node ` +
            `(${reg.central}) records SayHello. Run steward send on ${reg.central}, or name the nodes`,
        );
      const resolved = resolveTargets(targets, reg.nodes);
      nodes = resolved.nodes;
      for (const s of resolved.stale)
        io.stderr.write(`steward: warning: skipping stale node ${s.name} (last SayHello ${Math.round(s.ageSeconds)} s ago)\n`);
      for (const s of resolved.unapproved)
        io.stderr.write(`steward: warning: skipping node ${s.name}: its key is not approved at central\n`);
      if (where.length > 0) nodes = targetsByFacts(where, reg.nodes, targets.length > 0 ? nodes : undefined, io);
    }
    const messages = expand(drafts, nodes);
    validate(messages);
    const toNodes = messages.map((m) => String(m.raw.toNode));
    const multi = messages.length > 1 || a.toNodes !== undefined || where.length > 0 || given.some((t) => isGlob(t) || t.startsWith('@'));
    const report = new SendReport({
      json: a.json,
      total: messages.length,
      multi,
      perNode: new Set(toNodes).size === messages.length,
      live: !a.json && io.stdout.isTTY === true && io.stderr.isTTY === true,
      out: io.stdout,
      err: io.stderr,
    });
    return await execute(client, messages, a, report);
  } catch (err) {
    io.stderr.write(`steward send: ${(err as Error).message}\n`);
    return exitCodeOfError(err);
  } finally {
    client?.close();
  }
}

/**
 * The nodes `--where` chooses (among `among`, the other targets, when
 * given): the alive nodes whose facts match and, where central checks
 * signatures, whose key it approved. Says on stderr which nodes matched and
 * which were skipped, before anything is sent.
 *
 * @throws {@link UsageError} when no node can be sent to.
 */
function targetsByFacts(
  where: readonly WhereCondition[],
  registry: readonly NodeStatus[],
  among: readonly string[] | undefined,
  io: ClientIO,
): string[] {
  const inTargets = (n: NodeStatus) => among === undefined || among.includes(n.name);
  const sel = selectByFacts(where, registry);
  const what = where.map((c) => c.text).join(' and ');
  for (const n of sel.stale.filter(inTargets))
    io.stderr.write(`steward: --where ${what}: skipping stale node ${n.name} (last SayHello ${Math.round(n.ageSeconds)} s ago)\n`);
  for (const n of sel.unapproved.filter(inTargets))
    io.stderr.write(`steward: --where ${what}: skipping node ${n.name}: its key is not approved at central (steward keys list)\n`);
  const nodes = sel.nodes.filter(inTargets).map((n) => n.name);
  if (nodes.length === 0)
    throw new UsageError(
      `no alive node with an approved key matches ${what}${among !== undefined ? ` among ${among.join(', ')}` : ''}; nothing was sent`,
    );
  io.stderr.write(`steward: --where ${what} matches ${nodes.length} node(s): ${nodes.join(', ')}\n`);
  return nodes;
}

/** Reads the messages from --file/stdin, or builds the one message the flags and the command after `--` describe. */
async function readDrafts(a: SendArgs, io: ClientIO): Promise<Draft[]> {
  const argv = a._.slice(1).map(String);
  const overrides: Record<string, unknown> = {};
  for (const k of ['timeout', 'retries', 'methodTimeout', 'requestTimeout', 'requestRetries', 'ttl'] as const) {
    if (a[k] !== undefined) overrides[k] = a[k];
  }
  if (a.method !== undefined) overrides.method = a.method;
  if (a.commandOrEvent !== undefined) overrides.commandOrEvent = a.commandOrEvent;

  if (a.file === undefined) {
    const method = a.method ?? 'CLICommand';
    if (methodInfo(method)?.data === DataShape.Argv && argv.length === 0)
      throw new UsageError(`give the command to run after --, e.g. steward send --toNode ship1 -- bash -c 'uptime'`);
    return [{ raw: { method, data: argv, ...overrides }, where: 'the message' }];
  }
  if (argv.length > 0) throw new UsageError('give either a command after -- or --file, not both');
  const name = a.file === '-' ? 'stdin' : a.file;
  let content: string;
  try {
    content = a.file === '-' ? await readAll(io.stdin) : await readFile(a.file, 'utf8');
  } catch (err) {
    throw new UsageError(`cannot read ${name}: ${(err as Error).message}`, { cause: err });
  }
  // As in inmsg.txt, lines starting with # are comments.
  const { entries, failures } = parseInmsg(content.replace(/^#.*$/gm, ''));
  const problems = failures.map((f) => `${name} value ${f.valueIndex + 1} (line ${f.line}): ${f.reason}`);
  const drafts: Draft[] = [];
  for (const e of entries) {
    const where = `${name} value ${e.valueIndex + 1}, entry ${e.entryIndex + 1} (line ${e.line})`;
    if (typeof e.value !== 'object' || e.value === null || Array.isArray(e.value)) problems.push(`${where}: must be a message object`);
    else drafts.push({ raw: { ...(e.value as Record<string, unknown>), ...overrides }, where });
  }
  if (problems.length > 0) throw new UsageError(`${name} has errors; nothing was sent:\n  ${problems.join('\n  ')}`);
  if (drafts.length === 0) throw new UsageError(`${name} holds no messages`);
  return drafts;
}

/** The groups file, or undefined when there is none. */
async function readGroups(file: string): Promise<TargetGroups | undefined> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new UsageError(`cannot read ${file}: ${(err as Error).message}`, { cause: err });
  }
  return parseGroups(text, file);
}

async function readAll(stream: NodeJS.ReadableStream): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : chunk);
  return Buffer.concat(chunks).toString('utf8');
}

/** One message per target node (each draft to each node), or the drafts as they are when no target is given. */
function expand(drafts: readonly Draft[], nodes: readonly string[]): Draft[] {
  if (nodes.length === 0) return [...drafts];
  return nodes.flatMap((toNode) => drafts.map((d) => ({ raw: { ...d.raw, toNode }, where: d.where })));
}

/** @throws {@link UsageError} naming every wrong field of every message. */
function validate(messages: readonly Draft[]): void {
  const problems: string[] = [];
  const seen = new Set<string>();
  for (const m of messages) {
    try {
      parseMessageSpec(m.raw);
    } catch (err) {
      if (!(err instanceof ValidationError)) throw err;
      const text = `${m.where}: ${err.message}`;
      // A bad field of a message sent to many nodes is said once.
      if (!seen.has(text)) problems.push(text);
      seen.add(text);
    }
  }
  if (problems.length > 0) throw new UsageError(`invalid message; nothing was sent:\n  ${problems.join('\n  ')}`);
}

/** Sends the messages (all at once, or `--batch` at a time) and reports; resolves with the exit code. */
async function execute(client: NodeClient, messages: readonly Draft[], a: SendArgs, report: SendReport): Promise<number> {
  const pending = new Map<string, AcceptedMessage>();
  const base = { op: 'send', wait: a.wait, ...(a.replyTimeout !== undefined ? { replyTimeout: a.replyTimeout } : {}) };
  let stopped = false;

  const sendGroup = async (group: readonly Draft[]): Promise<void> => {
    if (stopped) return;
    let accepted = false;
    const final = await client.request(
      { ...base, messages: group.map((m) => m.raw) },
      {
        isFinal: (r) => r.type === 'error' || r.type === 'done' || (!a.wait && r.type === 'accepted'),
        onResponse: (r: SocketResponse) => {
          if (r.type === 'accepted') {
            accepted = true;
            for (const m of r.messages) pending.set(m.id, m);
            for (const w of r.warnings ?? []) report.warn(`${group[w.index]?.where ?? `message ${w.index + 1}`}: ${w.warning}`);
            if (!a.wait) report.accepted(r.messages);
          } else if (r.type === 'progress') report.progress(r);
          else if (r.type === 'result') {
            pending.delete(r.id);
            const { type: _type, reqId: _reqId, ...result } = r;
            report.result(result);
          }
        },
      },
    );
    if (final.type === 'error') {
      const where = (final.problems ?? []).map(
        (p) => `${p.index !== undefined ? (group[p.index]?.where ?? '') + ': ' : ''}field "${p.field}": ${p.reason}`,
      );
      const text = where.length
        ? `the node refused the messages:\n  ${where.join('\n  ')}`
        : `the node refused the messages: ${final.error}`;
      if (accepted || final.code === 'internal') throw new NodeFailedError(text);
      throw new UsageError(text);
    }
  };

  const run = async (): Promise<void> => {
    if (a.wait && a.batch !== undefined) {
      // Rolling: a new message goes out as soon as one finishes.
      let next = 0;
      const worker = async () => {
        while (!stopped && next < messages.length) await sendGroup([messages[next++]!]);
      };
      await Promise.all(Array.from({ length: Math.min(a.batch, messages.length) }, worker));
    } else {
      const groups: Draft[][] = [];
      for (let i = 0; i < messages.length; i += maxMessagesPerRequest) groups.push(messages.slice(i, i + maxMessagesPerRequest));
      await Promise.all(groups.map(sendGroup));
    }
  };

  let onSigint: (() => void) | undefined;
  const interrupted = new Promise<'interrupted'>((resolve) => {
    onSigint = () => resolve('interrupted');
    process.once('SIGINT', onSigint);
  });
  const work = run().then(() => 'done' as const);
  try {
    const how = await Promise.race([work, interrupted]);
    if (how === 'interrupted') {
      stopped = true;
      work.catch(() => undefined);
      return report.finish({ interrupted: true, pending: [...pending.values()] });
    }
  } catch (err) {
    stopped = true;
    if (!(err instanceof ConnectionLostError)) throw err;
    report.finish({ interrupted: false });
    if (pending.size > 0)
      throw new ConnectionLostError(
        `${err.message}\n${pending.size} message(s) were accepted and are journaled: the node delivers them when it runs again. ` +
          `Their ids:\n  ${[...pending.values()].map((p) => `${p.toNode} ${p.id}`).join('\n  ')}`,
        { cause: err },
      );
    throw err;
  } finally {
    if (onSigint) process.off('SIGINT', onSigint);
  }
  if (!a.wait) return ExitCode.Ok;
  return report.finish();
}
