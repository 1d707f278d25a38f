// Raw NATS payloads on a node's subjects: whatever arrives, the node refuses what is
// invalid with an ACK that names the problem, reports it, and keeps serving.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import {
  cleanupHarness,
  makeTempDir,
  readFileOr,
  startNatsServer,
  startNode,
  waitFor,
  type NatsServerHandle,
  type NodeHandle,
} from './helpers/index.js';

describe('raw NATS payloads on a node subject', () => {
  let nats: NatsServerHandle;
  let central: NodeHandle;
  let nc: NatsConnection;

  before(async () => {
    nats = await startNatsServer();
    const root = await makeTempDir('steward-wire-');
    central = await startNode({
      name: 'central',
      folder: join(root, 'central'),
      brokerHostPort: nats.hostPort,
      args: ['--centralErrorLogger'],
    });
    nc = await connect({ servers: nats.url });
  });
  after(async () => {
    await nc?.close();
    await cleanupHarness();
  });

  async function ask(subject: string, body: string): Promise<Record<string, unknown>> {
    const reply = await nc.request(subject, body, { timeout: 10_000 });
    return reply.json<Record<string, unknown>>();
  }

  it('answers not-JSON with a rejected ACK and reports it', async () => {
    const ack = await ask('central.EventACK.TextLogging', '{not json');
    assert.equal(ack.status, 'rejected');
    assert.match(String(ack.error), /not JSON/);
    const errorLog = join(central.folder, 'data', 'errorLog.log');
    await waitFor(() => readFileOr(errorLog).includes('badInput: refused a message on central.EventACK.TextLogging'), {
      message: () => `no badInput line in ${errorLog}:\n${readFileOr(errorLog)}`,
    });
  });

  it('names the wrong fields and echoes the id, so the sender can match the refusal', async () => {
    const body = {
      id: 'abc-123',
      fromNode: 'x',
      createdAt: Date.now(),
      toNode: 'ship9',
      method: 'TextLogging',
      commandOrEvent: 'EventACK',
      data: ['hi'],
      timeout: 1,
      retries: 0,
      methodTimeout: 1,
    };
    const ack = await ask('central.EventACK.TextLogging', JSON.stringify(body));
    assert.equal(ack.status, 'rejected');
    assert.equal(ack.id, 'abc-123');
    assert.match(String(ack.error), /field "toNode": is "ship9" but arrived at node "central"/);
    const noId = await ask('central.CommandACK.CLICommand', JSON.stringify({ toNode: 'central', method: 'CLICommand', data: [] }));
    assert.equal(noId.status, 'rejected');
    assert.match(String(noId.error), /field "data"/);
    assert.match(String(noId.error), /field "id"/);
  });

  it('keeps serving valid messages after a burst of garbage', async () => {
    const garbage = ['', '[]', 'null', '"x"', '{"id":5}', 'x'.repeat(100_000), JSON.stringify({ id: '../../etc', toNode: 'central' })];
    for (const g of garbage) {
      const ack = await ask('central.EventACK.TextLogging', g);
      assert.equal(ack.status, 'rejected', g.slice(0, 40));
    }
    const good = {
      id: 'good-1',
      fromNode: 'tester',
      createdAt: Date.now(),
      toNode: 'central',
      method: 'TextLogging',
      commandOrEvent: 'EventACK',
      data: ['still here\n'],
      timeout: 5,
      retries: 0,
      methodTimeout: 5,
    };
    const ack = await ask('central.EventACK.TextLogging', JSON.stringify(good));
    assert.equal(ack.status, 'received');
    const file = join(central.folder, 'data', 'tester', 'central.EventACK.TextLogging.log');
    await waitFor(() => readFileOr(file) === 'still here\n', { message: () => `${file}: ${JSON.stringify(readFileOr(file))}` });
    assert.equal(central.running, true);
  });

  it('holds a message that arrives before the one it follows, then runs both in order', async () => {
    const base = { fromNode: 'piper', toNode: 'central', method: 'TextLogging', commandOrEvent: 'EventACK', timeout: 5, retries: 0 };
    const msg = (id: string, line: string, follows?: string): string =>
      JSON.stringify({ ...base, id, createdAt: Date.now(), methodTimeout: 5, data: [line], ...(follows ? { follows } : {}) });
    const file = join(central.folder, 'data', 'piper', 'central.EventACK.TextLogging.log');
    const acked: string[] = [];
    const inbox = `_INBOX.piper.${Date.now()}`;
    const sub = nc.subscribe(`${inbox}.>`, {
      callback: (_e, m) => {
        acked.push(m.json<{ id: string }>().id);
      },
    });
    // "second" overtakes "first" (as after a lost first copy): it must wait, unACKed.
    nc.publish('central.EventACK.TextLogging', msg('second', '2\n', 'first'), { reply: `${inbox}.second` });
    // "third" follows "second", which is itself held: it waits too.
    nc.publish('central.EventACK.TextLogging', msg('third', '3\n', 'second'), { reply: `${inbox}.third` });
    await nc.flush();
    await waitFor(() => central.log().includes('arrived before first, which it follows: held'), {
      message: () => `central did not hold "second":\n${central.log().slice(-2000)}`,
    });
    assert.deepEqual(acked, [], 'nothing ACKed while its predecessor is missing');
    assert.equal(readFileOr(file), '', 'nothing run while its predecessor is missing');
    nc.publish('central.EventACK.TextLogging', msg('first', '1\n'), { reply: `${inbox}.first` });
    await waitFor(() => readFileOr(file) === '1\n2\n3\n' && acked.length === 3, {
      message: () => `${file}: ${JSON.stringify(readFileOr(file))}; ACKed ${JSON.stringify(acked)}`,
    });
    assert.deepEqual(acked, ['first', 'second', 'third']);
    // A message whose predecessor central already has is taken at once.
    nc.publish('central.EventACK.TextLogging', msg('fourth', '4\n', 'first'), { reply: `${inbox}.fourth` });
    await waitFor(() => readFileOr(file) === '1\n2\n3\n4\n', { message: () => `${file}: ${JSON.stringify(readFileOr(file))}` });
    sub.unsubscribe();
  });

  it('runs a message that arrives twice back to back once, and answers both copies', async () => {
    const body = JSON.stringify({
      id: 'twice-1',
      fromNode: 'twin',
      createdAt: Date.now(),
      toNode: 'central',
      method: 'TextLogging',
      commandOrEvent: 'EventACK',
      data: ['once\n'],
      timeout: 5,
      retries: 0,
      methodTimeout: 5,
    });
    const acks: Record<string, unknown>[] = [];
    const inbox = `_INBOX.twin.${Date.now()}`;
    const sub = nc.subscribe(`${inbox}.>`, {
      callback: (_e, m) => {
        acks.push(m.json<Record<string, unknown>>());
      },
    });
    // Both copies in one write, so the node reads them in one go (as a resend can meet its first copy).
    nc.publish('central.EventACK.TextLogging', body, { reply: `${inbox}.a` });
    nc.publish('central.EventACK.TextLogging', body, { reply: `${inbox}.b` });
    await nc.flush();
    const file = join(central.folder, 'data', 'twin', 'central.EventACK.TextLogging.log');
    await waitFor(() => readFileOr(file) === 'once\n' && acks.length === 2, {
      message: () => `${file}: ${JSON.stringify(readFileOr(file))}; ACKs ${JSON.stringify(acks)}`,
    });
    sub.unsubscribe();
    assert.deepEqual(
      acks.map((a) => a.status),
      ['received', 'received'],
    );
    assert.equal(acks.filter((a) => a.duplicate === true).length, 1, `one copy answered as a duplicate: ${JSON.stringify(acks)}`);
    assert.doesNotMatch(central.log(), /could not journal a received message/);
    assert.equal(readFileOr(file), 'once\n', 'run once');
  });

  it('refuses a malformed "follows" naming the field', async () => {
    const body = {
      id: 'f-1',
      fromNode: 'x',
      createdAt: Date.now(),
      toNode: 'central',
      method: 'TextLogging',
      commandOrEvent: 'EventACK',
      data: ['x'],
      timeout: 1,
      retries: 0,
      methodTimeout: 1,
      follows: '../x',
    };
    const ack = await ask('central.EventACK.TextLogging', JSON.stringify(body));
    assert.equal(ack.status, 'rejected');
    assert.match(String(ack.error), /field "follows"/);
  });
});
