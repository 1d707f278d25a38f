/**
 * `steward watch` end to end (issue 14 item 3): the built CLI follows real
 * nodes' live events. A message's whole life at the sender (accepted →
 * queued → sending → awaitingAck → delivered) and at the receiver
 * (received → running → succeeded → replied); the filters (`--toNode`,
 * `--method`, `--id`, `--failures`); JSON lines that parse (the default when
 * stdout is not a terminal) and human lines; and a watcher that stops
 * reading does not slow the node: it keeps delivering, and the watcher is
 * told afterwards how many events it missed.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { createConnection, type Socket } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';

import {
  folderSocketEnv,
  cleanupHarness,
  makeTempDir,
  startNatsServer,
  startNode,
  stewardBin,
  waitFor,
  type NatsServerHandle,
  type NodeHandle,
} from './helpers/index.js';

after(cleanupHarness);

function cliEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, ...folderSocketEnv };
  delete env['NODE_TEST_CONTEXT'];
  return env;
}

/** Runs the built CLI to its end and collects what it prints. */
function steward(args: string[], cwd: string, timeoutMs = 90_000): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [stewardBin, ...args], { cwd, env: cliEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

type Line = Record<string, unknown>;

/** A running `steward watch`: the lines it printed so far. */
class Watcher {
  readonly raw: string[] = [];
  stderr = '';
  exit?: number | null;
  private readonly child: ChildProcessWithoutNullStreams;
  private readonly closed: Promise<void>;

  constructor(cwd: string, args: string[]) {
    this.child = spawn(process.execPath, [stewardBin, 'watch', ...args], { cwd, env: cliEnv(), stdio: 'pipe' });
    let buf = '';
    this.child.stdout.setEncoding('utf8').on('data', (d: string) => {
      buf += d;
      let nl;
      while ((nl = buf.indexOf('\n')) >= 0) {
        this.raw.push(buf.slice(0, nl));
        buf = buf.slice(nl + 1);
      }
    });
    this.child.stderr.setEncoding('utf8').on('data', (d: string) => (this.stderr += d));
    this.closed = new Promise((resolve) =>
      this.child.on('close', (code) => {
        this.exit = code;
        resolve();
      }),
    );
  }

  /** Every line, parsed as JSON (a line that is not JSON fails the test). */
  json(): Line[] {
    return this.raw.map((l) => {
      try {
        return JSON.parse(l) as Line;
      } catch {
        throw new Error(`steward watch printed a line that is not JSON: ${l}`);
      }
    });
  }

  events(): Line[] {
    return this.json().filter((l) => l.type === 'event');
  }

  /** Resolves once the watch is subscribed (its `watching` line): no event after this is missed. */
  async ready(): Promise<void> {
    // JSON lines start with a `watching` line; human lines are announced on stderr.
    await waitFor(
      () => this.exit !== undefined || this.raw.some((l) => l.includes('"type":"watching"')) || /^watching node /m.test(this.stderr),
      {
        timeoutMs: 30_000,
        message: () => `steward watch did not start: ${this.stderr}`,
      },
    );
    assert.equal(this.exit, undefined, `steward watch exited: ${this.stderr}`);
  }

  /** Ctrl-C, and its exit code. */
  async stop(): Promise<number | null | undefined> {
    if (this.exit === undefined) this.child.kill('SIGINT');
    await this.closed;
    return this.exit;
  }
}

const watchers: Watcher[] = [];
function watch(cwd: string, args: string[]): Watcher {
  const w = new Watcher(cwd, args);
  watchers.push(w);
  return w;
}
after(async () => {
  await Promise.all(watchers.map((w) => w.stop()));
});

/** The states of one message's events of `kind`, in the order they came. */
function statesOf(lines: Line[], id: string, kind: string): string[] {
  return lines.filter((l) => l.type === 'event' && l.kind === kind && l.id === id).map((l) => String(l.state));
}

describe('steward watch', { timeout: 600_000 }, () => {
  const tag = randomUUID().slice(0, 6);
  let server: NatsServerHandle;
  let central: NodeHandle;
  let ship: NodeHandle;
  const absent = `wabsent${tag}`;
  // Every security flag explicit: these tests are about the event stream, not about keys.
  const common = (central: string) => [
    '--centralNodeName',
    central,
    '--enableSignatureCheck',
    'false',
    '--enableAclCheck',
    'false',
    '--defaultMessageTimeout',
    '2',
    '--defaultMessageRetries',
    '1',
  ];

  before(async () => {
    server = await startNatsServer();
    const dir = await makeTempDir('steward-watch-');
    const centralName = `wc${tag}`;
    central = await startNode({
      name: centralName,
      folder: join(dir, centralName),
      brokerHostPort: server.hostPort,
      args: common(centralName),
      env: folderSocketEnv,
    });
    ship = await startNode({
      name: `ws${tag}`,
      folder: join(dir, `ws${tag}`),
      brokerHostPort: server.hostPort,
      args: common(centralName),
      env: folderSocketEnv,
    });
  });

  it("shows a message's whole life, at the sender and at the receiver", async () => {
    const atCentral = watch(central.folder, ['--json']);
    const atShip = watch(ship.folder, ['--json']);
    const human = watch(central.folder, ['--json', 'false']);
    await Promise.all([atCentral.ready(), atShip.ready(), human.ready()]);
    const sent = await steward(
      ['send', '--toNode', ship.name, '--method', 'CLICommand', '--', 'bash', '-c', 'echo watched'],
      central.folder,
    );
    assert.equal(sent.code, 0, sent.stderr);
    assert.match(sent.stdout, /watched/);

    const accepted = await waitFor(
      () => atCentral.events().find((e) => e.kind === 'delivery' && e.state === 'accepted' && e.toNode === ship.name),
      { timeoutMs: 30_000, message: () => `no accepted event at central:\n${atCentral.raw.join('\n')}` },
    );
    const id = String(accepted.id);
    assert.equal(accepted.source, 'socket');
    assert.equal(accepted.method, 'CLICommand');
    await waitFor(() => statesOf(atCentral.json(), id, 'delivery').includes('delivered'), {
      timeoutMs: 30_000,
      message: () => `central never showed delivered:\n${atCentral.raw.join('\n')}`,
    });
    assert.deepEqual(statesOf(atCentral.json(), id, 'delivery'), ['accepted', 'queued', 'sending', 'awaitingAck', 'delivered']);
    const delivered = atCentral.events().find((e) => e.id === id && e.state === 'delivered')!;
    assert.equal(delivered.status, 'succeeded');
    assert.equal(delivered.exitCode, 0);
    assert.equal(delivered.attempts, 1);

    await waitFor(() => statesOf(atShip.json(), id, 'execution').includes('replied'), {
      timeoutMs: 30_000,
      message: () => `the ship never showed replied:\n${atShip.raw.join('\n')}`,
    });
    assert.deepEqual(statesOf(atShip.json(), id, 'execution'), ['received', 'running', 'succeeded', 'replied']);
    const replied = atShip.events().find((e) => e.id === id && e.state === 'replied')!;
    assert.equal(replied.fromNode, central.name);
    assert.equal(replied.status, 'succeeded');

    // The same life in human lines: time, id, direction, node, method, state.
    await waitFor(() => human.raw.some((l) => l.includes(id.slice(-8)) && / delivered: succeeded, exit 0$/.test(l)), {
      timeoutMs: 30_000,
      message: () => `human lines:\n${human.raw.join('\n')}\n${human.stderr}`,
    });
    const mine = human.raw.filter((l) => l.includes(id.slice(-8)));
    assert.match(
      mine[0]!,
      new RegExp(`^\\d\\d:\\d\\d:\\d\\d\\.\\d{3}   ${id.slice(-8)}  → ${ship.name}\\s+CLICommand\\s+accepted: from socket$`),
    );
    assert.ok(
      mine.every((l) => !l.startsWith('{')),
      mine.join('\n'),
    );
    for (const w of [atCentral, atShip, human]) assert.equal(await w.stop(), 0, 'Ctrl-C ends steward watch with exit code 0');
  });

  it('JSON lines are the default when stdout is not a terminal, and every line parses', async () => {
    const w = watch(central.folder, []);
    await w.ready();
    const sent = await steward(['send', '--toNode', ship.name, '--method', 'CLICommand', '--', 'true'], central.folder);
    assert.equal(sent.code, 0, sent.stderr);
    await waitFor(() => w.events().some((e) => e.state === 'delivered' && e.toNode === ship.name), {
      timeoutMs: 30_000,
      message: () => w.raw.join('\n'),
    });
    const lines = w.json();
    assert.equal(lines[0]!.type, 'watching');
    assert.equal(lines[0]!.node, central.name);
    for (const l of lines) {
      assert.ok(['watching', 'event', 'dropped'].includes(String(l.type)), JSON.stringify(l));
      assert.equal(l.reqId, undefined, 'the connection-level reqId is not printed');
      if (l.type === 'event') assert.equal(typeof l.time, 'number');
    }
    await w.stop();
  });

  it('--toNode, --method and --failures keep only what they name', async () => {
    const byNode = watch(central.folder, ['--json', '--toNode', `ws${tag.slice(0, 3)}*`, '--method', 'CLICommand']);
    const failures = watch(central.folder, ['--json', '--failures']);
    const all = watch(central.folder, ['--json']);
    await Promise.all([byNode.ready(), failures.ready(), all.ready()]);
    const toShip = await steward(['send', '--toNode', ship.name, '--method', 'CLICommand', '--', 'true'], central.folder);
    assert.equal(toShip.code, 0, toShip.stderr);
    const echo = await steward(['send', '--toNode', ship.name, '--method', 'ECHORequest', '--', 'hello'], central.folder);
    assert.equal(echo.code, 0, echo.stderr);
    // Nobody listens on this node: the broker says "no responders", and the delivery expires.
    const lost = await steward(
      ['send', '--toNode', absent, '--method', 'CLICommand', '--timeout', '1', '--retries', '0', '--', 'true'],
      central.folder,
    );
    assert.equal(lost.code, 3, lost.stderr);

    await waitFor(() => all.events().some((e) => e.kind === 'failure' && e.peer === absent), {
      timeoutMs: 30_000,
      message: () => `no failure event for ${absent}:\n${all.raw.join('\n')}`,
    });
    // Everything the unfiltered watcher saw has been seen by the others too (same node, same order).
    await waitFor(() => failures.events().some((e) => e.kind === 'failure' && e.peer === absent), {
      timeoutMs: 30_000,
      message: () => `--failures did not show the failure:\n${failures.raw.join('\n')}`,
    });
    const everything = all.events();
    assert.ok(
      everything.some((e) => e.method === 'ECHORequest'),
      'the unfiltered watcher saw the ECHORequest',
    );
    assert.ok(
      everything.some((e) => e.toNode === absent),
      `the unfiltered watcher saw the message to ${absent}`,
    );

    const named = byNode.events();
    assert.ok(named.length >= 5, `the CLICommand to ${ship.name} was shown:\n${byNode.raw.join('\n')}`);
    for (const e of named) {
      assert.equal(e.toNode, ship.name, JSON.stringify(e));
      assert.equal(e.method, 'CLICommand', JSON.stringify(e));
    }

    const failed = failures.events();
    assert.ok(
      failed.some((e) => e.kind === 'delivery' && e.toNode === absent && e.state === 'expired'),
      `the expired delivery is a failure:\n${failures.raw.join('\n')}`,
    );
    for (const e of failed) {
      const isFailure =
        e.kind === 'failure' || e.state === 'expired' || ['failed', 'timedOut', 'rejected', 'interrupted'].includes(String(e.status));
      assert.ok(isFailure, `--failures showed a success: ${JSON.stringify(e)}`);
    }
    await Promise.all([byNode.stop(), failures.stop(), all.stop()]);
  });

  it('--id follows one message and its reply, and nothing else', async () => {
    // A request with a reply message: the reply is a message of its own, linked by previousMessageId.
    const sent = await steward(
      ['send', '--no-wait', '--json', '--toNode', ship.name, '--method', 'CLICommandRequest', '--', 'bash', '-c', 'sleep 5; echo late'],
      central.folder,
    );
    assert.equal(sent.code, 0, sent.stderr);
    const id = String((JSON.parse(sent.stdout.trim().split('\n')[0]!) as Line).id);
    // By the short id watch shows: the id's last 8 characters.
    const one = watch(central.folder, ['--json', '--id', id.slice(-8)]);
    await one.ready();
    const other = await steward(['send', '--toNode', ship.name, '--method', 'CLICommand', '--', 'true'], central.folder);
    assert.equal(other.code, 0, other.stderr);
    // The reply arrives at central as a message received there, answering our id.
    await waitFor(() => one.events().some((e) => e.kind === 'execution' && e.previousMessageId === id && e.state === 'replied'), {
      timeoutMs: 60_000,
      message: () => `the reply to ${id} was not shown:\n${one.raw.join('\n')}`,
    });
    for (const e of one.events()) assert.ok(e.id === id || e.previousMessageId === id, `--id ${id} showed ${JSON.stringify(e)}`);
    await one.stop();
    const bad = await steward(['watch', '--id', 'abc'], central.folder);
    assert.equal(bad.code, 2, 'too short a part of an id is a usage error');
    assert.match(bad.stderr, /first or last 6 or more characters/);
  });

  it('a watcher that stops reading does not slow the node: it keeps delivering, and the watcher is told what it missed', async () => {
    const sockPath = join(central.folder, 'steward.sock');
    // A raw client that asks for every event, then reads nothing.
    const stalled: Socket = createConnection(sockPath);
    await new Promise<void>((resolve, reject) => {
      stalled.once('connect', resolve);
      stalled.once('error', reject);
    });
    let received = '';
    const subscribed = new Promise<void>((resolve) => {
      const onData = (d: Buffer) => {
        received += d.toString('utf8');
        if (received.includes('"type":"watching"')) {
          stalled.off('data', onData);
          stalled.pause();
          resolve();
        }
      };
      stalled.on('data', onData);
    });
    stalled.write(JSON.stringify({ op: 'watch', reqId: 'stalled' }) + '\n');
    await subscribed;

    // Many messages from central to itself: nine events each at this one node.
    const n = 1500;
    const messages = Array.from({ length: n }, (_, i) => ({
      toNode: central.name,
      method: 'REQNone',
      commandOrEvent: 'EventACK',
      replyMethod: 'REQNone',
      data: [String(i)],
    }));
    const sender = createConnection(sockPath);
    let answer = '';
    sender.setEncoding('utf8').on('data', (d: string) => (answer += d));
    sender.write(JSON.stringify({ op: 'send', reqId: 1, messages, wait: true }) + '\n');
    const done = await waitFor(
      () => {
        const line = answer.split('\n').find((l) => l.includes('"type":"done"'));
        return line ? (JSON.parse(line) as Line) : undefined;
      },
      { timeoutMs: 300_000, intervalMs: 200, message: () => `the node did not finish the ${n} messages:\n${answer.slice(-2000)}` },
    );
    sender.end();
    // Every message was delivered while the watcher read nothing.
    assert.equal(done.ok, n, JSON.stringify(done));
    assert.equal(stalled.destroyed, false, 'the stalled watcher is still connected');

    // Now it reads: what was buffered, then one line saying how many events it missed.
    let lines = received;
    stalled.setEncoding('utf8');
    stalled.on('data', (d: string) => (lines += d));
    stalled.resume();
    const dropped = await waitFor(
      () => {
        const line = lines.split('\n').find((l) => l.includes('"type":"dropped"'));
        return line ? (JSON.parse(line) as Line) : undefined;
      },
      { timeoutMs: 60_000, message: () => `no dropped line; the watcher read ${lines.split('\n').length} lines` },
    );
    assert.equal(dropped.reqId, 'stalled');
    assert.ok(Number(dropped.count) > 0, JSON.stringify(dropped));
    const events = lines.split('\n').filter((l) => l.includes('"type":"event"')).length;
    // Nothing was lost silently: the events shown and the events dropped add up to what happened.
    assert.ok(events + Number(dropped.count) >= n * 5, `${events} shown + ${String(dropped.count)} dropped for ${n} messages`);

    // And it is live again: a new message shows up.
    const after = await steward(['send', '--toNode', ship.name, '--method', 'CLICommand', '--', 'true'], central.folder);
    assert.equal(after.code, 0, after.stderr);
    await waitFor(() => lines.split('\n').some((l) => l.includes('"state":"delivered"') && l.includes(`"toNode":"${ship.name}"`)), {
      timeoutMs: 30_000,
      message: 'the watcher got no event after its gap',
    });
    stalled.destroy();
  });
});
