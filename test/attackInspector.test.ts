/**
 * Attacks on the inspector of a real node (issue 12, hole 10b). A local
 * process that reaches the inspector's port opens 100 event streams at once
 * (each stream makes the node build and push its whole view every few
 * seconds): the node serves at most 16 and refuses the rest with 503, and
 * keeps doing its work. A node started with `--inspect` and no
 * `--inspectToken` generates a token, keeps it readable by its own user only,
 * never logs it, and refuses requests without it.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { request, type ClientRequest } from 'node:http';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';

import {
  cleanupHarness,
  freePort,
  makeTempDir,
  readFileOr,
  startNatsServer,
  startNode,
  waitFor,
  type NatsServerHandle,
  type NodeHandle,
} from './helpers/index.js';

after(cleanupHarness);

/** Signatures and ACLs are not what this tests: both off, explicitly (the defaults may change). */
const checksOff = ['--enableSignatureCheck', 'false', '--enableAclCheck', 'false'];

interface Answer {
  status: number;
  body: string;
  req: ClientRequest;
}

/**
 * A GET on the inspector. For a stream, resolves once its head and first
 * bytes arrived and leaves it open (destroy `req` to close it).
 */
function get(port: number, path: string, headers: Record<string, string> = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, headers }, (res) => {
      let body = '';
      const done = () => resolve({ status: res.statusCode ?? 0, body, req });
      res.on('data', (c: Buffer) => {
        body += c.toString();
        // An open stream never ends: its first event is enough.
        if (res.statusCode === 200 && body.includes('event: view')) done();
      });
      res.on('end', done);
      res.on('error', () => undefined);
    });
    req.on('error', (e) => (/aborted|socket hang up|ECONNRESET/.test(e.message) ? undefined : reject(e)));
    req.end();
  });
}

describe('attack: the inspector (hole 10b)', { timeout: 300_000 }, () => {
  const tag = randomUUID().slice(0, 6);
  let server: NatsServerHandle;
  let open: NodeHandle;
  let locked: NodeHandle;
  let openPort: number;
  let lockedPort: number;

  before(async () => {
    server = await startNatsServer();
    const root = await makeTempDir('steward-attack-inspector-');
    [openPort, lockedPort] = [await freePort(), await freePort()];
    [open, locked] = await Promise.all([
      startNode({
        name: `aio${tag}`,
        folder: join(root, 'open'),
        brokerHostPort: server.hostPort,
        args: [...checksOff, '--centralNodeName', `aio${tag}`, '--inspect', `127.0.0.1:${openPort}`, '--inspectToken', 'none'],
      }),
      startNode({
        name: `ail${tag}`,
        folder: join(root, 'locked'),
        brokerHostPort: server.hostPort,
        args: [...checksOff, '--centralNodeName', `aio${tag}`, '--inspect', `127.0.0.1:${lockedPort}`],
      }),
    ]);
  });

  it('100 streams opened at once: 16 are served, the rest get 503, and the node keeps working', async () => {
    await waitFor(() => open.log().includes(`inspector on http://127.0.0.1:${openPort}/`), {
      timeoutMs: 30_000,
      message: () => `the inspector did not start:\n${open.log().slice(-2000)}`,
    });
    const warning = open
      .log()
      .split('\n')
      .find((l) => l.includes('the inspector requires no token (--inspectToken none)'));
    assert.match(warning ?? '(no warning)', /warn/i, 'a node whose inspector needs no token says so');
    const answers = await Promise.all(Array.from({ length: 100 }, () => get(openPort, '/api/stream')));
    try {
      const served = answers.filter((a) => a.status === 200).length;
      const refused = answers.filter((a) => a.status === 503);
      assert.equal(served, 16, 'at most 16 streams');
      assert.equal(refused.length, 84);
      assert.match(refused[0]!.body, /too many event streams open \(16 of at most 16\)/);

      // Still responsive with the 16 open: the API answers and a message is delivered and written.
      const started = Date.now();
      const view = await get(openPort, '/api/view');
      assert.equal(view.status, 200);
      assert.ok(Date.now() - started < 10_000, `the view took ${Date.now() - started} ms`);
      await open.inmsg(
        JSON.stringify([{ toNode: open.name, method: 'TextLogging', data: ['still alive\n'], fileName: 'alive.log' }]) + '\n',
      );
      await waitFor(() => readFileOr(open.dataFile(open.name, 'alive.log')).includes('still alive'), {
        timeoutMs: 60_000,
        message: () => `the node did not deliver a message while its inspector was flooded:\n${open.log().slice(-2000)}`,
      });
    } finally {
      for (const a of answers) a.req.destroy();
    }
    // Closed streams free their places.
    const again = await waitFor(
      async () => {
        const a = await get(openPort, '/api/stream');
        if (a.status !== 200) return false;
        return a;
      },
      { timeoutMs: 30_000, message: 'no stream was served again after the others closed' },
    );
    again.req.destroy();
  });

  it('without --inspectToken a token is generated (0600, never logged) and requests without it get 401', async () => {
    const file = join(locked.folder, 'state', 'inspect.token');
    await waitFor(() => locked.log().includes(`inspector on http://127.0.0.1:${lockedPort}/`) && existsSync(file), {
      timeoutMs: 30_000,
      message: () => `the inspector did not start:\n${locked.log().slice(-2000)}`,
    });
    const token = readFileSync(file, 'utf8').trim();
    assert.equal(statSync(file).mode & 0o777, 0o600, 'only the node user can read the token');
    assert.ok(token.length >= 40);
    for (const path of ['/', '/api/view', '/api/stream', '/api/messages/x']) {
      const a = await get(lockedPort, path);
      assert.equal(a.status, 401, `${path} without the token`);
      a.req.destroy();
    }
    assert.equal((await get(lockedPort, '/api/view', { authorization: 'Bearer wrong' })).status, 401);
    assert.equal((await get(lockedPort, `/?token=x${token}`)).status, 401);
    const ok = await get(lockedPort, '/api/view', { authorization: `Bearer ${token}` });
    assert.equal(ok.status, 200);
    assert.equal((JSON.parse(ok.body) as { node: string }).node, locked.name);
    assert.equal((await get(lockedPort, `/?token=${token}`)).status, 303, 'the page trades the token for a cookie');
    // The log says where the token is, never what it is.
    assert.match(locked.log(), /token required: open http:\/\/127\.0\.0\.1:\d+\/\?token=<the token in \S*state\/inspect\.token>/);
    assert.equal(locked.log().includes(token), false, 'the token is not in the log');
  });
});
