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
});
