/**
 * The mature steward's fields and methods between real nodes: `central`
 * (error logger), `ship1` and `ship2`, the names the mature README's
 * examples use, on a nats-server of their own. Messages go in through
 * central's inmsg.txt or read folder, verbatim where the README gives them.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { appendFile, chmod, mkdir, rm, symlink, truncate, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';

import { connect } from '@nats-io/transport-node';
import Database from 'better-sqlite3';

import {
  cleanupHarness,
  makeTempDir,
  readFileOr,
  startNatsServer,
  startNode,
  outboxRows,
  tailLines,
  waitFor,
  type NatsServerHandle,
  type NodeHandle,
  type OutboxRow,
} from './helpers/index.js';

after(cleanupHarness);

/** A unique marker for one test's commands and texts. */
function tag(name: string): string {
  return `${name}${Date.now()}${Math.floor(Math.random() * 1e6)}`;
}

/** Command lines of every process, joined by spaces. */
function processes(): string[] {
  const out: string[] = [];
  for (const pid of readdirSync('/proc').filter((n) => /^\d+$/.test(n))) {
    try {
      const raw = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
      if (raw !== '') out.push(raw.replace(/\0/g, ' '));
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

function inboxStates(node: NodeHandle, method: string): { state: string; message: string; result: string | null }[] {
  const db = new Database(join(node.folder, 'state', 'journal.db'), { readonly: true, fileMustExist: true });
  try {
    return db.prepare('SELECT state, message, result FROM inbox WHERE subject LIKE ? ORDER BY seq').all(`%.${method}`) as {
      state: string;
      message: string;
      result: string | null;
    }[];
  } finally {
    db.close();
  }
}

/** The outbox rows of `node` whose message mentions `text` anywhere. */
function outboxMentioning(node: NodeHandle, text: string): OutboxRow<unknown, unknown>[] {
  return outboxRows<unknown, unknown>(node).filter((r) => JSON.stringify(r.message).includes(text));
}

describe('mature steward fields and methods', () => {
  let broker: NatsServerHandle;
  let central: NodeHandle;
  let ship1: NodeHandle;
  let ship2: NodeHandle;
  let root: string;
  let outside: string;
  let allowed: string;
  let http: Server;
  let httpUrl: string;
  // The README's first example writes under /var/cli; remove it afterwards if the test made it.
  const varCli = '/var/cli';
  const varCliExisted = existsSync(varCli);

  before(async () => {
    broker = await startNatsServer();
    root = await makeTempDir('steward-mature-');
    outside = join(root, 'outside');
    allowed = join(root, 'allowed');
    await mkdir(outside, { recursive: true });
    [central, ship1, ship2] = await Promise.all([
      startNode({
        name: 'central',
        folder: join(root, 'central'),
        brokerHostPort: broker.hostPort,
        args: ['--centralErrorLogger', '--allowedWriteRoots', `${allowed},${varCli}/command_result`],
      }),
      startNode({ name: 'ship1', folder: join(root, 'ship1'), brokerHostPort: broker.hostPort }),
      startNode({ name: 'ship2', folder: join(root, 'ship2'), brokerHostPort: broker.hostPort }),
    ]);
    http = createServer((req, res) => {
      if (req.url === '/hello') {
        res.writeHead(200, { 'content-type': 'text/plain' });
        res.end('hello from the test server\n');
      } else {
        res.writeHead(404);
        res.end('no such page\n');
      }
    });
    await new Promise<void>((r) => http.listen(0, '127.0.0.1', r));
    httpUrl = `http://127.0.0.1:${(http.address() as AddressInfo).port}`;
  });
  after(async () => {
    http?.close();
    if (!varCliExisted) await rm(varCli, { recursive: true, force: true });
  });

  const send = (...messages: object[]): Promise<void> => central.inmsg(`${JSON.stringify(messages, null, 2)}\n`);
  const errorLog = (): string => readFileOr(central.dataFile('errorLog.log'));
  /** Where central appends what ship<n> replied with REQToFileAppend, without directory and fileName. */
  const appendLog = (ship: string): string => readFileOr(central.dataFile(ship, 'central.EventACK.REQToFileAppend.log'));

  it('README example 1 (verbatim): REQCliCommand, reply appended under an absolute allowed directory', async () => {
    const example = `[
    {
        "directory":"/var/cli/command_result/",
        "fileName": "some-file-name.result",
        "toNode": "ship1",
        "method":"REQCliCommand",
        "methodArgs": ["bash","-c","sleep 5 & tree ./"],
        "replyMethod":"REQToFileAppend",
        "ACKTimeout":5,
        "retries":3,
        "replyACKTimeout":5,
        "replyRetries":3,
        "methodTimeout": 10
    }
]
`;
    await central.inmsg(example);
    const file = '/var/cli/command_result/ship1/some-file-name.result';
    // `tree` may not be installed: either its output or the failure note arrives, in the named file.
    const text = await waitFor(() => readFileOr(file), {
      timeoutMs: 60_000,
      message: () => `no ${file}; central log:\n${central.log().slice(-3000)}`,
    });
    assert.ok(text.includes('inmsg.txt') || text.includes('steward: REQCliCommand'), text);
  });

  it('README example 2 (verbatim, via the read folder): REQTailFile follows a growing file', async () => {
    const testLog = join(ship2.folder, 'test.log');
    await writeFile(testLog, 'old line, before the tail started\n');
    const example = `[
    {
        "directory": "./my/log/files/",
        "fileName": "some.log",
        "toNode": "ship2",
        "method":"REQTailFile",
        "methodArgs": ["./test.log"],
        "ACKTimeout":5,
        "retries":3,
        "methodTimeout": 200
    }
]
`;
    await writeFile(join(central.folder, 'readfolder', 'tail.json'), example);
    await waitFor(() => inboxStates(ship2, 'REQTailFile').some((r) => r.state === 'running'), {
      timeoutMs: 30_000,
      message: () => `ship2 did not start the tail; central log:\n${central.log().slice(-2000)}`,
    });
    assert.equal(existsSync(join(central.folder, 'readfolder', 'tail.json')), false, 'the read folder file is removed');
    const out = central.dataFile('my', 'log', 'files', 'ship2', 'some.log');
    for (let i = 1; i <= 5; i++) {
      await appendFile(testLog, `growing line ${i}\n`);
      await waitFor(() => readFileOr(out).includes(`growing line ${i}\n`), {
        timeoutMs: 30_000,
        message: () => `line ${i} not at central: ${readFileOr(out)}`,
      });
    }
    assert.equal(readFileOr(out), [1, 2, 3, 4, 5].map((i) => `growing line ${i}\n`).join(''), 'only new lines, in order');
  });

  it('README example 3 (verbatim): REQCopySrc with toNodes copies a file, verified, with its mode', async () => {
    const bytes = randomBytes(1_300_000);
    await writeFile(join(central.folder, 'testbinary'), bytes);
    await chmod(join(central.folder, 'testbinary'), 0o751);
    const example = `[
    {
        "directory": "copy",
        "fileName": "copy.log",
        "toNodes": ["central"],
        "method":"REQCopySrc",
        "methodArgs": ["./testbinary","ship1","./testbinary-copied","500000","20","0770"],
        "methodTimeout": 10,
        "replyMethod":"REQToConsole"
    }
]
`;
    await central.inmsg(example);
    const copied = join(ship1.folder, 'testbinary-copied');
    await waitFor(() => existsSync(copied), { timeoutMs: 60_000, message: () => `no copy; ship1 log:\n${ship1.log().slice(-3000)}` });
    assert.equal(createHash('sha256').update(readFileSync(copied)).digest('hex'), createHash('sha256').update(bytes).digest('hex'));
    assert.equal(statSync(copied).mode & 0o777, 0o751);
    // REQToConsole: the report is printed by central.
    await waitFor(() => central.log().includes(`copied central:${join(central.folder, 'testbinary')} to ship1:${copied}`), {
      timeoutMs: 30_000,
      message: () => `no copy report on central's console:\n${central.log().slice(-3000)}`,
    });
    assert.deepEqual(
      readdirSync(ship1.folder).filter((n) => n.includes('steward-copy')),
      [],
      'no partial file left',
    );
  });

  it('REQCliCommand: the output goes to REQToFileAppend by default; toNodes fans out; "local" is the node itself', async () => {
    const t = tag('cli');
    await send({
      toNodes: ['ship1', 'ship2', 'local'],
      method: 'REQCliCommand',
      methodArgs: ['bash', '-c', `echo ${t} on $(basename $PWD)`],
    });
    for (const ship of ['ship1', 'ship2', 'central'])
      await waitFor(() => appendLog(ship).includes(`${t} on ${ship}\n`), {
        timeoutMs: 30_000,
        message: () => `no reply from ${ship}: ${appendLog(ship)}`,
      });
  });

  it('REQCliCommandCont: lines arrive in order, one reply each, and stop at methodTimeout with no process left', async () => {
    const t = tag('cont');
    await send({
      toNode: 'ship1',
      method: 'REQCliCommandCont',
      methodArgs: ['bash', '-c', `for i in $(seq 1 1000); do echo ${t}-$i; sleep 0.2; done`],
      fileName: `${t}.log`,
      methodTimeout: 4,
    });
    const file = central.dataFile('ship1', `${t}.log`);
    await waitFor(() => readFileOr(file).includes(`${t}-5\n`), {
      timeoutMs: 30_000,
      message: () => `stream not arriving: ${readFileOr(file)}`,
    });
    await waitFor(() => inboxStates(ship1, 'REQCliCommandCont').some((r) => r.state === 'succeeded' && r.message.includes(t)), {
      timeoutMs: 30_000,
      message: () => `stream did not end at methodTimeout: ${JSON.stringify(inboxStates(ship1, 'REQCliCommandCont'))}`,
    });
    assert.deepEqual(
      processes().filter((p) => p.includes(t)),
      [],
      'the command tree is gone',
    );
    // The last replies have landed once ship1's outbox holds no stream reply still on its way
    // (the reply is journaled with the execution's end, so none can appear later).
    await waitFor(
      () => {
        const replies = outboxMentioning(ship1, t);
        return replies.length > 0 && replies.every((r) => r.state === 'delivered');
      },
      {
        timeoutMs: 30_000,
        message: () => `stream replies not delivered: ${JSON.stringify(outboxMentioning(ship1, t).map((r) => r.state))}`,
      },
    );
    const lines = readFileOr(file).split('\n').filter(Boolean);
    assert.ok(lines.length >= 5 && lines.length < 100, `${lines.length} lines`);
    assert.deepEqual(
      lines,
      lines.map((_, i) => `${t}-${i + 1}`),
    );
  });

  it('REQHttpGet: the body comes back; a 404 is a failure', async () => {
    await send(
      { toNode: 'ship1', method: 'REQHttpGet', methodArgs: [`${httpUrl}/hello`], fileName: 'http-ok.txt' },
      { toNode: 'ship1', method: 'REQHttpGet', methodArgs: [`${httpUrl}/missing`], fileName: 'http-404.txt' },
    );
    await waitFor(() => readFileOr(central.dataFile('ship1', 'http-ok.txt')) === 'hello from the test server\n', {
      timeoutMs: 30_000,
      message: () => `no body: ${readFileOr(central.dataFile('ship1', 'http-ok.txt'))}`,
    });
    const notFound = await waitFor(() => readFileOr(central.dataFile('ship1', 'http-404.txt')), {
      timeoutMs: 30_000,
      message: 'no 404 reply',
    });
    assert.match(notFound, /no such page\nsteward: REQHttpGet failed: GET .*\/missing: HTTP 404/);
    await waitFor(() => errorLog().includes('REQHttpGet from central failed'), { timeoutMs: 30_000, message: () => errorLog() });
  });

  it('REQToFile replaces, REQToFileAppend appends, REQToConsole prints, REQNone does nothing', async () => {
    const t = tag('sink');
    await send({ toNode: 'ship1', method: 'REQToFile', methodArgs: ['first\n'], directory: 'sinks', fileName: `${t}.txt` });
    await send({ toNode: 'ship1', method: 'REQToFile', methodArgs: ['second\n'], directory: 'sinks', fileName: `${t}.txt` });
    await send({ toNode: 'ship1', method: 'REQToFileAppend', methodArgs: ['a\n'], directory: 'sinks', fileName: `${t}.log` });
    await send({ toNode: 'ship1', method: 'REQToFileAppend', methodArgs: ['b\n'], directory: 'sinks', fileName: `${t}.log` });
    await send({ toNode: 'ship1', method: 'REQToConsole', methodArgs: [`${t} on the console\n`] });
    await send({ toNode: 'ship1', method: 'REQCliCommand', methodArgs: ['echo', `${t}-none`], replyMethod: 'REQNone' });
    await send({
      toNode: 'ship1',
      method: 'REQCliCommand',
      methodArgs: ['echo', `${t}-err`],
      replyMethod: 'REQToConsole',
      replyMethodArgs: ['stderr'],
    });
    const file = ship1.dataFile('sinks', 'central', `${t}.txt`);
    await waitFor(() => readFileOr(file) === 'second\n', { timeoutMs: 30_000, message: () => `REQToFile: ${readFileOr(file)}` });
    await waitFor(() => readFileOr(ship1.dataFile('sinks', 'central', `${t}.log`)) === 'a\nb\n', {
      timeoutMs: 30_000,
      message: 'REQToFileAppend',
    });
    await waitFor(() => ship1.log().includes(`${t} on the console`), { timeoutMs: 30_000, message: 'REQToConsole' });
    await waitFor(() => central.log().includes(`${t}-err`), { timeoutMs: 30_000, message: 'REQToConsole stderr as a reply' });
    await waitFor(() => inboxStates(ship1, 'REQCliCommand').some((r) => r.message.includes(`${t}-none`) && r.state === 'succeeded'), {
      timeoutMs: 30_000,
      message: 'REQNone request did not run',
    });
    // A reply is journaled in the same transaction that marks the request succeeded (awaited
    // above), so ship1's outbox already shows every reply there will be: the REQToConsole one
    // for -err, none for -none.
    await waitFor(() => outboxMentioning(ship1, `${t}-err`).length > 0, { timeoutMs: 30_000, message: 'the -err reply is journaled' });
    assert.deepEqual(outboxMentioning(ship1, `${t}-none`), [], 'replyMethod REQNone journals no reply');
    assert.ok(!appendLog('ship1').includes(`${t}-none`), 'replyMethod REQNone sends no reply');
  });

  it('REQPing / REQPong are recorded at both ends; REQHello and REQErrorLog reach central', async () => {
    await send({ toNode: 'ship1', method: 'REQPing' });
    await waitFor(() => readFileOr(ship1.dataFile('central', 'ship1.EventACK.REQPing.log')).includes('ping from central'), {
      timeoutMs: 30_000,
      message: 'ping not recorded on ship1',
    });
    await waitFor(() => readFileOr(central.dataFile('ship1', 'central.EventACK.REQPong.log')).includes('pong from ship1'), {
      timeoutMs: 30_000,
      message: 'pong not recorded on central',
    });
    const t = tag('mature');
    await ship1.inmsg(
      JSON.stringify([
        { toNode: 'central', method: 'REQHello', methodArgs: [`${t} hello`] },
        { toNode: 'central', method: 'REQErrorLog', methodArgs: [`${t} something broke`] },
      ]),
    );
    await waitFor(() => errorLog().includes(`ship1: ${t} something broke`), { timeoutMs: 30_000, message: () => errorLog() });
    const db = new Database(join(central.folder, 'state', 'journal.db'), { readonly: true });
    try {
      await waitFor(
        () => (db.prepare('SELECT info FROM nodes WHERE name = ?').get('ship1') as { info?: string } | undefined)?.info === `${t} hello`,
        {
          timeoutMs: 30_000,
          message: 'REQHello not recorded',
        },
      );
    } finally {
      db.close();
    }
  });

  it('REQOpProcessList/Stop/Start: the node lists, stops and starts its own processes', async () => {
    const list = () => readFileOr(central.dataFile('ship2', 'procs.txt'));
    await send({ toNode: 'ship2', method: 'REQOpProcessList', fileName: 'procs.txt', replyMethod: 'REQToFile' });
    await waitFor(() => list().includes('subscribers/REQHttpGet running'), { timeoutMs: 30_000, message: () => list() });
    assert.match(list(), /inputs\/inmsgFile running/);
    assert.match(list(), /inputs\/readFolder running/);
    await send({ toNode: 'ship2', method: 'REQOpProcessStop', methodArgs: ['subscribers/REQHttpGet'], fileName: 'op.log' });
    await waitFor(() => readFileOr(central.dataFile('ship2', 'op.log')).includes('subscribers/REQHttpGet stopped'), {
      timeoutMs: 30_000,
      message: 'stop',
    });
    await send({ toNode: 'ship2', method: 'REQOpProcessList', fileName: 'procs.txt', replyMethod: 'REQToFile' });
    await waitFor(() => list() !== '' && !list().includes('subscribers/REQHttpGet'), { timeoutMs: 30_000, message: () => list() });
    await send({ toNode: 'ship2', method: 'REQOpProcessStart', methodArgs: ['subscribers/REQHttpGet'], fileName: 'op.log' });
    await waitFor(() => readFileOr(central.dataFile('ship2', 'op.log')).includes('subscribers/REQHttpGet started'), {
      timeoutMs: 30_000,
      message: 'start',
    });
    await send({ toNode: 'ship2', method: 'REQHttpGet', methodArgs: [`${httpUrl}/hello`], fileName: 'after-restart.txt' });
    await waitFor(() => readFileOr(central.dataFile('ship2', 'after-restart.txt')).includes('hello from the test server'), {
      timeoutMs: 30_000,
      message: 'the restarted subscriber does not serve',
    });
  });

  it('reply chain: the reply method gets the output as {{STEWARD_DATA}}, with PATH kept', async () => {
    const t = tag('chain');
    await send({
      toNode: 'ship1',
      method: 'REQCliCommand',
      methodArgs: ['bash', '-c', `echo "${t} \\$HOME; rm -rf /nothing"`],
      replyMethod: 'REQCliCommand',
      replyMethodArgs: ['bash', '-c', `printf '%s|' "{{STEWARD_DATA}}" > ${t}.out; command -v ls >> ${t}.out`],
    });
    const out = join(central.folder, `${t}.out`);
    await waitFor(() => readFileOr(out).includes('ls'), { timeoutMs: 30_000, message: () => `chain output: ${readFileOr(out)}` });
    // The output arrives as data, never as shell code; ls is found through PATH.
    assert.match(readFileOr(out), new RegExp(`^${t} \\$HOME; rm -rf /nothing\\n\\|/.*ls\\n$`));
  });

  it('schedule: the receiver runs the method every interval for the total time, one reply per run', async () => {
    const t = tag('sched');
    await send({ toNode: 'ship2', method: 'REQCliCommand', methodArgs: ['echo', t], schedule: [1, 3.5], fileName: `${t}.log` });
    const file = central.dataFile('ship2', `${t}.log`);
    await waitFor(() => inboxStates(ship2, 'REQCliCommand').some((r) => r.message.includes(t) && r.state === 'succeeded'), {
      timeoutMs: 30_000,
      message: 'schedule did not end',
    });
    await waitFor(() => readFileOr(file).split('\n').filter(Boolean).length === 4, {
      timeoutMs: 30_000,
      message: () => `expected 4 runs (0, 1, 2, 3 s): ${readFileOr(file)}`,
    });
  });

  it('pty: true runs the command in a pseudo-terminal', async () => {
    await send(
      {
        toNode: 'ship1',
        method: 'REQCliCommand',
        methodArgs: ['bash', '-c', 'tty; [ -t 1 ] && echo is-a-tty'],
        pty: true,
        fileName: 'pty.txt',
      },
      { toNode: 'ship1', method: 'REQCliCommand', methodArgs: ['bash', '-c', '[ -t 1 ] || echo no-tty'], fileName: 'nopty.txt' },
    );
    await waitFor(() => readFileOr(central.dataFile('ship1', 'pty.txt')).includes('is-a-tty'), {
      timeoutMs: 30_000,
      message: () => readFileOr(central.dataFile('ship1', 'pty.txt')),
    });
    assert.match(readFileOr(central.dataFile('ship1', 'pty.txt')), /^\/dev\/pts\/\d+\nis-a-tty\n$/);
    await waitFor(() => readFileOr(central.dataFile('ship1', 'nopty.txt')) === 'no-tty\n', { timeoutMs: 30_000, message: 'no pty' });
  });

  it('wrong field types and unknown methods are refused, naming the field', async () => {
    await send(
      { toNode: 'ship1', method: 'REQCliCommand', methodArgs: ['ls'], replyMethod: 'REQToFileAppnd' },
      { toNode: 'ship1', method: 'REQCliCommand', methodArgs: ['ls'], schedule: [5] },
      { toNodes: 'ship1', method: 'REQCliCommand', methodArgs: ['ls'] },
      { toNode: 'ship1', method: 'REQCliCommand', methodArgs: ['ls'], replyMethod: 'REQCliCommand' },
      { toNode: 'ship1', method: 'REQHttpGet' },
      { toNode: 'ship1', method: 'REQCliCommand', methodArgs: ['ls'], pty: 'yes', replyMethodTimeout: '5' },
    );
    const rejected = () => readFileOr(join(central.folder, 'inmsg.rejected.txt'));
    await waitFor(() => rejected().includes('field "pty"'), { timeoutMs: 30_000, message: () => rejected() });
    const text = rejected();
    assert.match(text, /field "replyMethod": unknown method "REQToFileAppnd"/);
    assert.match(text, /field "schedule": must be \[intervalSeconds, totalSeconds\]/);
    assert.match(text, /field "toNodes": must be an array of strings/);
    assert.match(text, /field "replyMethodArgs": is missing: replyMethod REQCliCommand needs the command/);
    assert.match(text, /field "methodArgs": is missing: REQHttpGet needs the URL/);
    assert.match(text, /field "replyMethodTimeout": must be a number of seconds/);
  });

  it('path traversal in directory/fileName is refused and nothing is written outside', async () => {
    const t = tag('trav');
    // Refused where they enter: "..", separators in fileName, control characters.
    await send(
      { toNode: 'ship1', method: 'REQCliCommand', methodArgs: ['echo', t], directory: '../../outside' },
      { toNode: 'ship1', method: 'REQCliCommand', methodArgs: ['echo', t], fileName: '../evil.txt' },
      { toNode: 'ship1', method: 'REQCliCommand', methodArgs: ['echo', t], fileName: 'a/b.txt' },
      { toNode: 'ship1', method: 'REQCliCommand', methodArgs: ['echo', t], directory: 'x\u0000y' },
    );
    const rejected = () => readFileOr(join(central.folder, 'inmsg.rejected.txt'));
    await waitFor(() => rejected().includes('control characters'), { timeoutMs: 30_000, message: () => rejected() });
    assert.match(rejected(), /field "directory": must not contain "\.\."/);
    assert.match(rejected(), /field "fileName": must be a plain file name without "\/"/);

    // Refused where they are written: a link out of the data folder, an absolute folder not allowed, a planted file link.
    await mkdir(central.dataFile(), { recursive: true });
    await symlink(outside, central.dataFile('escape'));
    await mkdir(central.dataFile('planted', 'ship1'), { recursive: true });
    await symlink(join(outside, 'planted.log'), central.dataFile('planted', 'ship1', 'f.log'));
    await send(
      { toNode: 'ship1', method: 'REQCliCommand', methodArgs: ['echo', `${t}-link`], directory: 'escape/sub' },
      { toNode: 'ship1', method: 'REQCliCommand', methodArgs: ['echo', `${t}-abs`], directory: outside },
      { toNode: 'ship1', method: 'REQCliCommand', methodArgs: ['echo', `${t}-file`], directory: 'planted', fileName: 'f.log' },
      { toNode: 'ship1', method: 'REQCliCommand', methodArgs: ['echo', `${t}-ok`], directory: join(allowed, 'sub') },
    );
    await waitFor(() => readFileOr(join(allowed, 'sub', 'ship1', 'central.EventACK.REQToFileAppend.log')).includes(`${t}-ok`), {
      timeoutMs: 30_000,
      message: 'the allowed absolute directory was not written',
    });
    for (const what of ['symbolic link that leads outside', 'is absolute but not under an allowed root', 'f.log is a symbolic link'])
      await waitFor(() => errorLog().includes(what), { timeoutMs: 30_000, message: () => `no "${what}" in the error log:\n${errorLog()}` });
    assert.deepEqual(readdirSync(outside), [], 'nothing written outside');

    // A reply forged on the wire is checked by the receiving node too.
    const nc = await connect({ servers: broker.url });
    try {
      const body = {
        id: `forged-${t}`,
        fromNode: 'ship1',
        createdAt: Date.now(),
        toNode: 'central',
        method: 'REQToFileAppend',
        commandOrEvent: 'EventACK',
        data: ['x'],
        directory: '../../../outside',
        timeout: 5,
        retries: 0,
        methodTimeout: 5,
      };
      const ack = (await nc.request('central.EventACK.REQToFileAppend', JSON.stringify(body), { timeout: 10_000 })).json<{
        status: string;
        error: string;
      }>();
      assert.equal(ack.status, 'rejected');
      assert.match(ack.error, /field "directory": must not contain "\.\."/);
    } finally {
      await nc.close();
    }
    assert.deepEqual(readdirSync(outside), []);
  });

  it('read folder: JSON and YAML files are sent and removed; bad entries and escaping links are kept aside', async () => {
    const t = tag('rf');
    const rf = join(central.folder, 'readfolder');
    await writeFile(
      join(rf, `${t}.yaml`),
      `- toNode: ship1\n  method: REQCliCommand\n  methodArgs: [echo, ${t}-yaml]\n  fileName: ${t}.yaml.out\n---\ntoNode: ship1\nmethod: NoSuchMethod\n`,
    );
    await writeFile(
      join(rf, `${t}.json`),
      JSON.stringify({ toNode: 'ship1', method: 'REQCliCommand', methodArgs: ['echo', `${t}-json`], fileName: `${t}.json.out` }),
    );
    await writeFile(
      join(outside, 'secret.json'),
      JSON.stringify({ toNode: 'ship1', method: 'REQCliCommand', methodArgs: ['echo', `${t}-secret`] }),
    );
    await symlink(join(outside, 'secret.json'), join(rf, `${t}-link.json`));
    await waitFor(() => readFileOr(central.dataFile('ship1', `${t}.yaml.out`)) === `${t}-yaml\n`, { timeoutMs: 30_000, message: 'yaml' });
    await waitFor(() => readFileOr(central.dataFile('ship1', `${t}.json.out`)) === `${t}-json\n`, { timeoutMs: 30_000, message: 'json' });
    await waitFor(() => readdirSync(rf).filter((n) => n.startsWith(t)).length === 0, {
      timeoutMs: 30_000,
      message: () => `files left: ${readdirSync(rf).join(', ')}`,
    });
    const rejected = readdirSync(join(rf, 'rejected'));
    assert.ok(rejected.includes(`${t}.yaml.rejected.txt`), rejected.join(', '));
    assert.match(
      readFileOr(join(rf, 'rejected', `${t}.yaml.rejected.txt`)),
      /document 2, entry 1: field "method": unknown method "NoSuchMethod"/,
    );
    assert.ok(
      rejected.some((n) => n.endsWith(`${t}-link.json`)),
      'the escaping link is moved aside, unread',
    );
    assert.ok(existsSync(join(outside, 'secret.json')), 'the link target is untouched');
    // Every message a read-folder file gives is journaled before the file leaves the folder:
    // the JSON file's message is in central's outbox, the link's (moved aside above) is not.
    assert.ok(outboxMentioning(central, `${t}-json`).length > 0, 'the JSON file was journaled');
    assert.deepEqual(outboxMentioning(central, `${t}-secret`), [], 'the linked file was not sent');
    assert.ok(!appendLog('ship1').includes(`${t}-secret`), 'the linked file was not sent');
  });

  it('read folder: a YAML document that refers to itself or multiplies its aliases is set aside; the rest of the file is sent', async () => {
    const t = tag('alias');
    const rf = join(central.folder, 'readfolder');
    const bomb = ['a: &a [x, x, x, x, x, x, x, x, x]']
      .concat(['b', 'c', 'd', 'e', 'f'].map((k, i) => `${k}: &${k} [${Array(9).fill(`*${'abcde'[i]}`).join(', ')}]`))
      .join('\n');
    await writeFile(
      join(rf, `${t}.yaml`),
      [
        `toNode: ship1\nmethod: REQCliCommand\nmethodArgs: [echo, ${t}-before]\nfileName: ${t}.before.out`,
        'toNode: &self [*self]\nmethod: REQCliCommand',
        bomb,
        `toNode: ship1\nmethod: REQCliCommand\nmethodArgs: [echo, ${t}-after]\nfileName: ${t}.after.out`,
      ].join('\n---\n') + '\n',
    );
    await waitFor(() => readFileOr(central.dataFile('ship1', `${t}.after.out`)) === `${t}-after\n`, {
      timeoutMs: 30_000,
      message: () => `the last document was not sent; central log:\n${tailLines(central.log(), 15)}`,
    });
    assert.equal(readFileOr(central.dataFile('ship1', `${t}.before.out`)), `${t}-before\n`);
    await waitFor(() => !existsSync(join(rf, `${t}.yaml`)), { timeoutMs: 30_000, message: 'the file was not removed' });
    const kept = readFileOr(join(rf, 'rejected', `${t}.yaml.rejected.txt`));
    assert.match(kept, /document 2: not usable as messages: .*circular/i);
    assert.match(kept, /document 3: not usable as messages: Excessive alias count/);
    assert.doesNotMatch(central.log(), /inputs\/readFolder failed/, 'the read folder process never failed');
  });

  it('read folder: a file over 64 MiB is moved aside unread, with the reason, and the folder goes on', async () => {
    const t = tag('big');
    const rf = join(central.folder, 'readfolder');
    // Sparse: its size is what counts, nothing is written.
    await writeFile(join(rf, `${t}.json`), '');
    await truncate(join(rf, `${t}.json`), 64 * 1024 * 1024 + 1);
    await writeFile(
      join(rf, `${t}-small.json`),
      JSON.stringify({ toNode: 'ship1', method: 'REQCliCommand', methodArgs: ['echo', `${t}-small`], fileName: `${t}.small.out` }),
    );
    await waitFor(() => readFileOr(central.dataFile('ship1', `${t}.small.out`)) === `${t}-small\n`, {
      timeoutMs: 30_000,
      message: () => `the small file was not sent; central log:\n${tailLines(central.log(), 15)}`,
    });
    const reason = await waitFor(() => readdirSync(join(rf, 'rejected')).find((n) => n.endsWith(`-${t}.json.reason.txt`)), {
      timeoutMs: 30_000,
      message: () => `no reason file: ${readdirSync(join(rf, 'rejected')).join(', ')}`,
    });
    assert.match(readFileOr(join(rf, 'rejected', reason)), /larger than 67108864 bytes \(67108865\): split it/);
    assert.equal(existsSync(join(rf, `${t}.json`)), false, 'moved out of the folder');
    assert.doesNotMatch(central.log(), /inputs\/readFolder failed/, 'the read folder process never failed');
  });

  it('inmsg.txt: a file too big to read whole is kept aside unread and reported, and the next one is read', async () => {
    const t = tag('biginmsg');
    const inmsg = join(central.folder, 'inmsg.txt');
    const size = 600 * 1024 * 1024;
    // Sparse: 600 MiB of nothing, over V8's longest string. Read whole, it failed the watcher at every restart.
    await truncate(inmsg, size);
    const aside = await waitFor(() => readdirSync(central.folder).find((n) => /^inmsg\.txt\.\d+-\d+\.too-big$/.test(n)), {
      timeoutMs: 30_000,
      message: () => `not moved aside; central log:\n${tailLines(central.log(), 15)}`,
    });
    try {
      await appendFile(
        inmsg,
        JSON.stringify({ toNode: 'ship1', method: 'REQCliCommand', methodArgs: ['echo', t], fileName: `${t}.out` }) + '\n',
      );
      await waitFor(() => readFileOr(central.dataFile('ship1', `${t}.out`)) === `${t}\n`, {
        timeoutMs: 30_000,
        message: () => `the next inmsg.txt was not read; central log:\n${tailLines(central.log(), 15)}`,
      });
      assert.equal(statSync(join(central.folder, aside)).size, size, 'kept whole');
      assert.match(
        central.log(),
        new RegExp(`inmsg\\.txt not read: ${size} bytes, larger than 67108864; kept as ${aside.replace(/\./g, '\\.')}: split it`),
      );
      assert.doesNotMatch(central.log(), /inputs\/inmsgFile failed/, 'the inmsg.txt watcher never failed');
    } finally {
      await rm(join(central.folder, aside), { force: true });
    }
  });

  it('read folder: a file put there while the node was down is sent at start, once', async () => {
    const t = tag('down');
    await ship2.stop();
    await writeFile(
      join(ship2.folder, 'readfolder', `${t}.yml`),
      `toNode: local\nmethod: REQCliCommand\nmethodArgs: [echo, ${t}]\nfileName: ${t}.out\n`,
    );
    await ship2.restart();
    const out = ship2.dataFile('ship2', `${t}.out`);
    await waitFor(() => readFileOr(out) === `${t}\n`, {
      timeoutMs: 30_000,
      message: () => `not sent at start: ${ship2.log().slice(-2000)}`,
    });
    assert.equal(existsSync(join(ship2.folder, 'readfolder', `${t}.yml`)), false);
  });
});
