/**
 * The seed's methods between real nodes: `central` (the central error
 * logger) sends to `ship1` (which says hello every second) through a real
 * nats-server. Messages go in through central's inmsg.txt, as an operator
 * would send them; the tests check the files, journals, error log and
 * processes an operator would look at.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';

import {
  cleanupHarness,
  makeTempDir,
  readFileOr,
  readLines,
  startNatsServer,
  startNode,
  tailLines,
  waitFor,
  type NatsServerHandle,
  type NodeHandle,
  inboxRows,
  outboxRows,
  queryJournal,
} from './helpers/index.js';

after(cleanupHarness);

/** A message as it is stored in the journal. */
interface JournalMessage {
  id: string;
  toNode: string;
  fromNode: string;
  method: string;
  data: string[];
  previousMessageId?: string;
}

/** The ACK stored with a delivered message, and an execution's stored result. */
interface JournalReply {
  node: string;
  status: string;
  output?: string;
  error?: string;
  exitCode?: number | null;
  duplicate?: boolean;
}

/** One outbox row, with its JSON columns parsed. */
interface Sent {
  id: string;
  subject: string;
  state: string;
  attempts: number;
  message: JournalMessage;
  reply: JournalReply | undefined;
  finishedAt: number | null;
}

/** One inbox row, with its JSON columns parsed. */
interface Received {
  id: string;
  subject: string;
  state: string;
  message: JournalMessage;
  result: JournalReply | undefined;
  receivedAt: number;
  startedAt: number | null;
  finishedAt: number | null;
}

/** Runs a query on a node's journal, opened read-only beside the running node. */
const query = queryJournal;

function outbox(node: NodeHandle): Sent[] {
  return outboxRows<JournalMessage, JournalReply>(node);
}

function inbox(node: NodeHandle): Received[] {
  return inboxRows<JournalMessage, JournalReply>(node);
}

/**
 * The one message `node` sent whose data contains `text`, once it reached
 * `state`. ErrorLog reports quote the commands they are about, so they are left out.
 */
function sentWith(node: NodeHandle, text: string, state = 'delivered'): Sent | undefined {
  const rows = outbox(node).filter((s) => s.message.method !== 'ErrorLog' && s.message.data.join(' ').includes(text));
  assert.ok(rows.length <= 1, `expected one message with ${text}, found ${rows.length}`);
  return rows[0]?.state === state ? rows[0] : undefined;
}

/** How often `needle` occurs in `text`. */
function count(text: string, needle: string): number {
  return text.split(needle).length - 1;
}

/** A unique marker for one test's commands and texts. */
function uniqueTag(name: string): string {
  return `${name}${Date.now()}${Math.floor(Math.random() * 1e6)}`;
}

/** The command lines of every process on the machine, as argv arrays. */
function processCommandLines(): string[][] {
  const lines: string[][] = [];
  for (const pid of readdirSync('/proc').filter((name) => /^\d+$/.test(name))) {
    try {
      const raw = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
      if (raw !== '') lines.push(raw.replace(/\0$/, '').split('\0'));
    } catch {
      // The process ended while we looked.
    }
  }
  return lines;
}

describe('seed methods between real nodes', () => {
  let broker: NatsServerHandle;
  let central: NodeHandle;
  let ship1: NodeHandle;

  before(async () => {
    broker = await startNatsServer();
    const root = await makeTempDir('steward-methods-');
    [central, ship1] = await Promise.all([
      startNode({ name: 'central', folder: join(root, 'central'), brokerHostPort: broker.hostPort, args: ['--centralErrorLogger'] }),
      // Given after the harness's own `--sayHelloInterval 0`, so this one wins.
      startNode({ name: 'ship1', folder: join(root, 'ship1'), brokerHostPort: broker.hostPort, args: ['--sayHelloInterval', '1'] }),
    ]);
  });

  /** Sends messages through central's inmsg.txt. */
  const send = (...messages: object[]): Promise<void> => central.inmsg(`${JSON.stringify(messages, null, 2)}\n`);
  /** central's error log, where every node's failures end up. */
  const errorLog = (): string => readFileOr(central.dataFile('errorLog.log'));
  /** Where central stores ship1's CLICommand outputs. */
  const commandLog = (): string => readFileOr(central.dataFile('ship1', 'ship1.CommandACK.CLICommand.log'));
  /** Where central stores ship1's CLICommandReply messages. */
  const replyLog = (): string => readFileOr(central.dataFile('ship1', 'central.EventACK.CLICommandReply.log'));

  it('CLICommand: the output is stored at the sender; a failing command is reported and its output kept', async () => {
    const tag = uniqueTag('cli');
    await send({ toNode: 'ship1', method: 'CLICommand', data: ['bash', '-c', `echo ${tag}-$((6*7)) in $(basename "$PWD")`] });
    const ok = await waitFor(() => sentWith(central, tag), {
      timeoutMs: 30_000,
      message: () => `CLICommand not delivered; central log:\n${central.log().slice(-3000)}`,
    });
    assert.equal(ok.reply?.status, 'succeeded');
    assert.equal(ok.reply?.exitCode, 0);
    // Run by ship1, in ship1's folder, and stored by central.
    await waitFor(() => commandLog().includes(`${tag}-42 in ship1\n`), {
      timeoutMs: 30_000,
      message: () => `output not stored at central:\n${commandLog()}`,
    });

    const bad = uniqueTag('fail');
    await send({ toNode: 'ship1', method: 'CLICommand', data: ['bash', '-c', `echo ${bad}-out; exit 3`] });
    const failed = await waitFor(() => sentWith(central, bad), {
      timeoutMs: 30_000,
      message: () => `failing CLICommand not delivered; central log:\n${central.log().slice(-3000)}`,
    });
    assert.equal(failed.reply?.status, 'failed');
    assert.equal(failed.reply?.exitCode, 3);
    await waitFor(() => commandLog().includes(`${bad}-out\n`), {
      timeoutMs: 30_000,
      message: () => `the failed command's output was not stored at central:\n${commandLog()}`,
    });
    // The sender reports it once, naming the exit code (the failure came back in the ACK, so ship1 does not report it too).
    await waitFor(
      () => {
        const lines = readLines(central.dataFile('errorLog.log')).filter((l) => l.includes(failed.id) && l.includes('exit code 3'));
        return lines.length === 1 && / central: methodFailed: CLICommand on ship1 failed/.test(lines[0]!);
      },
      { timeoutMs: 30_000, message: () => `central's errorLog.log lacks the exit code 3 reports:\n${errorLog()}` },
    );

    // A program that does not exist: failed, with the reason, reported to central.
    const missing = `no-such-program-${uniqueTag('x')}`;
    await send({ toNode: 'ship1', method: 'CLICommand', data: [missing, '-an'] });
    const notFound = await waitFor(() => sentWith(central, missing), {
      timeoutMs: 30_000,
      message: () => `CLICommand of a missing program not answered; central outbox: ${JSON.stringify(outbox(central).slice(-3))}`,
    });
    assert.equal(notFound.reply?.status, 'failed');
    assert.match(notFound.reply?.error ?? '', new RegExp(`command not found: "${missing}"`));
    await waitFor(
      () =>
        errorLog()
          .split('\n')
          .some(
            (l) => l.includes(notFound.id) && l.includes('central: methodFailed: CLICommand on ship1') && l.includes('command not found'),
          ),
      {
        timeoutMs: 30_000,
        message: () => `no report of the missing program at central:\n${errorLog()}`,
      },
    );
  });

  it('CLICommandRequest: ACKed on receipt, then the output comes back as a CLICommandReply', async () => {
    const tag = uniqueTag('req');
    await send({ toNode: 'ship1', method: 'CLICommandRequest', data: ['bash', '-c', `sleep 1; echo ${tag}-output`] });
    await waitFor(() => replyLog().includes(`${tag}-output\n`), {
      timeoutMs: 30_000,
      message: () => `no CLICommandReply at central:\n${replyLog()}\nship1 log:\n${ship1.log().slice(-3000)}`,
    });
    const request = sentWith(central, tag);
    assert.ok(request, 'the request is delivered');
    assert.equal(request.reply?.status, 'received', 'the ACK only says "received"');
    assert.equal(request.reply?.output, undefined, 'the ACK carries no output');

    // The reply is a message of its own, from ship1, answering the request's id.
    const reply = outbox(ship1).find((s) => s.message.previousMessageId === request.id);
    assert.ok(reply, 'ship1 sent a reply message');
    assert.equal(reply.subject, 'central.EventACK.CLICommandReply');
    assert.equal(reply.state, 'delivered');
    const run = inbox(ship1).find((r) => r.id === request.id);
    assert.equal(run?.state, 'succeeded');
    // ACK on receipt: the request was delivered before the command had finished.
    assert.ok(
      request.finishedAt !== null && run?.finishedAt != null && request.finishedAt < run.finishedAt,
      `delivered at ${request.finishedAt}, ran until ${run?.finishedAt}`,
    );
    const got = inbox(central).find((r) => r.id === reply.id);
    assert.equal(got?.state, 'succeeded');

    // A failing request still answers: its output, then a line saying why it failed.
    const bad = uniqueTag('reqfail');
    await send({ toNode: 'ship1', method: 'CLICommandRequest', data: ['bash', '-c', `echo ${bad}-partial; exit 5`] });
    const answer = await waitFor(() => new RegExp(`${bad}-partial\n(steward: .*\n)`).exec(replyLog())?.[1], {
      timeoutMs: 30_000,
      message: () => `no failure reply at central:\n${replyLog()}`,
    });
    assert.match(answer, /^steward: CLICommandRequest failed: .*exit code 5\n$/);
  });

  it('CLICommandRequestNOSEQ runs concurrently: a fast reply overtakes a slow one', async () => {
    const tag = uniqueTag('noseq');
    await send(
      { toNode: 'ship1', method: 'CLICommandRequestNOSEQ', data: ['bash', '-c', `sleep 8; echo ${tag}-slow`], methodTimeout: 60 },
      { toNode: 'ship1', method: 'CLICommandRequestNOSEQ', data: ['bash', '-c', `echo ${tag}-fast`], methodTimeout: 60 },
    );
    const atFast = await waitFor(() => replyLog().includes(`${tag}-fast\n`) && replyLog(), {
      timeoutMs: 30_000,
      message: () => `the fast NOSEQ reply did not arrive:\n${replyLog()}`,
    });
    assert.equal(atFast.includes(`${tag}-slow`), false, 'the slow command is still running when the fast reply arrives');
    await waitFor(() => replyLog().includes(`${tag}-slow\n`), {
      timeoutMs: 45_000,
      message: () => `the slow NOSEQ reply never arrived:\n${replyLog()}`,
    });
    const log = replyLog();
    assert.ok(log.indexOf(`${tag}-fast`) < log.indexOf(`${tag}-slow`));
  });

  it('CLICommandRequest keeps the order: a fast command waits for the slow one before it', async () => {
    const tag = uniqueTag('ordered');
    await send(
      { toNode: 'ship1', method: 'CLICommandRequest', data: ['bash', '-c', `sleep 3; echo ${tag}-slow`] },
      { toNode: 'ship1', method: 'CLICommandRequest', data: ['bash', '-c', `echo ${tag}-fast`] },
    );
    const atFast = await waitFor(() => replyLog().includes(`${tag}-fast\n`) && replyLog(), {
      timeoutMs: 45_000,
      message: () => `the fast ordered reply did not arrive:\n${replyLog()}`,
    });
    assert.ok(atFast.includes(`${tag}-slow\n`), 'the slow reply is already there when the fast one arrives');
    assert.ok(atFast.indexOf(`${tag}-slow`) < atFast.indexOf(`${tag}-fast`));
    // ship1's journal: the fast one started only after the slow one finished.
    const runs = inbox(ship1).filter((r) => r.message.data.join(' ').includes(tag));
    const slow = runs.find((r) => r.message.data.join(' ').includes('-slow'));
    const fast = runs.find((r) => r.message.data.join(' ').includes('-fast'));
    assert.ok(slow?.finishedAt != null && fast?.startedAt != null && fast.startedAt >= slow.finishedAt, JSON.stringify(runs));
  });

  it('methodTimeout kills the whole process tree and reports timedOut with the output printed before the kill', async () => {
    const tag = uniqueTag('mt');
    // Durations no other test uses, so the processes can be told apart machine-wide.
    const fraction = String(Math.floor(Math.random() * 1e6)).padStart(6, '0');
    const bg = `300.${fraction}`;
    const fg = `301.${fraction}`;
    const started = join(ship1.folder, `${tag}.started`);
    await send({
      toNode: 'ship1',
      method: 'CLICommand',
      data: ['bash', '-c', `echo ${tag}-started; touch ${tag}.started; sleep ${bg} & sleep ${fg}; echo ${tag}-never`],
      methodTimeout: 2,
      timeout: 20,
    });
    const isSleep = (argv: string[]): boolean => argv[0]?.endsWith('sleep') === true && (argv[1] === bg || argv[1] === fg);
    const result = await waitFor(() => sentWith(central, tag), {
      timeoutMs: 45_000,
      message: () =>
        `no result for the timed-out command; central outbox: ${JSON.stringify(outbox(central).filter((s) => s.message.data.join(' ').includes(tag)))}`,
    });
    assert.ok(readFileOr(started, '(missing)') !== '(missing)', 'the command did start');
    assert.equal(result.reply?.status, 'timedOut');
    assert.match(result.reply?.error ?? '', /methodTimeout 2s/);
    // What it printed before the kill comes back; what it would have printed after does not.
    assert.match(result.reply?.output ?? '', new RegExp(`${tag}-started`));
    assert.equal((result.reply?.output ?? '').includes(`${tag}-never`), false);
    assert.equal(inbox(ship1).find((r) => r.id === result.id)?.state, 'timedOut');
    await waitFor(
      () =>
        errorLog()
          .split('\n')
          .some((l) => l.includes(result.id) && l.includes('central: methodFailed: CLICommand on ship1 timedOut')),
      {
        timeoutMs: 30_000,
        message: () => `no timedOut report from ship1 at central:\n${errorLog()}`,
      },
    );
    // Neither the foreground sleep nor the one sent to the background survives.
    await waitFor(() => processCommandLines().filter(isSleep).length === 0, {
      timeoutMs: 30_000,
      message: () => `still running after the methodTimeout: ${JSON.stringify(processCommandLines().filter(isSleep))}`,
    });
  });

  it('ECHORequest is answered by an ECHOReply with the same data', async () => {
    const tag = uniqueTag('echo');
    const text = `${tag} "quoted", tabs\tand unicode ✓\n`;
    await send({ toNode: 'ship1', method: 'ECHORequest', data: [text] });
    const file = central.dataFile('ship1', 'central.EventACK.ECHOReply.log');
    await waitFor(() => readFileOr(file).includes(tag), {
      timeoutMs: 30_000,
      message: () => `no ECHOReply at central; ship1 log:\n${ship1.log().slice(-3000)}`,
    });
    assert.equal(readFileOr(file), text);
    const request = sentWith(central, tag);
    const reply = outbox(ship1).find((s) => s.message.previousMessageId === request?.id);
    assert.equal(reply?.message.method, 'ECHOReply');
    assert.deepEqual(reply?.message.data, [text]);
  });

  it('SayHello: central records ship1 in its nodes table and keeps its last_seen fresh', async () => {
    type NodeRow = { name: string; first_seen: number; last_seen: number; info: string };
    const seen = (): NodeRow | undefined => query<NodeRow>(central, 'SELECT * FROM nodes').find((r) => r.name === 'ship1');
    const first = await waitFor(seen, {
      timeoutMs: 30_000,
      message: () => `ship1 is not in central's nodes table; ship1 log:\n${ship1.log().slice(-3000)}`,
    });
    assert.ok(Date.now() - first.last_seen < 15_000, `last_seen ${new Date(first.last_seen).toISOString()} is recent`);
    assert.match(first.info, /steward/);
    // Hellos keep coming every second.
    const later = await waitFor(() => seen()!.last_seen > first.last_seen && seen(), {
      timeoutMs: 30_000,
      message: () => `last_seen did not move past ${first.last_seen}`,
    });
    assert.equal(later.first_seen, first.first_seen);
    assert.equal(query<NodeRow>(central, 'SELECT * FROM nodes').filter((r) => r.name === 'ship1').length, 1);
  });

  it('a method that fails for real does not stop the node from serving', async () => {
    const tag = uniqueTag('broken');
    // ship1 cannot append where a directory stands in for the file.
    await mkdir(ship1.dataFile('central', 'ship1.EventACK.TextLogging.log'), { recursive: true });
    const pid = ship1.pid;
    await send({ toNode: 'ship1', method: 'TextLogging', data: [`${tag}\n`] });
    const sent = await waitFor(() => sentWith(central, tag), { timeoutMs: 30_000, message: 'TextLogging not delivered' });
    assert.equal(sent.reply?.status, 'received');
    const failure = await waitFor(
      () =>
        errorLog()
          .split('\n')
          .find((l) => l.includes(sent.id) && l.includes('ship1: methodFailed: TextLogging from central failed')),
      {
        timeoutMs: 30_000,
        message: () => `no report of the failed TextLogging at central:\n${errorLog()}`,
      },
    );
    assert.match(failure, /EISDIR|directory/i);
    assert.equal(inbox(ship1).find((r) => r.id === sent.id)?.state, 'failed');

    const after = uniqueTag('stillok');
    await send({ toNode: 'ship1', method: 'CLICommand', data: ['echo', after] });
    const ok = await waitFor(() => sentWith(central, after), { timeoutMs: 30_000, message: 'CLICommand after the failure not delivered' });
    assert.equal(ok.reply?.status, 'succeeded');
    assert.equal(ok.reply?.output, `${after}\n`);
    assert.ok(ship1.running, 'ship1 still runs');
    assert.equal(ship1.pid, pid, 'ship1 was not restarted');
  });

  it('an output larger than the broker allows in one message arrives whole at the sender (in chunks)', async () => {
    const tag = uniqueTag('big');
    // 2.7 MB of random base64: within steward's own 10 MiB output cap, and above nats-server's default
    // 1 MB max_payload even compressed (compressible output travels whole, see test/largeOutput.test.ts).
    const big = ['bash', '-c', `head -c 2000000 /dev/urandom | base64 -w0; echo; echo ${tag}-end`];
    await send(
      { toNode: 'ship1', method: 'CLICommand', data: big, timeout: 2, retries: 1 },
      {
        toNode: 'ship1',
        method: 'CLICommandRequest',
        data: [...big.slice(0, 2), `${big[2]!}-req`],
        requestTimeout: 2,
        requestRetries: 1,
      },
    );
    const final = (node: NodeHandle, match: (s: Sent) => boolean): Sent | undefined =>
      outbox(node).find((s) => match(s) && (s.state === 'delivered' || s.state === 'expired'));
    // The command ran and succeeded on ship1...
    const command = await waitFor(
      () => final(central, (s) => s.message.method === 'CLICommand' && s.message.data.join(' ').includes(tag)),
      {
        timeoutMs: 45_000,
        message: () => `the big CLICommand never ended at central; ship1 log:\n${ship1.log().slice(-3000)}`,
      },
    );
    assert.equal(inbox(ship1).find((r) => r.id === command.id)?.state, 'succeeded');
    // ...so the sender must hear about it: an answer (with the output, cut or whole, or a reason), not "no ACK".
    assert.equal(
      command.state,
      'delivered',
      `central: ${command.state}, ${errorLog()
        .split('\n')
        .filter((l) => l.includes(command.id))
        .join(' | ')}`,
    );
    // The output is whole: it came in journaled chunks (see packages/node/src/execution/chunks.ts).
    const output = command.reply?.output ?? '';
    assert.doesNotMatch(output.slice(0, 200), /output was \d+ bytes/);
    assert.equal(output.length, Math.ceil(2_000_000 / 3) * 4 + `\n${tag}-end\n`.length, output.slice(0, 200));
    assert.ok(output.endsWith(`${tag}-end\n`), output.slice(-100));
    // The request's reply message, likewise, must reach central.
    const request = outbox(central).find((s) => s.message.method === 'CLICommandRequest' && s.message.data.join(' ').includes(tag));
    const reply = await waitFor(() => final(ship1, (s) => s.message.previousMessageId === request?.id), {
      timeoutMs: 45_000,
      message: () => `the big CLICommandReply never ended at ship1; ship1 log:\n${ship1.log().slice(-3000)}`,
    });
    assert.equal(reply.state, 'delivered', `ship1's reply: ${reply.state}`);
  });

  it('does not expire a command that runs longer than timeout × (retries + 1): resends are answered "still running"', async () => {
    const tag = uniqueTag('long');
    await send({
      toNode: 'ship1',
      method: 'CLICommand',
      data: ['bash', '-c', `sleep 5; echo ${tag}-done`],
      timeout: 1,
      retries: 1,
      methodTimeout: 30,
    });
    const done = await waitFor(() => sentWith(central, tag) ?? sentWith(central, tag, 'expired'), {
      timeoutMs: 60_000,
      message: () => `the long command never ended at central:\n${tailLines(central.log(), 10)}`,
    });
    assert.equal(done.state, 'delivered', `expired: ${JSON.stringify(done)}`);
    assert.equal(done.reply?.status, 'succeeded');
    assert.equal(done.reply?.output, `${tag}-done\n`);
    assert.ok(done.attempts > 2, `it was resent while running (attempts ${done.attempts})`);
  });

  it('runs a command exactly once across resends and a lost ACK', async () => {
    const tag = uniqueTag('once');
    const counter = join(ship1.folder, `${tag}.count`);
    await send({
      toNode: 'ship1',
      method: 'CLICommand',
      data: ['bash', '-c', `echo x >> ${tag}.count; sleep 6; echo ${tag}-result`],
      timeout: 1,
      retries: 5,
    });
    // The sender resends while the command runs (no ACK within 1 s)...
    const pending = await waitFor(
      () => sentWith(central, tag, 'awaitingAck') ?? sentWith(central, tag, 'retryWait') ?? sentWith(central, tag, 'sending'),
      {
        timeoutMs: 30_000,
        message: 'the CLICommand was never in flight',
      },
    );
    await waitFor(() => central.log().includes(`resending (attempt 2) id=${pending.id}`), {
      timeoutMs: 30_000,
      message: () => `central did not resend ${pending.id}:\n${central.log().slice(-3000)}`,
    });
    await waitFor(() => readLines(counter).length > 0, { timeoutMs: 30_000, message: `${counter} was never written` });
    assert.deepEqual(readLines(counter), ['x'], 'a resend while it runs does not start it again');
    // ...then the sender dies before the ACK comes: the ACK is lost.
    await central.kill9();
    const run = await waitFor(() => inbox(ship1).find((r) => r.id === pending.id && r.state === 'succeeded'), {
      timeoutMs: 30_000,
      message: () => `ship1 did not finish the command: ${JSON.stringify(inbox(ship1).find((r) => r.id === pending.id))}`,
    });
    assert.equal(run.result?.output, `${tag}-result\n`);

    // Back up, central resends from its journal; ship1 answers from its journal.
    await central.restart();
    const done = await waitFor(() => sentWith(central, tag), {
      timeoutMs: 45_000,
      message: () => `not delivered after central's restart: ${JSON.stringify(outbox(central).find((s) => s.id === pending.id))}`,
    });
    assert.equal(done.reply?.status, 'succeeded');
    assert.equal(done.reply?.duplicate, true, 'the answer came from the journal');
    assert.equal(done.reply?.output, `${tag}-result\n`);
    await waitFor(() => commandLog().includes(`${tag}-result\n`), {
      timeoutMs: 30_000,
      message: () => `result not stored at central:\n${commandLog()}`,
    });
    assert.equal(count(commandLog(), `${tag}-result`), 1);
    assert.match(ship1.log(), new RegExp(`duplicate answered from the journal, not run again id=${pending.id}`));
    assert.deepEqual(readLines(counter), ['x'], 'the command ran exactly once');
    assert.equal(inbox(ship1).filter((r) => r.id === pending.id).length, 1);
  });
});
