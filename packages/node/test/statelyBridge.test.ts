/**
 * `--inspectStately` with a WebSocket inspector: a real WebSocket server
 * (the `ws` package that `@statelyai/inspect` itself uses) receives what the
 * bridge forwards: the supervision tree through XState's inspection API, and
 * message actors made from the node's event stream. Offline use is covered
 * too: a target that does not answer is not fatal.
 */
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { PassThrough } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { createActor } from 'xstate';
import { processLogic, supervisorMachine, type WireMessage } from '@steward/core';
import { waitFor } from '../../../test/helpers/waitFor.js';
import { attachStately } from '../src/inspector/statelyBridge.js';
import { createLogger } from '../src/observability/logger.js';
import { NodeEvents } from '../src/node/nodeEvents.js';

/** The part of the `ws` package's server this test uses. */
interface WsServer {
  on(event: 'connection', fn: (socket: { on(event: 'message', fn: (data: Buffer) => void): void }) => void): void;
  on(event: 'listening', fn: () => void): void;
  address(): { port: number };
  close(): void;
}
const { WebSocketServer } = createRequire(import.meta.url)('ws') as {
  WebSocketServer: new (o: { host: string; port: number }) => WsServer;
};

interface Received {
  type: string;
  name?: string;
  sessionId: string;
  definition?: string;
  snapshot?: { value?: unknown; status?: string };
}

describe('Stately bridge', () => {
  let server: WsServer;
  let port = 0;
  const received: Received[] = [];

  before(async () => {
    server = new WebSocketServer({ host: '127.0.0.1', port: 0 });
    await new Promise<void>((r) => server.on('listening', r));
    port = server.address().port;
    server.on('connection', (socket) => socket.on('message', (data) => received.push(JSON.parse(data.toString()) as Received)));
  });

  after(() => server.close());

  it('forwards the supervision tree and the message actors to a WebSocket inspector', async () => {
    const events = new NodeEvents();
    const log = createLogger({ node: 'lab', stream: new PassThrough() });
    let root: ReturnType<typeof createActor<typeof supervisorMachine>> | undefined = undefined;
    const { inspect, stop } = attachStately({ target: `ws://127.0.0.1:${port}`, root: () => root, events, log });
    root = createActor(supervisorMachine, {
      input: { name: 'root', children: [{ id: 'housekeeping', logic: processLogic<undefined>(() => ({ stop: () => undefined })) }] },
      inspect,
    });
    root.start();
    const message = { id: 'm1', toNode: 'ship1', fromNode: 'lab', method: 'TextLogging' } as WireMessage;
    for (const state of ['queued', 'sending', 'awaitingAck', 'delivered']) {
      events.emit('delivery', { id: 'm1', subject: 'ship1.EventACK.TextLogging', message, state, attempts: 1, time: Date.now() });
    }
    try {
      await waitFor(
        () =>
          received.some((e) => e.type === '@xstate.snapshot' && e.snapshot?.value === 'delivered') &&
          received.some((e) => e.type === '@xstate.actor' && e.name === 'supervisor'),
        { timeoutMs: 15_000, message: 'the inspector to receive the supervisor and the delivered message actor' },
      );
    } finally {
      stop();
      root.stop();
    }
    const actors = received.filter((e) => e.type === '@xstate.actor');
    assert.ok(
      actors.some((e) => e.name === 'supervisor'),
      'the root supervisor, from XState',
    );
    const msg = actors.find((e) => e.sessionId.endsWith('delivery:m1'));
    assert.ok(msg, 'the message actor is registered');
    assert.equal(msg.name, 'delivery');
    assert.match(msg.definition ?? '', /awaitingAck/, 'with its machine definition, so the inspector can draw it');
    const states = received.filter((e) => e.type === '@xstate.snapshot' && e.sessionId === msg.sessionId).map((e) => e.snapshot?.value);
    assert.deepEqual(states, ['queued', 'sending', 'awaitingAck', 'delivered']);
    assert.equal(received.findLast((e) => e.sessionId === msg.sessionId)?.snapshot?.status, 'done');
  });

  it('is not fatal when the inspector cannot be reached', async () => {
    const events = new NodeEvents();
    const out = new PassThrough();
    let text = '';
    out.on('data', (c: Buffer) => (text += c.toString()));
    const log = createLogger({ node: 'lab', stream: out });
    const { inspect, stop } = attachStately({ target: 'ws://127.0.0.1:1', root: () => undefined, events, log });
    const root = createActor(supervisorMachine, { input: { name: 'root' }, inspect });
    root.start();
    events.emit('delivery', {
      id: 'm2',
      subject: 's.EventACK.TextLogging',
      message: { id: 'm2', toNode: 's', method: 'TextLogging' } as WireMessage,
      state: 'sending',
      attempts: 1,
      time: Date.now(),
    });
    await waitFor(() => text.includes('forwarding actor events'), {
      timeoutMs: 10_000,
      message: () => `the offline warning; log:\n${text}`,
    });
    stop();
    root.stop();
  });
});
