/**
 * Tests of the end-to-end harness itself, without a real steward node: the
 * throw-away nats-server, waitFor, temporary folders, and startNode driven
 * by a stand-in script that behaves like a node.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { rm, writeFile } from 'node:fs/promises';
import { connect, createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { after, before, describe, it } from 'node:test';

import {
  cleanupHarness,
  findNatsServer,
  freePort,
  makeTempDir,
  NatsServerNotFoundError,
  ProcessStartError,
  readFileOr,
  readLines,
  readNatsInfo,
  removeTempDirs,
  startNatsServer,
  startNode,
  stopAll,
  waitFor,
  WaitForTimeoutError,
  type NatsServerHandle,
} from './helpers/index.js';

after(cleanupHarness);

/** The first line a TCP server sends to a new client. */
function firstLine(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    let received = '';
    const socket = connect({ port, host: '127.0.0.1' });
    socket.setTimeout(10_000, () => socket.destroy(new Error(`no greeting on port ${port}`)));
    socket.on('error', reject);
    socket.on('data', (chunk: Buffer) => {
      received += chunk.toString('utf8');
      const end = received.indexOf('\r\n');
      if (end !== -1) {
        socket.destroy();
        resolve(received.slice(0, end));
      }
    });
  });
}

/** Whether something accepts TCP connections on the loopback port. */
function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ port, host: '127.0.0.1' });
    socket.setTimeout(5_000, () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

function listen(port: number): Promise<Server> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen({ port, host: '127.0.0.1' }, () => resolve(server));
  });
}

describe('startNatsServer', () => {
  let server: NatsServerHandle;

  before(async () => {
    server = await startNatsServer();
  });

  it('listens on a loopback port and greets a TCP client with INFO', async () => {
    assert.ok(server.port > 0);
    assert.equal(server.hostPort, `127.0.0.1:${server.port}`);
    assert.equal(server.url, `nats://127.0.0.1:${server.port}`);
    assert.ok(server.pid > 0);
    assert.equal(server.running, true);

    const line = await firstLine(server.port);
    assert.match(line, /^INFO \{/);
    const info = JSON.parse(line.slice(5)) as { port?: unknown };
    assert.equal(info.port, server.port);
    assert.match(readFileOr(server.logFile), /--- start 1 ---[\s\S]*Server is ready/);
  });

  it('gives each server its own ports', async () => {
    const other = await startNatsServer();
    try {
      assert.notEqual(other.port, server.port);
      assert.notEqual(other.monitorPort, server.monitorPort);
      assert.notEqual(other.dir, server.dir);
      assert.ok(await readNatsInfo(other.port));
    } finally {
      await other.stop();
    }
    assert.equal(other.running, false);
  });

  it('comes back on the same port after kill9 and restart', async () => {
    const { port, pid } = server;
    await server.kill9();
    assert.equal((await server.exited).signal, 'SIGKILL');
    assert.equal(server.running, false);
    await waitFor(async () => !(await canConnect(port)), {
      message: `port ${port} still accepts connections after kill9`,
    });

    await server.restart();
    assert.equal(server.port, port);
    assert.notEqual(server.pid, pid);
    assert.match(await firstLine(port), /^INFO /);
    assert.match(readFileOr(server.logFile), /--- start 2 ---/);
  });

  it('restarts a running server in place', async () => {
    const { port, pid } = server;
    await server.restart();
    assert.equal(server.port, port);
    assert.notEqual(server.pid, pid);
    assert.ok(await readNatsInfo(port));
  });

  it('stops with SIGTERM and stop is idempotent', async () => {
    const { port } = server;
    await server.stop();
    assert.equal(server.running, false);
    await server.stop();
    await waitFor(async () => !(await canConnect(port)), {
      message: `port ${port} still accepts connections after stop`,
    });
  });

  it('waits for a given port that is busy at first', async () => {
    const port = await freePort();
    const dir = await makeTempDir('steward-harness-busy-');
    const logFile = join(dir, 'nats-server.log');
    const squatter = await listen(port);
    const starting = startNatsServer({ port, dir });
    // Observed when awaited below; this only keeps an early failure from being "unhandled".
    starting.catch(() => undefined);
    // Release the port only once the server has run into it.
    await waitFor(() => readFileOr(logFile).includes('address already in use'), {
      message: () => `nats-server did not hit the busy port ${port}:\n${readFileOr(logFile)}`,
    });
    await new Promise<void>((resolve) => squatter.close(() => resolve()));
    const late = await starting;
    try {
      assert.equal(late.port, port);
      assert.equal(late.logFile, logFile);
      assert.ok(await readNatsInfo(port));
    } finally {
      await late.stop();
    }
  });

  it('fails with the log tail when nats-server exits at start', async () => {
    const missing = join(await makeTempDir('steward-harness-conf-'), 'missing.conf');
    await assert.rejects(startNatsServer({ args: ['-c', missing] }), (error: unknown) => {
      assert.ok(error instanceof ProcessStartError);
      assert.match(error.message, /exited before it was ready \(exit code \d+\)/);
      assert.ok(error.message.includes(missing), error.message);
      return true;
    });
  });

  it('tells how to install nats-server when it is missing', async () => {
    const empty = await makeTempDir('steward-harness-empty-');
    assert.ok(findNatsServer().endsWith('/nats-server'));
    assert.throws(
      () => findNatsServer({ path: empty, fallbackDirs: [] }),
      (error: unknown) => {
        assert.ok(error instanceof NatsServerNotFoundError);
        assert.match(error.message, /^nats-server not found: install it with `sudo apt-get install nats-server`/);
        return true;
      },
    );
  });
});

describe('waitFor', () => {
  it('resolves with the first truthy value, polling past falsy ones', async () => {
    const values: unknown[] = [0, '', null, false, undefined, 0n, 'ready', 'later'];
    let calls = 0;
    const value = await waitFor(() => values[calls++], { intervalMs: 1, message: 'never truthy' });
    assert.equal(value, 'ready');
    assert.equal(calls, 7);
  });

  it('awaits an async condition', async () => {
    let calls = 0;
    const value = await waitFor(
      async () => {
        calls += 1;
        await Promise.resolve();
        return calls >= 3 && { calls };
      },
      { intervalMs: 1, message: 'never three' },
    );
    assert.deepEqual(value, { calls: 3 });
  });

  it('times out with a message built only at the deadline', async () => {
    const dir = await makeTempDir('steward-harness-waitfor-');
    const file = join(dir, 'state.txt');
    await writeFile(file, 'first');
    let built = 0;
    const waiting = waitFor(() => readFileOr(file) === 'never', {
      timeoutMs: 500,
      message: () => {
        built += 1;
        return `state is ${readFileOr(file)}`;
      },
    });
    waiting.catch(() => undefined);
    await writeFile(file, 'second');
    await assert.rejects(waiting, (error: unknown) => {
      assert.ok(error instanceof WaitForTimeoutError);
      assert.match(error.message, /^state is second\n\(timed out after 500 ms/);
      return true;
    });
    assert.equal(built, 1);
  });

  it('retries a throwing condition and keeps the last error as cause', async () => {
    let calls = 0;
    const value = await waitFor(
      () => {
        calls += 1;
        if (calls < 3) throw new Error(`not yet ${calls}`);
        return calls;
      },
      { intervalMs: 1, message: 'never' },
    );
    assert.equal(value, 3);

    await assert.rejects(
      waitFor(
        () => {
          throw new Error('still broken');
        },
        { timeoutMs: 200, message: 'broken condition' },
      ),
      (error: unknown) => {
        assert.ok(error instanceof WaitForTimeoutError);
        assert.match(error.message, /last error: still broken/);
        assert.ok(error.cause instanceof Error);
        return true;
      },
    );
  });

  it('gives up at the deadline even when the condition never settles', async () => {
    const started = Date.now();
    await assert.rejects(
      waitFor(() => new Promise<never>(() => undefined), { timeoutMs: 300, message: 'hung' }),
      /hung\n.*still pending/,
    );
    // Generous bound: only proves the wait is not held by the hung call.
    assert.ok(Date.now() - started < 15_000);
  });

  it('reads files and lines, with fallbacks for missing files', async () => {
    const dir = await makeTempDir('steward-harness-files-');
    const file = join(dir, 'lines.txt');
    assert.equal(readFileOr(file), '');
    assert.equal(readFileOr(file, 'none'), 'none');
    assert.deepEqual(readLines(file), []);
    await writeFile(file, 'one\r\n\ntwo\n  \nthree');
    assert.deepEqual(readLines(file), ['one', 'two', 'three']);
  });
});

describe('temporary folders', () => {
  it('are made under the temp dir and removed at cleanup', async () => {
    const dir = await makeTempDir('steward-harness-tmp-');
    assert.equal(dirname(dir), tmpdir());
    assert.match(basename(dir), /^steward-harness-tmp-.+/);
    await writeFile(join(dir, 'file.txt'), 'content');

    const result = await removeTempDirs([dir]);
    assert.deepEqual(result, { removed: [dir], kept: [] });
    assert.equal(existsSync(dir), false);
  });

  it('are kept and listed with STEWARD_KEEP_TEST_DIRS=1', async () => {
    const dir = await makeTempDir('steward-harness-keep-');
    const previous = process.env['STEWARD_KEEP_TEST_DIRS'];
    process.env['STEWARD_KEEP_TEST_DIRS'] = '1';
    try {
      assert.deepEqual(await removeTempDirs([dir]), { removed: [], kept: [dir] });
      assert.equal(existsSync(dir), true);
    } finally {
      if (previous === undefined) delete process.env['STEWARD_KEEP_TEST_DIRS'];
      else process.env['STEWARD_KEEP_TEST_DIRS'] = previous;
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('never removes a folder the harness did not make', async () => {
    const dir = await makeTempDir('steward-harness-foreign-');
    const inside = join(dir, 'not-registered');
    await writeFile(inside, 'x');
    assert.deepEqual(await removeTempDirs([inside]), { removed: [], kept: [] });
    assert.equal(existsSync(inside), true);
  });
});

/**
 * Behaves like `steward start` as far as the harness can tell: logs its
 * arguments, exits early when asked, logs the ready line, and says goodbye
 * on SIGTERM.
 */
const STAND_IN_NODE = `
const argv = process.argv.slice(2);
const name = argv[argv.indexOf('--node') + 1];
console.log('argv ' + JSON.stringify(argv));
console.log('cwd ' + process.cwd());
if (process.env.STAND_IN_FAIL) {
  console.error('boom: ' + process.env.STAND_IN_FAIL);
  process.exit(3);
}
process.on('SIGTERM', () => {
  console.log('bye');
  process.exit(0);
});
setTimeout(() => console.log('node ' + name + ' ready'), 200);
setInterval(() => {}, 1000);
`;

describe('startNode (with a stand-in node)', () => {
  let entry: string;

  before(async () => {
    const dir = await makeTempDir('steward-harness-entry-');
    entry = join(dir, 'stand-in-node.mjs');
    await writeFile(entry, STAND_IN_NODE);
  });

  after(stopAll);

  it('runs the start command in the folder and waits for the ready line', async () => {
    const folder = join(await makeTempDir('steward-harness-node-'), 'alpha');
    const node = await startNode({
      name: 'alpha',
      folder,
      brokerHostPort: '127.0.0.1:4999',
      args: ['--extra', 'x'],
      entry,
    });
    const log = node.log();
    assert.match(log, /^--- start 1 ---\n/);
    assert.match(log, /node alpha ready/);
    assert.ok(log.includes(`cwd ${folder}\n`));
    const argv = JSON.parse(/^argv (.*)$/m.exec(log)?.[1] ?? 'null') as unknown;
    assert.deepEqual(argv, [
      'start',
      '--node',
      'alpha',
      '--brokerAddress',
      '127.0.0.1:4999',
      '--promHostAndPort',
      'off',
      '--sayHelloInterval',
      '0',
      // Checks off unless the test names them: the runtime's defaults are secure.
      '--enableSignatureCheck',
      'false',
      '--enableAclCheck',
      'false',
      '--extra',
      'x',
    ]);
    assert.equal(node.dataFile('a', 'b.json'), join(folder, 'data', 'a', 'b.json'));

    await node.inmsg('one\n');
    await node.inmsg('two\n');
    assert.deepEqual(readLines(join(folder, 'inmsg.txt')), ['one', 'two']);

    await node.stop();
    assert.deepEqual(await node.exited, { code: 0, signal: null });
    assert.match(node.log(), /bye\n$/);
  });

  it('restarts after kill9 and waits for a new ready line', async () => {
    const folder = await makeTempDir('steward-harness-node-');
    const node = await startNode({ name: 'beta', folder, entry });
    const pid = node.pid;
    await node.kill9();
    assert.equal((await node.exited).signal, 'SIGKILL');

    await node.restart();
    assert.notEqual(node.pid, pid);
    assert.equal(node.running, true);
    const log = node.log();
    assert.match(log, /--- start 2 ---/);
    assert.equal(log.match(/node beta ready/g)?.length, 2);
  });

  it('fails with the log tail when the node exits before it is ready', async () => {
    const folder = await makeTempDir('steward-harness-node-');
    await assert.rejects(startNode({ name: 'gamma', folder, entry, env: { STAND_IN_FAIL: 'bad config' } }), (error: unknown) => {
      assert.ok(error instanceof ProcessStartError);
      assert.match(error.message, /node gamma exited before it was ready \(exit code 3\)/);
      assert.match(error.message, /boom: bad config/);
      return true;
    });
  });

  it('stopAll kills the nodes still running', async () => {
    const folder = await makeTempDir('steward-harness-node-');
    const node = await startNode({ name: 'delta', folder, entry });
    await stopAll();
    assert.equal(node.running, false);
    assert.equal((await node.exited).signal, 'SIGKILL');
  });
});
