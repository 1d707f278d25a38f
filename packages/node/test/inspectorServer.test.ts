/**
 * The inspector's HTTP server on a real port: the page and its security
 * headers, the read-only API, the event stream, and the checks that keep
 * other web pages out (Host header without a token, the token with one).
 */
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { request, type ClientRequest, type IncomingMessage } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createActor } from 'xstate';
import { processLogic, supervisorMachine } from '@steward/core';
import { waitFor } from '../../../test/helpers/waitFor.js';
import { inspectTokenFile, resolveInspectToken } from '../src/inspector/inspectorProcess.js';
import { InspectorServer } from '../src/inspector/inspectorServer.js';
import { LiveModel } from '../src/inspector/liveModel.js';
import { NodeEvents } from '../src/node/nodeEvents.js';
import type { NodeServices } from '../src/node/services.js';

/** The few services the inspector reads, for a node named `lab`. */
function services(events: NodeEvents): NodeServices {
  return {
    config: { node: 'lab' },
    events,
    broker: { connected: true, current: () => undefined },
    journal: { getOutbox: () => undefined, getInbox: () => undefined },
  } as unknown as NodeServices;
}

function get(
  port: number,
  path: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; headers: Record<string, unknown>; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, headers }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('InspectorServer', () => {
  const events = new NodeEvents();
  const live = new LiveModel(events);
  const root = createActor(supervisorMachine, {
    input: { name: 'root', children: [{ id: 'housekeeping', logic: processLogic<undefined>(() => ({ stop: () => undefined })) }] },
  });
  let open: InspectorServer;
  let locked: InspectorServer;
  let port = 0;
  let lockedPort = 0;

  before(async () => {
    root.start();
    open = new InspectorServer({
      hostAndPort: '127.0.0.1:0',
      services: services(events),
      live,
      root: () => root,
      startedAt: 0,
      pushIntervalMs: 100,
    });
    await open.listen();
    port = Number(open.address.split(':')[1]);
    locked = new InspectorServer({
      hostAndPort: '127.0.0.1:0',
      token: 's3cret',
      services: services(events),
      live,
      root: () => root,
      startedAt: 0,
    });
    await locked.listen();
    lockedPort = Number(locked.address.split(':')[1]);
  });

  after(async () => {
    await open.close();
    await locked.close();
    root.stop();
  });

  it('serves the self-contained page with a strict content security policy', async () => {
    const res = await get(port, '/');
    assert.equal(res.status, 200);
    assert.match(String(res.headers['content-type']), /^text\/html/);
    const csp = String(res.headers['content-security-policy']);
    assert.match(csp, /default-src 'none'/);
    assert.match(csp, /script-src 'sha256-[A-Za-z0-9+/=]+'/);
    assert.match(csp, /connect-src 'self'/);
    assert.equal(res.headers['x-frame-options'], 'DENY');
    assert.ok(res.body.includes('<title>steward inspector</title>'));
    assert.doesNotMatch(res.body, /https?:\/\/(?!www\.w3\.org)/, 'nothing is loaded from elsewhere');
  });

  it('answers the API: view, machines, actors, messages; refuses writes and unknown paths', async () => {
    const view = JSON.parse((await get(port, '/api/view')).body) as { node: string; tree: { children: { id: string }[] } };
    assert.equal(view.node, 'lab');
    assert.deepEqual(
      view.tree.children.map((c) => c.id),
      ['housekeeping'],
    );
    const machines = JSON.parse((await get(port, '/api/machines')).body) as Record<string, { svg: string; states: string[] }>;
    assert.deepEqual(Object.keys(machines), ['delivery', 'execution', 'supervisor']);
    assert.ok(machines.delivery!.states.includes('awaitingAck'));
    assert.match(machines.delivery!.svg, /^<svg/);
    const actors = JSON.parse((await get(port, '/api/actors?process=root/publishers/x&offset=0&limit=10')).body) as { total: number };
    assert.equal(actors.total, 0);
    const message = JSON.parse((await get(port, '/api/messages/abc-123')).body) as { id: string; timeline: unknown[] };
    assert.equal(message.id, 'abc-123');
    assert.deepEqual(message.timeline, []);
    assert.equal((await get(port, '/api/messages/..%2Fetc')).status, 404);
    assert.equal((await get(port, '/nope')).status, 404);
    const post = await new Promise<number>((resolve) => {
      const req = request({ host: '127.0.0.1', port, path: '/api/view', method: 'POST' }, (res) => resolve(res.statusCode ?? 0));
      req.end();
    });
    assert.equal(post, 405);
  });

  it('refuses a request for another host name (DNS rebinding) when it has no token', async () => {
    assert.equal((await get(port, '/api/view', { host: `evil.example:${port}` })).status, 403);
    assert.equal((await get(port, '/api/view', { host: `localhost:${port}` })).status, 200);
  });

  it('requires its token as a bearer header, a query parameter or the cookie it sets', async () => {
    assert.equal((await get(lockedPort, '/api/view')).status, 401);
    assert.equal((await get(lockedPort, '/api/view', { authorization: 'Bearer wrong' })).status, 401);
    assert.equal((await get(lockedPort, '/api/view', { authorization: 'Bearer s3cret' })).status, 200);
    const login = await get(lockedPort, '/?token=s3cret');
    assert.equal(login.status, 303);
    const cookie = String((login.headers['set-cookie'] as string[])[0]).split(';')[0]!;
    assert.equal((await get(lockedPort, '/api/view', { cookie })).status, 200);
    assert.equal((await get(lockedPort, '/', { cookie })).status, 200);
  });

  it('streams the view as server-sent events when the model changes', async () => {
    const received = await new Promise<string[]>((resolve, reject) => {
      const chunks: string[] = [];
      let changed = false;
      const req = request({ host: '127.0.0.1', port, path: '/api/stream' }, (res) => {
        assert.match(String(res.headers['content-type']), /^text\/event-stream/);
        res.on('data', (c: Buffer) => {
          chunks.push(c.toString());
          const all = chunks.join('');
          // The model changes only once the first view is in: the second view is then surely a push.
          if (!changed && all.includes('event: view')) {
            changed = true;
            events.emit('delivery', {
              id: 'm1',
              subject: 'ship1.EventACK.TextLogging',
              message: { id: 'm1', toNode: 'ship1', fromNode: 'lab', method: 'TextLogging' } as never,
              state: 'sending',
              attempts: 1,
              time: Date.now(),
            });
          }
          if (all.includes('"delivery":1')) {
            req.destroy();
            resolve(all.split('\n\n').filter((e) => e.startsWith('event: view')));
          }
        });
      });
      req.on('error', (e) => (e.message.includes('aborted') ? undefined : reject(e)));
      req.end();
    });
    assert.ok(received.length >= 2, 'the first view at once, another after the change');
    const last = JSON.parse(received.at(-1)!.replace(/^event: view\ndata: /, '')) as { inflight: { delivery: number } };
    assert.equal(last.inflight.delivery, 1);
  });

  it('serves at most maxStreams event streams at once: one more gets 503 until another closes', async () => {
    const capped = new InspectorServer({
      hostAndPort: '127.0.0.1:0',
      services: services(events),
      live,
      root: () => root,
      startedAt: 0,
      maxStreams: 3,
    });
    await capped.listen();
    const cappedPort = Number(capped.address.split(':')[1]);
    /** Opens a stream; resolves with its status once the head arrived (and, for a 200, the first event). */
    const open = () =>
      new Promise<{ req: ClientRequest; res: IncomingMessage; body: string }>((resolve, reject) => {
        const req = request({ host: '127.0.0.1', port: cappedPort, path: '/api/stream' }, (res) => {
          let body = '';
          res.on('data', (c: Buffer) => {
            body += c.toString();
            if (res.statusCode !== 200 || body.includes('event: view')) resolve({ req, res, body });
          });
          res.on('end', () => resolve({ req, res, body }));
        });
        req.on('error', (e) => (e.message.includes('aborted') || e.message.includes('socket hang up') ? undefined : reject(e)));
        req.end();
      });
    try {
      const streams = [await open(), await open(), await open()];
      assert.deepEqual(
        streams.map((x) => x.res.statusCode),
        [200, 200, 200],
      );
      const refused = await open();
      assert.equal(refused.res.statusCode, 503);
      assert.match(refused.body, /too many event streams open \(3 of at most 3\)/);
      // A page that closes frees its place.
      streams[0]!.req.destroy();
      // The server notices the close asynchronously: ask again until the place is free.
      const again = await waitFor(
        async () => {
          const x = await open();
          if (x.res.statusCode === 200) return x;
          x.req.destroy();
          return undefined;
        },
        { timeoutMs: 10_000, intervalMs: 20, message: 'a stream place freed by the closed page' },
      );
      assert.equal(again?.res.statusCode, 200);
      for (const x of [...streams, again!]) x.req.destroy();
    } finally {
      await capped.close();
    }
  });
});

describe('the inspector token', () => {
  const folder = mkdtempSync(join(tmpdir(), 'steward-inspect-token-'));
  after(() => rmSync(folder, { recursive: true, force: true }));

  it('is generated, stored mode 0600 and kept; a configured one is used as is; "none" means none', () => {
    const first = resolveInspectToken({ nodeFolder: folder, inspectToken: '' });
    assert.match(first.token, /^[A-Za-z0-9_-]{40,}$/);
    assert.equal(first.file, inspectTokenFile(folder));
    assert.equal(readFileSync(first.file, 'utf8').trim(), first.token);
    assert.equal(statSync(first.file).mode & 0o777, 0o600);
    assert.equal(resolveInspectToken({ nodeFolder: folder, inspectToken: '' }).token, first.token, 'kept across restarts');
    assert.deepEqual(resolveInspectToken({ nodeFolder: folder, inspectToken: 'given' }), { token: 'given' });
    assert.deepEqual(resolveInspectToken({ nodeFolder: folder, inspectToken: 'none' }), { token: '' });
  });

  it('is replaced when the stored file is readable by others', () => {
    const { token, file } = resolveInspectToken({ nodeFolder: folder, inspectToken: '' });
    chmodSync(file!, 0o644);
    const next = resolveInspectToken({ nodeFolder: folder, inspectToken: '' });
    assert.notEqual(next.token, token);
    assert.equal(statSync(file!).mode & 0o777, 0o600);
  });
});
