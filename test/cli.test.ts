/**
 * The operator CLI end to end: `steward send`, `status`, `jobs` and `nodes`
 * run as an operator runs them (the built binary, in a node's folder),
 * against real nodes and a real nats-server. Also the local API socket
 * itself: its place and mode, other users refused, malformed requests
 * answered without disturbing the node, stale sockets cleaned up.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { chmodSync, lstatSync, readlinkSync, statSync, writeFileSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { createConnection } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';

import Database from 'better-sqlite3';

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

interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
  ms: number;
}

/** Runs the built `steward` CLI in `cwd` and collects what it prints. Killed after `timeoutMs`. */
function steward(
  args: string[],
  opts: { cwd: string; input?: string; env?: Record<string, string>; timeoutMs?: number; uid?: number },
): Promise<CliRun> {
  const env: NodeJS.ProcessEnv = { ...process.env, ...folderSocketEnv, ...opts.env };
  delete env['NODE_TEST_CONTEXT'];
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [stewardBin, ...args], { cwd: opts.cwd, env, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.stdin.end(opts.input ?? '');
    const timeoutMs = opts.timeoutMs ?? 90_000;
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr, ms: Date.now() - started });
    });
  });
}

/** Runs `argv` as uid/gid 65534 (nobody) without groups, from `/`, and collects what it prints. */
function asOtherUser(argv: string[]): Promise<CliRun> {
  return new Promise<CliRun>((resolve, reject) => {
    const child = spawn('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', ...argv], {
      cwd: '/',
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { PATH: process.env.PATH ?? '' },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr, ms: 0 }));
  });
}

/** A CliRun in words, for assertion messages. */
function show(r: CliRun): string {
  return `exit ${r.code} after ${r.ms} ms\n--- stdout\n${r.stdout}\n--- stderr\n${r.stderr}`;
}

/** Parses JSON-lines output. */
function jsonLines(text: string): Record<string, unknown>[] {
  return text
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

/** Writes request lines to a socket and collects response lines until `count` arrived. */
function talk(path: string, payload: string | Buffer, count: number, timeoutMs = 30_000): Promise<Record<string, unknown>[]> {
  return new Promise((resolve, reject) => {
    const sock = createConnection(path);
    let buf = '';
    const out: Record<string, unknown>[] = [];
    const timer = setTimeout(() => {
      sock.destroy();
      reject(new Error(`only ${out.length} of ${count} responses within ${timeoutMs} ms: ${JSON.stringify(out)}`));
    }, timeoutMs);
    sock.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    sock.setEncoding('utf8');
    sock.on('data', (d: string) => {
      buf += d;
      let nl;
      while ((nl = buf.indexOf('\n')) >= 0) {
        out.push(JSON.parse(buf.slice(0, nl)) as Record<string, unknown>);
        buf = buf.slice(nl + 1);
      }
      if (out.length >= count) {
        clearTimeout(timer);
        sock.end();
        resolve(out);
      }
    });
    sock.write(payload);
  });
}

describe('steward send, status and jobs against real nodes', () => {
  let broker: NatsServerHandle;
  let root: string;
  let central: NodeHandle;
  let ship1: NodeHandle;

  before(async () => {
    broker = await startNatsServer();
    root = await makeTempDir('steward-cli-');
    [central, ship1] = await Promise.all([
      // A short default ACK timeout, to show that a command running longer is still waited for.
      startNode({
        name: 'central',
        folder: join(root, 'central'),
        brokerHostPort: broker.hostPort,
        args: ['--defaultMessageTimeout', '2'],
        env: folderSocketEnv,
      }),
      startNode({ name: 'ship1', folder: join(root, 'ship1'), brokerHostPort: broker.hostPort, env: folderSocketEnv }),
    ]);
  });

  it('sends a command, prints its output as it is and exits 0', async () => {
    const r = await steward(['send', '--toNode', 'ship1', '--', 'bash', '-c', 'echo "hello $((6*7)) from $(basename "$PWD")"'], {
      cwd: central.folder,
    });
    assert.equal(r.code, 0, show(r));
    assert.equal(r.stdout, 'hello 42 from ship1\n', show(r));
    // Not a terminal: no progress line, no summary for a single message.
    assert.equal(r.stderr, '', show(r));
  });

  it('a command failing on the node exits 1 and shows its exit code and output', async () => {
    const r = await steward(['send', '--toNode', 'ship1', '--', 'bash', '-c', 'echo partial; exit 3'], { cwd: central.folder });
    assert.equal(r.code, 1, show(r));
    assert.equal(r.stdout, 'partial\n', show(r));
    assert.match(r.stderr, /ship1: CLICommand failed \(exit code 3\)/, show(r));
  });

  it('a command running longer than the ACK timeout times its retries is waited for, not taken for an unreachable node', async () => {
    // central's default ACK timeout is 2 s and retries 1: without waiting for the run, this would expire after 4 s.
    const r = await steward(['send', '--toNode', 'ship1', '--methodTimeout', '20', '--', 'bash', '-c', 'sleep 5; echo slept'], {
      cwd: central.folder,
    });
    assert.equal(r.code, 0, show(r));
    assert.equal(r.stdout, 'slept\n', show(r));
  });

  it('--json prints one result object per message and a summary', async () => {
    const r = await steward(['send', '--json', '--toNode', 'ship1', '--', 'printf', 'a\\nb'], { cwd: central.folder });
    assert.equal(r.code, 0, show(r));
    const [result, summary] = jsonLines(r.stdout);
    assert.equal(result?.type, 'result');
    assert.equal(result?.toNode, 'ship1');
    assert.equal(result?.status, 'succeeded');
    assert.equal(result?.ok, true);
    assert.equal(result?.exitCode, 0);
    assert.equal(result?.output, 'a\nb');
    assert.match(String(result?.id), /^[0-9a-f-]{36}$/);
    assert.deepEqual(
      { ...summary, seconds: 0 },
      { type: 'summary', total: 1, finished: 1, ok: 1, failed: 0, expired: 0, noReply: 0, exitCode: 0, seconds: 0 },
    );
  });

  it('request methods answer with a reply message: CLICommandRequest and ECHORequest', async () => {
    const req = await steward(['send', '--toNode', 'ship1', '--method', 'CLICommandRequest', '--', 'bash', '-c', 'echo req; exit 4'], {
      cwd: central.folder,
    });
    assert.equal(req.code, 1, show(req));
    assert.equal(req.stdout, 'req\n', show(req));
    assert.match(req.stderr, /CLICommandRequest failed \(exit code 4\)/, show(req));
    const echo = await steward(['send', '--toNode', 'ship1', '--method', 'ECHORequest', '--', 'ping pong'], { cwd: central.folder });
    assert.equal(echo.code, 0, show(echo));
    assert.equal(echo.stdout, 'ping pong', show(echo));
  });

  it('--no-wait prints the id; steward status <id> then shows it delivered with its result', async () => {
    const r = await steward(['send', '--no-wait', '--toNode', 'ship1', '--', 'bash', '-c', 'echo later'], { cwd: central.folder });
    assert.equal(r.code, 0, show(r));
    const id = r.stdout.trim();
    assert.match(id, /^[0-9a-f-]{36}$/, show(r));
    const status = await waitFor(
      async () => {
        const s = await steward(['status', id, '--json'], { cwd: central.folder });
        const body = JSON.parse(s.stdout || '{}') as { sent?: { state: string; result?: { status: string; output?: string } } };
        return s.code === 0 && body.sent?.state === 'delivered' && body.sent;
      },
      { timeoutMs: 60_000, intervalMs: 500, message: `message ${id} never showed as delivered` },
    );
    assert.equal(status.result?.status, 'succeeded');
    assert.equal(status.result?.output, 'later\n');
    // The same in words, looked up by the short id jobs and watch show (its last 8 characters).
    const text = await steward(['status', id.slice(-8)], { cwd: central.folder });
    assert.equal(text.code, 0, show(text));
    assert.match(text.stdout, new RegExp(`message ${id}, sent by central`), show(text));
    assert.match(text.stdout, /state: +delivered after 1 attempt\(s\)/, show(text));
    assert.match(text.stdout, /result: +succeeded, exit code 0/, show(text));
    assert.match(text.stdout, /later/, show(text));
    // ship1 received it: its own journal says so.
    const there = await steward(['status', id], { cwd: ship1.folder });
    assert.equal(there.code, 0, show(there));
    assert.match(there.stdout, /received from central/, show(there));
    assert.match(there.stdout, /state: +succeeded/, show(there));
    const missing = await steward(['status', '00000000-0000-0000-0000-000000000000'], { cwd: central.folder });
    assert.equal(missing.code, 1, show(missing));
    assert.match(missing.stderr, /no message with id/, show(missing));
  });

  it('sends the messages of a seed-format file, and from stdin', async () => {
    const file = join(root, 'msgs.json');
    writeFileSync(
      file,
      JSON.stringify([
        { toNode: 'ship1', method: 'CLICommand', data: ['bash', '-c', 'echo one'] },
        { toNode: 'ship1', method: 'CLICommand', data: ['bash', '-c', 'echo two'], methodTimeout: 5 },
      ]),
    );
    const r = await steward(['send', '--file', file], { cwd: central.folder });
    assert.equal(r.code, 0, show(r));
    assert.equal(
      r.stdout
        .split('\n')
        .filter((l) => l.startsWith('ship1: '))
        .join('|'),
      'ship1: one|ship1: two',
      show(r),
    );
    assert.match(r.stdout, /Finished processing 2\/2 messages: 2 ok, 0 failed, 0 expired/, show(r));

    const viaStdin = await steward(['send', '--file', '-'], {
      cwd: central.folder,
      input: '{"toNode":"ship1","method":"CLICommand","data":["echo","from-stdin"]}\n',
    });
    assert.equal(viaStdin.code, 0, show(viaStdin));
    assert.equal(viaStdin.stdout, 'from-stdin\n', show(viaStdin));
  });

  it('rejected input exits 2 and sends nothing, naming the field', async () => {
    const before = countOutbox(central);
    const unknown = await steward(['send', '--toNode', 'ship1', '--method', 'NoSuchMethod', '--', 'x'], { cwd: central.folder });
    assert.equal(unknown.code, 2, show(unknown));
    assert.match(unknown.stderr, /field "method": unknown method "NoSuchMethod"/, show(unknown));
    const badName = await steward(['send', '--toNode', 'ship.1', '--', 'true'], { cwd: central.folder });
    assert.equal(badName.code, 2, show(badName));
    assert.match(badName.stderr, /field "toNode"/, show(badName));
    const noCommand = await steward(['send', '--toNode', 'ship1'], { cwd: central.folder });
    assert.equal(noCommand.code, 2, show(noCommand));
    const badFile = await steward(['send', '--file', '-'], {
      cwd: central.folder,
      input: '[{"toNode":"ship1","method":"CLICommand","data":"ls"}]',
    });
    assert.equal(badFile.code, 2, show(badFile));
    assert.match(badFile.stderr, /stdin value 1, entry 1 \(line 1\): field "data": must be an array of strings/, show(badFile));
    const badFlag = await steward(['send', '--toNode', 'ship1', '--bogus', '--', 'true'], { cwd: central.folder });
    assert.equal(badFlag.code, 2, show(badFlag));
    assert.equal(countOutbox(central), before, 'nothing may have been journaled');
  });

  it('an offline node: delivery expires after the retries and the exit code is 3', async () => {
    const r = await steward(['send', '--toNode', 'nosuchship', '--retries', '1', '--timeout', '1', '--', 'true'], { cwd: central.folder });
    assert.equal(r.code, 3, show(r));
    assert.match(r.stderr, /nosuchship: delivery expired after 2 attempt\(s\)/, show(r));
  });

  it('no local node: exit code 4 with where it looked', async () => {
    const empty = await makeTempDir('steward-cli-empty-');
    const r = await steward(['send', '--toNode', 'ship1', '--', 'true'], { cwd: empty });
    assert.equal(r.code, 4, show(r));
    assert.match(r.stderr, /no socket at .*steward\.sock/, show(r));
    const status = await steward(['status', 'abcdefgh'], { cwd: empty });
    assert.equal(status.code, 4, show(status));
  });

  it('steward jobs lists recent messages, filtered by state, node and method', async () => {
    const all = await steward(['jobs', '--json', '--limit', '50'], { cwd: central.folder });
    assert.equal(all.code, 0, show(all));
    const jobs = jsonLines(all.stdout);
    assert.ok(jobs.length >= 8, show(all));
    assert.ok(jobs.every((j) => j.method !== 'SayHello'));
    // Newest first.
    const times = jobs.map((j) => Number(j.createdAt));
    assert.deepEqual(
      times,
      [...times].sort((a, b) => b - a),
    );
    const expired = jsonLines(
      (await steward(['jobs', '--json', '--state', 'expired', '--toNode', 'nosuch*'], { cwd: central.folder })).stdout,
    );
    assert.equal(expired.length, 1);
    assert.equal(expired[0]?.toNode, 'nosuchship');
    const echo = jsonLines((await steward(['jobs', '--json', '--method', 'ECHORequest'], { cwd: central.folder })).stdout);
    assert.equal(echo.length, 1);
    const table = await steward(['jobs', '--limit', '3'], { cwd: central.folder });
    assert.equal(table.code, 0, show(table));
    assert.match(table.stdout, /^ID +CREATED +TO +METHOD +STATE +TRIES +RESULT\n/, show(table));
    assert.equal(table.stdout.trim().split('\n').length, 4, show(table));
    const bad = await steward(['jobs', '--state', 'bogus'], { cwd: central.folder });
    assert.equal(bad.code, 2, show(bad));
  });

  it('the socket is mode 0600 in the node folder, and another user is refused', async (t) => {
    const path = join(central.folder, 'steward.sock');
    const st = lstatSync(path);
    assert.ok(st.isSocket());
    assert.equal(st.mode & 0o777, 0o600);
    // Let the other user reach the socket, so only the socket's own mode can stop it.
    for (const dir of [root, central.folder]) chmodSync(dir, 0o755);
    // The probe is code given to /usr/bin/node with -e: it needs nothing from the checkout,
    // which the other user may not be able to read (a clone under a private folder).
    const probe = `require('node:net').createConnection(${JSON.stringify(path)})
      .on('connect', () => { console.log('CONNECTED'); process.exit(0); })
      .on('error', (e) => { console.log(e.code); process.exit(1); });`;
    const r = await asOtherUser([process.execPath, '-e', probe]);
    assert.equal(r.stdout.trim(), 'EACCES', show(r));
    // The same through the CLI, run as that user: exit 4 and why. That needs the CLI's code,
    // so it runs only where the other user can read the checkout.
    const readable = await asOtherUser([
      process.execPath,
      '-e',
      `require('node:fs').accessSync(${JSON.stringify(stewardBin)}, require('node:fs').constants.R_OK)`,
    ]);
    if (readable.code !== 0) {
      t.diagnostic(`uid 65534 cannot read ${stewardBin}: the CLI part is left out, the socket probe above stands`);
      return;
    }
    const cli = await asOtherUser([process.execPath, stewardBin, 'jobs', '--socket', path]);
    assert.equal(cli.code, 4, show(cli));
    assert.match(cli.stderr, /permission denied/, show(cli));
  });

  it('malformed requests get an error line; the connection and the node keep serving', async () => {
    const path = join(central.folder, 'steward.sock');
    const replies = await talk(
      path,
      [
        'this is not json',
        '[1,2,3]',
        '{"op":"explode","reqId":"a"}',
        '{"op":"send","reqId":"b","messages":[{"toNode":"ship1"},{"toNode":"ship 2","method":"CLICommand","data":["true"]}]}',
        '{"op":"status","reqId":"c"}',
        '{"op":"ping","reqId":"d"}',
        '',
      ].join('\n'),
      6,
    );
    const byReq = new Map(replies.map((r) => [r.reqId, r]));
    const anonymous = replies.filter((r) => r.reqId === undefined);
    assert.equal(anonymous.length, 2);
    assert.ok(anonymous.every((r) => r.type === 'error' && r.code === 'badRequest'));
    assert.match(String(anonymous[0]?.error), /not JSON/);
    assert.equal(byReq.get('a')?.type, 'error');
    const b = byReq.get('b') as { type: string; problems: { index: number; field: string }[] };
    assert.equal(b.type, 'error');
    assert.deepEqual(
      b.problems.map((p) => `${p.index}:${p.field}`),
      ['0:method', '1:toNode'],
    );
    assert.equal(byReq.get('c')?.type, 'error');
    assert.equal(byReq.get('d')?.type, 'pong');

    // A line longer than 8 MiB is refused and skipped; the next request on the same connection is served.
    const huge = Buffer.concat([
      Buffer.from('{"op":"ping","pad":"'),
      Buffer.alloc(9 * 1024 * 1024, 'x'),
      Buffer.from('"}\n{"op":"ping","reqId":7}\n'),
    ]);
    const [tooLong, pong] = await talk(path, huge, 2);
    assert.equal(tooLong?.code, 'lineTooLong');
    assert.equal(pong?.type, 'pong');
    assert.equal(pong?.reqId, 7);

    // The node still works, and nothing was sent.
    const r = await steward(['send', '--toNode', 'ship1', '--', 'echo', 'still here'], { cwd: central.folder });
    assert.equal(r.code, 0, show(r));
    assert.equal(r.stdout, 'still here\n');
    assert.ok(central.running);
  });
});

describe('the socket: placement and start-up', () => {
  let broker: NatsServerHandle;
  let root: string;

  before(async () => {
    broker = await startNatsServer();
    root = await makeTempDir('steward-sock-');
  });

  it('goes in $XDG_RUNTIME_DIR/steward/<node>.sock with a link in the node folder, found by --node too', async () => {
    const runtime = join(root, 'run');
    await mkdir(runtime, { mode: 0o700 });
    const env = { XDG_RUNTIME_DIR: runtime };
    const node = await startNode({ name: 'xdg1', folder: join(root, 'xdg1'), brokerHostPort: broker.hostPort, env });
    const path = join(runtime, 'steward', 'xdg1.sock');
    assert.ok(lstatSync(path).isSocket(), node.log());
    assert.equal(lstatSync(path).mode & 0o777, 0o600);
    assert.equal(statSync(join(runtime, 'steward')).mode & 0o777, 0o700);
    assert.equal(readlinkSync(join(node.folder, 'steward.sock')), path);
    const inFolder = await steward(['send', '--toNode', 'xdg1', '--', 'echo', 'via link'], { cwd: node.folder, env });
    assert.equal(inFolder.code, 0, show(inFolder));
    assert.equal(inFolder.stdout, 'via link\n');
    const byName = await steward(['send', '--node', 'xdg1', '--toNode', 'xdg1', '--', 'echo', 'by name'], { cwd: root, env });
    assert.equal(byName.code, 0, show(byName));
    assert.equal(byName.stdout, 'by name\n');
    const byEnv = await steward(['send', '--toNode', 'xdg1', '--', 'echo', 'by env'], { cwd: root, env: { ...env, STEWARD_SOCKET: path } });
    assert.equal(byEnv.code, 0, show(byEnv));
    // Stopped cleanly: the socket and its link are gone.
    await node.stop();
    assert.throws(() => lstatSync(path));
    assert.throws(() => lstatSync(join(node.folder, 'steward.sock')));
  });

  it('a stale socket left by a killed node is removed at the next start', async () => {
    const node = await startNode({ name: 'stale1', folder: join(root, 'stale1'), brokerHostPort: broker.hostPort, env: folderSocketEnv });
    await node.kill9();
    const path = join(node.folder, 'steward.sock');
    assert.ok(lstatSync(path).isSocket(), 'a killed node leaves its socket behind');
    const refused = await steward(['jobs'], { cwd: node.folder });
    assert.equal(refused.code, 4, show(refused));
    assert.match(refused.stderr, /no node listens on/, show(refused));
    await node.restart();
    assert.match(node.log(), /removed a stale socket/);
    const r = await steward(['send', '--toNode', 'stale1', '--', 'echo', 'back'], { cwd: node.folder });
    assert.equal(r.code, 0, show(r));
  });

  it('a path that is not a socket is left alone: the node runs without its socket and says why', async () => {
    const folder = join(root, 'blocked1');
    await mkdir(folder, { recursive: true });
    writeFileSync(join(folder, 'steward.sock'), 'not a socket');
    const node = await startNode({ name: 'blocked1', folder, brokerHostPort: broker.hostPort, env: folderSocketEnv });
    assert.match(node.log(), /socket API not started: the socket path .*steward\.sock exists and is not a socket/);
    assert.ok(lstatSync(join(folder, 'steward.sock')).isFile());
    const r = await steward(['jobs'], { cwd: folder });
    assert.equal(r.code, 4, show(r));
    assert.ok(node.running);
  });
});

function countOutbox(node: NodeHandle): number {
  const db = new Database(join(node.folder, 'state', 'journal.db'), { readonly: true, fileMustExist: true });
  try {
    return (db.prepare('SELECT COUNT(*) AS n FROM outbox').get() as { n: number }).n;
  } finally {
    db.close();
  }
}

describe('fan-out to 20 nodes through the registry', () => {
  const count = 20;
  const names = Array.from({ length: count }, (_, i) => `fan${String(i + 1).padStart(2, '0')}`);
  let broker: NatsServerHandle;
  let central: NodeHandle;
  let fans: NodeHandle[] = [];

  before(async () => {
    broker = await startNatsServer();
    const root = await makeTempDir('steward-fan-');
    const hello = ['--sayHelloInterval', '1'];
    central = await startNode({
      name: 'central',
      folder: join(root, 'central'),
      brokerHostPort: broker.hostPort,
      args: hello,
      env: folderSocketEnv,
    });
    // Started a few at a time: 20 node processes at once would starve a small machine past the harness's ready deadline.
    fans = [];
    for (let i = 0; i < names.length; i += 5) {
      fans.push(
        ...(await Promise.all(
          names
            .slice(i, i + 5)
            .map((name) =>
              startNode({ name, folder: join(root, name), brokerHostPort: broker.hostPort, args: hello, env: folderSocketEnv }),
            ),
        )),
      );
    }
  });

  it('steward nodes lists every node that said hello, alive, with its version', async () => {
    const nodes = await waitFor(
      async () => {
        const r = await steward(['nodes', '--json'], { cwd: central.folder });
        const list = jsonLines(r.stdout) as { name: string; alive: boolean; version?: string }[];
        return names.every((n) => list.some((x) => x.name === n && x.alive)) && list;
      },
      { timeoutMs: 90_000, intervalMs: 1000, message: 'not every fan node showed up alive in the registry' },
    );
    assert.ok(nodes.filter((n) => names.includes(n.name)).every((n) => typeof n.version === 'string'));
    const text = await steward(['nodes'], { cwd: central.folder });
    assert.equal(text.code, 0, show(text));
    assert.match(text.stdout, /^NODE +STATUS +LAST SEEN +VERSION +FIRST SEEN\n/, show(text));
    assert.match(text.stdout, /fan07 +alive +\d+s ago/, show(text));
    // A node other than central keeps no registry, and says where it is.
    const elsewhere = await steward(['nodes'], { cwd: fans[0]!.folder });
    assert.equal(elsewhere.code, 0, show(elsewhere));
    assert.match(elsewhere.stderr, /only the central node \(central\) records SayHello/, show(elsewhere));
  });

  it("a glob ('fan*') reaches every alive node: one message each, replies prefixed by node, exit 0", async () => {
    const r = await steward(['send', '--toNodes', 'fan*', '--', 'bash', '-c', 'echo "hi from $(basename "$PWD")"'], {
      cwd: central.folder,
    });
    assert.equal(r.code, 0, show(r));
    for (const n of names) assert.ok(r.stdout.includes(`${n}: hi from ${n}\n`), `${n} missing:\n${show(r)}`);
    assert.match(r.stdout, /Finished processing 20\/20 nodes: 20 ok, 0 failed, 0 expired/, show(r));
    // Piped, not a terminal: no progress line.
    assert.doesNotMatch(r.stderr, /replied/, show(r));

    // Groups from groups.json in the node folder: names and globs, repeats sent once.
    writeFileSync(join(central.folder, 'groups.json'), JSON.stringify({ evens: ['fan02', 'fan04'], firstfive: ['fan0[1-5]'] }));
    const g = await steward(['send', '--toNodes', '@evens,@firstfive', '--', 'true'], { cwd: central.folder });
    assert.equal(g.code, 0, show(g));
    assert.match(g.stdout, /Finished processing 5\/5 nodes: 5 ok/, show(g));
  });

  it('--batch N keeps at most N messages in flight', async () => {
    const batch = 3;
    const targets = names.slice(0, 7);
    const r = await steward(['send', '--json', '--batch', String(batch), '--toNodes', targets.join(','), '--', 'sleep', '0.5'], {
      cwd: central.folder,
    });
    assert.equal(r.code, 0, show(r));
    const ids = new Set(
      jsonLines(r.stdout)
        .filter((l) => l.type === 'result')
        .map((l) => String(l.id)),
    );
    assert.equal(ids.size, targets.length);
    const db = new Database(join(central.folder, 'state', 'journal.db'), { readonly: true, fileMustExist: true });
    const rows = (
      db.prepare('SELECT id, created_at, finished_at FROM outbox').all() as { id: string; created_at: number; finished_at: number }[]
    )
      .filter((row) => ids.has(row.id))
      .sort((a, b) => a.created_at - b.created_at);
    db.close();
    // When the k-th message was created, at least k - N + 1 of the earlier ones had finished.
    rows.forEach((row, k) => {
      if (k < batch) return;
      const finished = rows.filter((o) => o.finished_at <= row.created_at).length;
      assert.ok(finished >= k - batch + 1, `message ${k} created with only ${finished} finished: ${JSON.stringify(rows)}`);
    });
  });

  it('one node down: the summary says 19 ok and 1 expired, names it, and the exit code is 5', async () => {
    const down = fans.at(-1)!;
    await down.stop();
    const r = await steward(['send', '--toNodes', names.join(','), '--retries', '1', '--timeout', '1', '--', 'echo', 'ok'], {
      cwd: central.folder,
      timeoutMs: 120_000,
    });
    assert.equal(r.code, 5, show(r));
    assert.match(r.stdout, /Finished processing 20\/20 nodes: 19 ok, 0 failed, 1 expired/, show(r));
    assert.match(r.stdout, /Not ok:\n +fan20: delivery expired after 2 attempt\(s\)/, show(r));
    assert.equal(r.stdout.split('\n').filter((l) => / ok$/.test(l) && l.startsWith('fan')).length, 19, show(r));
    // The same in JSON: one result per node, then the summary.
    const json = await steward(
      ['send', '--json', '--toNodes', `${names[0]},${down.name}`, '--retries', '0', '--timeout', '1', '--', 'true'],
      {
        cwd: central.folder,
      },
    );
    assert.equal(json.code, 5, show(json));
    const lines = jsonLines(json.stdout);
    assert.deepEqual(
      lines
        .filter((l) => l.type === 'result')
        .map((l) => `${String(l.toNode)}:${String(l.status)}`)
        .sort(),
      ['fan01:succeeded', 'fan20:expired'],
    );
    assert.equal(lines.at(-1)?.type, 'summary');
    // Once it has missed its hellos, the glob leaves it out and says so.
    await waitFor(
      async () => {
        const list = jsonLines((await steward(['nodes', '--json', '--staleAfter', '3'], { cwd: central.folder })).stdout);
        return list.some((n) => n.name === down.name && n.alive === false);
      },
      { timeoutMs: 30_000, intervalMs: 1000, message: `${down.name} never became stale` },
    );
    const glob = await steward(['send', '--staleAfter', '3', '--toNodes', 'fan*', '--', 'true'], { cwd: central.folder });
    assert.equal(glob.code, 0, show(glob));
    assert.match(glob.stderr, /skipping stale node fan20/, show(glob));
    assert.match(glob.stdout, /Finished processing 19\/19 nodes: 19 ok/, show(glob));
  });
});

describe('the README quickstart', () => {
  it('steward demo starts a broker and two nodes, delivers the seed examples and shows the command output', async () => {
    const cwd = await makeTempDir('steward-demo-');
    const r = await steward(['demo'], { cwd, timeoutMs: 120_000 });
    assert.equal(r.code, 0, show(r));
    assert.match(r.stdout, /CLICommand output from ship1/, show(r));
    assert.match(r.stdout, /the demo worked: both messages were delivered, ACKed and journaled/, show(r));
  });

  it('steward --help and the client commands start without loading the node runtime', async () => {
    // `send`, `status`, `jobs`, `nodes`, `keys` and `acl` import @steward/node/client only; `start` and `demo` load the rest on use.
    const probe = `
      const { default: Module } = await import('node:module');
      await import(${JSON.stringify(join(process.cwd(), 'packages', 'cli', 'dist', 'main.js'))});
      // CommonJS packages that only the runtime uses (the module cache lists CommonJS modules).
      const heavy = Object.keys(Module._cache).filter((k) => /node_modules\\/(winston|prom-client)\\//.test(k));
      console.log(JSON.stringify(heavy.length));`;
    const out = await new Promise<string>((resolve, reject) => {
      const child = spawn(process.execPath, ['--input-type=module', '-e', probe], { stdio: ['ignore', 'pipe', 'inherit'] });
      let text = '';
      child.stdout.setEncoding('utf8').on('data', (d: string) => (text += d));
      child.on('error', reject);
      child.on('close', () => resolve(text));
    });
    assert.equal(JSON.parse(out), 0, 'winston and prom-client modules loaded by the CLI entry');
  });
});
