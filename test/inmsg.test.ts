/**
 * The drop-in `inmsg.txt` contract, end to end: a real nats-server, real
 * nodes (`central` as the central error logger, `ship1`, `ship2`, and a
 * late `ship3`) and their real journals. Messages are appended to a node's
 * inmsg.txt exactly as an operator would (`cat msg.json >> inmsg.txt`), and
 * the tests check what the operator would check: files in data/, the
 * journal's states, inmsg.rejected.txt and central's error log.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { appendFile, mkdir, readdir, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';

import {
  cleanupHarness,
  makeTempDir,
  readFileOr,
  readLines,
  startNatsServer,
  startNode,
  waitFor,
  type NatsServerHandle,
  type NodeHandle,
  inboxRows,
  outboxRows,
} from './helpers/index.js';

after(cleanupHarness);

// The JSON examples of the seed README ("How to send a Message"), verbatim,
// including their blank lines full of spaces: operators copy them as they are.
const seedSingleCommand = String.raw`[
    {
        
        "toNode": "ship1",
        "data": ["bash","-c","ls -l ../"],
        "commandOrEvent":"CommandACK",
        "method":"CLICommand"
            
    }
]
`;

const seedTwoCommands = String.raw`[
    {
        
        "toNode": "ship1",
        "data": ["bash","-c","ls -l ../"],
        "commandOrEvent":"CommandACK",
        "method":"CLICommand"
            
    },
    {
        
        "toNode": "ship2",
        "data": ["bash","-c","ls -l ../"],
        "commandOrEvent":"CommandACK",
        "method":"CLICommand"
            
    }
]
`;

const seedCustomTimeout = String.raw`[
    {
        
        "toNode": "ship1",
        "data": ["bash","-c","netstat -an|grep -i listen"],
        "commandOrEvent":"CommandACK",
        "method":"CLICommand",
        "timeout":3,
        "retries":3
    }
]
`;

const seedTextLogging = String.raw`[
    {
        "toNode": "central",
        "data": ["some message sent from a ship for testing\n"],
        "commandOrEvent":"EventACK",
        "method":"TextLogging"
    }
]
`;

/** A message as it is stored in the journal. */
interface JournalMessage {
  id: string;
  toNode: string;
  fromNode: string;
  method: string;
  data: string[];
  timeout: number;
  retries: number;
}

/** The ACK stored with a delivered message. */
interface JournalReply {
  node: string;
  status: string;
  output?: string;
  error?: string;
  exitCode?: number | null;
}

/** One outbox row, with its JSON columns parsed. */
interface Sent {
  id: string;
  subject: string;
  state: string;
  attempts: number;
  message: JournalMessage;
  reply: JournalReply | undefined;
  lastError: string | null;
}

/** One inbox row, with its JSON columns parsed. */
interface Received {
  id: string;
  subject: string;
  state: string;
  message: JournalMessage;
}

/** The node's outbox, oldest first. */
function outbox(node: NodeHandle): Sent[] {
  return outboxRows<JournalMessage, JournalReply>(node);
}

/** The node's inbox, oldest first. */
function inbox(node: NodeHandle): Received[] {
  return inboxRows<JournalMessage, JournalReply>(node);
}

/** Messages `node` sent whose data contains `text`, without the ErrorLog reports that quote them. */
function sentWith(node: NodeHandle, text: string): Sent[] {
  return outbox(node).filter((s) => s.message.method !== 'ErrorLog' && s.message.data.join(' ').includes(text));
}

/** How often `needle` occurs in `text`. */
function count(text: string, needle: string): number {
  return text.split(needle).length - 1;
}

/** A TextLogging message for inmsg.txt, as a one-element array. */
function textLogging(toNode: string, text: string): string {
  return `[\n    {\n        "toNode": "${toNode}",\n        "data": ["${text}\\n"],\n        "method": "TextLogging"\n    }\n]\n`;
}

describe('inmsg.txt drop-in input', () => {
  let broker: NatsServerHandle;
  let root: string;
  let central: NodeHandle;
  let ship1: NodeHandle;
  let ship2: NodeHandle;

  before(async () => {
    broker = await startNatsServer();
    root = await makeTempDir('steward-inmsg-');
    const start = (name: string, args: string[] = []) =>
      startNode({ name, folder: join(root, name), brokerHostPort: broker.hostPort, args });
    [central, ship1, ship2] = await Promise.all([start('central', ['--centralErrorLogger']), start('ship1'), start('ship2')]);
  });

  /** central's error log, where every node's failures end up. */
  const errorLog = (): string => readFileOr(central.dataFile('errorLog.log'));

  it('runs every JSON example of the seed README verbatim', async () => {
    const commandLog = central.dataFile('ship1', 'ship1.CommandACK.CLICommand.log');

    // 1. One CLICommand to ship1: `ls -l ../` lists the folder holding all node folders.
    await central.inmsg(seedSingleCommand);
    const first = await waitFor(() => sentWith(central, 'ls -l ../').find((s) => s.message.toNode === 'ship1' && s.state === 'delivered'), {
      timeoutMs: 45_000,
      message: () => `the seed's single CLICommand was not delivered; central outbox: ${JSON.stringify(outbox(central))}`,
    });
    assert.equal(first.reply?.status, 'succeeded');
    assert.equal(first.reply?.node, 'ship1');
    const listing = await waitFor(() => readFileOr(commandLog).includes('total') && readFileOr(commandLog), {
      timeoutMs: 30_000,
      message: () => `${commandLog} never got the ls output; central log:\n${central.log()}`,
    });
    // `ls -l ../` run in ship1's folder lists the node folders side by side.
    for (const name of ['central', 'ship1', 'ship2']) assert.match(listing, new RegExp(` ${name}$`, 'm'));

    // 2. Two messages at once, to ship1 and ship2: both outputs arrive at central.
    await central.inmsg(seedTwoCommands);
    const ship2Log = central.dataFile('ship2', 'ship2.CommandACK.CLICommand.log');
    await waitFor(
      () => {
        const done = sentWith(central, 'ls -l ../').filter((s) => s.state === 'delivered');
        return (
          done.filter((s) => s.message.toNode === 'ship1').length === 2 && done.filter((s) => s.message.toNode === 'ship2').length === 1
        );
      },
      {
        timeoutMs: 45_000,
        message: () => `the seed's two-message array was not delivered; central outbox: ${JSON.stringify(outbox(central))}`,
      },
    );
    await waitFor(() => count(readFileOr(commandLog), 'total') === 2 && readFileOr(ship2Log).includes('total'), {
      timeoutMs: 30_000,
      message: () => `outputs missing: ${commandLog}:\n${readFileOr(commandLog)}\n${ship2Log}:\n${readFileOr(ship2Log)}`,
    });
    assert.ok((await stat(ship2Log)).size > 0);
    assert.match(readFileOr(ship2Log), / ship2$/m);

    // 3. Custom timeout and retries: the values are taken over, and ship1 answers.
    await central.inmsg(seedCustomTimeout);
    const netstat = await waitFor(() => sentWith(central, 'netstat -an').find((s) => s.state === 'delivered'), {
      timeoutMs: 45_000,
      message: () => `the seed's netstat message was not delivered; central outbox: ${JSON.stringify(sentWith(central, 'netstat'))}`,
    });
    assert.equal(netstat.message.timeout, 3);
    assert.equal(netstat.message.retries, 3);
    assert.equal(netstat.reply?.node, 'ship1', 'ship1 answered');
    const received = inbox(ship1).filter((r) => r.id === netstat.id);
    assert.equal(received.length, 1, 'ship1 journaled the message once');
    const hasNetstat = commandExists('netstat');
    if (hasNetstat) {
      // The broker listens on this machine, so its port is among the listening sockets.
      assert.equal(netstat.reply?.status, 'succeeded', `netstat failed: ${JSON.stringify(netstat.reply)}`);
      assert.match(netstat.reply?.output ?? '', new RegExp(`[:.]${broker.port}\\b.*LISTEN`, 'i'));
      await waitFor(() => readFileOr(commandLog).includes(`:${broker.port}`), {
        timeoutMs: 30_000,
        message: () => `netstat output not stored in ${commandLog}:\n${readFileOr(commandLog)}`,
      });
    } else {
      // Without netstat the pipeline's grep finds nothing: exit code 1, reported to central.
      assert.equal(netstat.reply?.status, 'failed');
      await waitFor(() => errorLog().includes(netstat.id) && errorLog().includes('exit code 1'), {
        timeoutMs: 30_000,
        message: () => `no ErrorLog about the failed netstat at central:\n${errorLog()}`,
      });
    }

    // 4. The TextLogging event: central's file holds exactly the text. Sent by
    // central to itself, as written, and from a ship, as the README means it.
    await central.inmsg(seedTextLogging);
    await ship1.inmsg(seedTextLogging);
    const expected = 'some message sent from a ship for testing\n';
    for (const from of ['central', 'ship1']) {
      const file = central.dataFile(from, 'central.EventACK.TextLogging.log');
      await waitFor(() => readFileOr(file) === expected, {
        timeoutMs: 30_000,
        message: () => `${file} should hold exactly ${JSON.stringify(expected)}, holds ${JSON.stringify(readFileOr(file, '(missing)'))}`,
      });
    }
  });

  it('delivers every message of several arrays appended one after another, and empties inmsg.txt', async () => {
    const tag = `multi${Date.now()}`;
    // Two appends back to back, normally read in one go (the stopped-node test below makes that certain).
    await appendFile(join(ship1.folder, 'inmsg.txt'), textLogging('ship2', `${tag}-a1`) + textLogging('central', `${tag}-a2`));
    await appendFile(
      join(ship1.folder, 'inmsg.txt'),
      `[\n${[3, 4].map((n) => textLogging('ship2', `${tag}-a${n}`).slice(2, -3)).join(',\n')}\n]\n`,
    );
    // A file saved by a Windows editor (BOM, CRLF), and a bare object instead of an array.
    await ship1.inmsg(`\uFEFF${textLogging('ship2', `${tag}-a5`).replace(/\n/g, '\r\n')}`);
    await ship1.inmsg(`${JSON.stringify({ toNode: 'ship2', data: [`${tag}-a6\n`], method: 'TextLogging' })}\n`);
    // Then a burst of appends racing with the node taking the file away.
    const burst = Array.from({ length: 12 }, (_, i) => `${tag}-b${i}`);
    for (const [i, text] of burst.entries()) {
      await ship1.inmsg(textLogging('ship2', text));
      if (i % 3 === 2) await sleep(20);
    }

    const atShip2 = ship2.dataFile('ship1', 'ship2.EventACK.TextLogging.log');
    const atCentral = central.dataFile('ship1', 'central.EventACK.TextLogging.log');
    const wanted = [`${tag}-a1`, `${tag}-a3`, `${tag}-a4`, `${tag}-a5`, `${tag}-a6`, ...burst];
    await waitFor(() => wanted.every((t) => readFileOr(atShip2).includes(`${t}\n`)) && readFileOr(atCentral).includes(`${tag}-a2\n`), {
      timeoutMs: 45_000,
      message: () =>
        `missing at ship2: ${wanted.filter((t) => !readFileOr(atShip2).includes(`${t}\n`)).join(', ')}; ship1 log:\n${ship1.log().slice(-4000)}`,
    });
    // Each exactly once, and in the order they were appended (one ordered subject).
    const lines = readLines(atShip2).filter((l) => l.startsWith(tag));
    assert.deepEqual(lines, wanted);
    assert.equal(count(readFileOr(atCentral), `${tag}-a2\n`), 1);

    await waitFor(async () => (await stat(join(ship1.folder, 'inmsg.txt'))).size === 0, {
      timeoutMs: 30_000,
      message: () => `ship1's inmsg.txt was not emptied: ${JSON.stringify(readFileOr(join(ship1.folder, 'inmsg.txt')))}`,
    });
    const leftovers = (await readdir(ship1.folder)).filter((f) => f.endsWith('.processing'));
    assert.deepEqual(leftovers, [], 'no moved inmsg file is left behind');
    assert.equal(readFileOr(join(ship1.folder, 'inmsg.rejected.txt')).includes(tag), false, 'nothing was rejected');
  });

  it('rejects malformed entries with reasons, keeps them, reports them and still delivers the valid ones', async () => {
    const tag = `mixed${Date.now()}`;
    // Line numbers matter: the reasons name them.
    const content = [
      /*  1 */ '[',
      /*  2 */ '    {',
      /*  3 */ '        "toNode": "central",',
      /*  4 */ `        "data": ["${tag}-valid-A\\n"],`,
      /*  5 */ '        "method": "TextLogging"',
      /*  6 */ '    }',
      /*  7 */ ']',
      /*  8 */ '[',
      /*  9 */ '    {',
      /* 10 */ '        "toNode": "ship2",',
      /* 11 */ `        "data": ["${tag}-broken-bracket\\n"],`,
      /* 12 */ '        "method": "TextLogging"',
      /* 13 */ '    }',
      /* 14 */ '[',
      /* 15 */ '    {',
      /* 16 */ '        "toNode": "ship2",',
      /* 17 */ `        "data": ["${tag}-valid-B\\n"],`,
      /* 18 */ '        "method": "TextLogging"',
      /* 19 */ '    }',
      /* 20 */ ']',
      /* 21 */ '[',
      /* 22 */ '    {',
      /* 23 */ '        "toNode": "central",',
      /* 24 */ `        "data": ["${tag}-broken-quote\\n],`,
      /* 25 */ '        "method": "TextLogging"',
      /* 26 */ '    }',
      /* 27 */ ']',
      /* 28 */ '[',
      /* 29 */ '    {',
      /* 30 */ `        "data": ["${tag}-no-toNode\\n"],`,
      /* 31 */ '        "method": "TextLogging"',
      /* 32 */ '    },',
      /* 33 */ '    {',
      /* 34 */ '        "toNode": "ship2",',
      /* 35 */ `        "data": ["bash", "-c", "echo ${tag}-typo-fixed"],`,
      /* 36 */ '        "method": "CLIComand"',
      /* 37 */ '    },',
      /* 38 */ '    {',
      /* 39 */ '        "toNode": "ship2",',
      /* 40 */ `        "data": ["${tag}-valid-C\\n"],`,
      /* 41 */ '        "method": "TextLogging"',
      /* 42 */ '    }',
      /* 43 */ ']',
    ].join('\n');
    await ship1.inmsg(`${content}\n`);

    // Every valid entry is delivered, in order.
    const atShip2 = ship2.dataFile('ship1', 'ship2.EventACK.TextLogging.log');
    const atCentral = central.dataFile('ship1', 'central.EventACK.TextLogging.log');
    await waitFor(() => readFileOr(atShip2).includes(`${tag}-valid-C\n`) && readFileOr(atCentral).includes(`${tag}-valid-A\n`), {
      timeoutMs: 45_000,
      message: () =>
        `valid entries missing; ship2 got:\n${readFileOr(atShip2)}\ncentral got:\n${readFileOr(atCentral)}\nship1 log:\n${ship1.log().slice(-4000)}`,
    });
    assert.deepEqual(
      readLines(atShip2).filter((l) => l.startsWith(tag)),
      [`${tag}-valid-B`, `${tag}-valid-C`],
    );
    assert.deepEqual(
      readLines(atCentral).filter((l) => l.startsWith(tag)),
      [`${tag}-valid-A`],
    );
    const accepted = sentWith(ship1, tag);
    assert.equal(accepted.length, 3, `only the 3 valid entries are journaled: ${JSON.stringify(accepted)}`);

    // The 4 rejected entries are kept with a reason naming the line, and the field where there is one.
    const rejectedFile = join(ship1.folder, 'inmsg.rejected.txt');
    const rejected = await waitFor(() => count(readFileOr(rejectedFile), tag) >= 4 && readFileOr(rejectedFile), {
      timeoutMs: 30_000,
      message: () => `inmsg.rejected.txt should hold the 4 rejected entries:\n${readFileOr(rejectedFile, '(missing)')}`,
    });
    const reasons = rejected.split('\n').filter((l) => l.startsWith('#'));
    const reasonFor = (where: string): string => {
      const found = reasons.filter((l) => l.includes(`inmsg.txt ${where}`));
      assert.equal(found.length, 1, `one reason line for ${where} in:\n${rejected}`);
      return found[0]!;
    };
    assert.match(reasonFor('value 2 (line 8)'), /value not closed before line 14/);
    assert.match(reasonFor('value 4 (line 21)'), /value not closed before line 28/);
    assert.match(reasonFor('value 5, entry 1 (line 29)'), /field "toNode": is missing/);
    assert.match(reasonFor('value 5, entry 2 (line 33)'), /field "method": unknown method "CLIComand"/);
    for (const text of ['broken-bracket', 'broken-quote', 'no-toNode', 'typo-fixed']) {
      assert.equal(count(rejected, `${tag}-${text}`), 1, `the text of ${text} is kept once`);
    }
    // Nothing is lost: 7 entries written = 3 journaled + 4 rejected (nothing else was ever rejected here).
    assert.equal(reasons.length, 4, rejected);
    assert.equal(accepted.length + reasons.length, 7);

    // central's error log hears about each rejection from ship1.
    await waitFor(
      () =>
        ['(line 8)', '(line 21)', '(line 29)', '(line 33)'].every((l) =>
          errorLog()
            .split('\n')
            .some((e) => e.includes('ship1: badInput') && e.includes(l) && e.includes('rejected')),
        ),
      { timeoutMs: 30_000, message: () => `central's errorLog.log lacks ship1's rejection reports:\n${errorLog()}` },
    );
    assert.match(errorLog(), /ship1: badInput: .*\(line 33\) rejected: field "method": unknown method "CLIComand"/);

    // The kept text is ready to be fixed and appended again.
    const blocks = rejected.split(/^(?=#)/m);
    const typoBlock = blocks.find((b) => b.includes('(line 33)') && b.includes(tag));
    assert.ok(typoBlock, 'a block for the misspelled method');
    // The `#` reason line goes along: inmsg.txt treats it as a comment.
    await ship1.inmsg(typoBlock.replace('"method": "CLIComand"', '"method": "CLICommand"'));
    const fixedLog = ship1.dataFile('ship2', 'ship2.CommandACK.CLICommand.log');
    await waitFor(() => readFileOr(fixedLog).includes(`${tag}-typo-fixed`), {
      timeoutMs: 30_000,
      message: () =>
        `the fixed entry did not run on ship2; ${fixedLog}: ${readFileOr(fixedLog, '(missing)')}; ship1 log:\n${ship1.log().slice(-3000)}`,
    });
  });

  it('picks up messages written to inmsg.txt while the node was stopped', async () => {
    const tag = `offline${Date.now()}`;
    await ship2.stop();
    assert.equal(ship2.running, false);
    // Two separate appends, both certainly before the node reads the file.
    await ship2.inmsg(textLogging('ship1', `${tag}-1`));
    await ship2.inmsg(textLogging('central', `${tag}-2`));
    await ship2.restart();

    const atShip1 = ship1.dataFile('ship2', 'ship1.EventACK.TextLogging.log');
    const atCentral = central.dataFile('ship2', 'central.EventACK.TextLogging.log');
    await waitFor(() => readFileOr(atShip1).includes(`${tag}-1\n`) && readFileOr(atCentral).includes(`${tag}-2\n`), {
      timeoutMs: 45_000,
      message: () => `messages written while ship2 was stopped were not delivered; ship2 log:\n${ship2.log().slice(-4000)}`,
    });
    assert.equal(count(readFileOr(atShip1), tag), 1);
    assert.equal(count(readFileOr(atCentral), tag), 1);
    await waitFor(async () => (await stat(join(ship2.folder, 'inmsg.txt'))).size === 0, {
      timeoutMs: 30_000,
      message: 'ship2 did not empty its inmsg.txt after the start',
    });
  });

  it('delivers once to a node that was offline, with retries -1 and timeout 1', async () => {
    const tag = `late${Date.now()}`;
    const ship3Folder = join(root, 'ship3');
    // ship3 has never run: its folder only holds an inmsg.txt dropped in beforehand.
    await mkdir(ship3Folder, { recursive: true });
    await writeFile(join(ship3Folder, 'inmsg.txt'), textLogging('central', `${tag}-from-ship3`));

    await central.inmsg(
      JSON.stringify([
        {
          toNode: 'ship3',
          data: ['bash', '-c', `echo ran >> ran-${tag}.txt; echo ${tag}-done`],
          method: 'CLICommand',
          timeout: 1,
          retries: -1,
        },
      ]) + '\n',
    );
    // Several attempts go nowhere while ship3 is offline.
    const pending = await waitFor(() => sentWith(central, tag).find((s) => s.attempts >= 3), {
      timeoutMs: 30_000,
      message: () => `central did not keep resending to the offline ship3: ${JSON.stringify(sentWith(central, tag))}`,
    });
    assert.notEqual(pending.state, 'delivered');
    assert.notEqual(pending.state, 'expired');

    const ship3 = await startNode({ name: 'ship3', folder: ship3Folder, brokerHostPort: broker.hostPort });
    const done = await waitFor(() => sentWith(central, tag).find((s) => s.state === 'delivered'), {
      timeoutMs: 45_000,
      message: () => `not delivered after ship3 started: ${JSON.stringify(sentWith(central, tag))}`,
    });
    assert.equal(done.reply?.status, 'succeeded');
    assert.ok(done.attempts >= 3, `attempts ${done.attempts}`);
    const commandLog = central.dataFile('ship3', 'ship3.CommandACK.CLICommand.log');
    await waitFor(() => readFileOr(commandLog).includes(`${tag}-done`), {
      timeoutMs: 30_000,
      message: () => `no output at central: ${readFileOr(commandLog)}`,
    });
    assert.equal(count(readFileOr(commandLog), `${tag}-done`), 1);

    // Exactly once at ship3, however many copies were in flight when it came up.
    assert.deepEqual(readLines(join(ship3Folder, `ran-${tag}.txt`)), ['ran']);
    const runs = inbox(ship3).filter((r) => r.id === done.id);
    assert.equal(runs.length, 1);
    assert.equal(runs[0]!.state, 'succeeded');

    // And the inmsg.txt dropped into the never-started node's folder was sent at its first start.
    const fromShip3 = central.dataFile('ship3', 'central.EventACK.TextLogging.log');
    await waitFor(() => readFileOr(fromShip3) === `${tag}-from-ship3\n`, {
      timeoutMs: 30_000,
      message: () => `central did not get ship3's pre-start message; ${fromShip3}: ${readFileOr(fromShip3, '(missing)')}\n${ship3.log()}`,
    });
  });
});

/** Whether `name` is a program on PATH, as bash sees it. */
function commandExists(name: string): boolean {
  return spawnSync('bash', ['-c', `command -v ${name}`]).status === 0;
}
