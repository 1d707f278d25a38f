/**
 * Many publishers at once, as a fan-out starts them (one per subject): every
 * publisher of the process shares one provided delivery machine, whose
 * `publish` action finds the publisher by the delivery actor. Each message
 * must go out on its own subject only, once, and be recorded delivered when
 * its ACK comes; a publisher stopped and started again (a node restart, an
 * idle stop) resends what was not ACKed, on its own subject. Driven with real
 * services (journal, nats-server) and a raw NATS client playing the receivers.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { connect, type Msg, type NatsConnection } from '@nats-io/transport-node';
import { ACK_FRAME_TAG, isFrame, MESSAGE_FRAME_TAG, OutboxState, parseMessageFrame, splitFrame, subjectOf } from '@steward/core';
import { waitFor } from '../../../test/helpers/waitFor.js';
import { Publisher } from '../src/delivery/publisher.js';
import { AckInbox } from '../src/transport/ackInbox.js';
import { servicesKit, type ServicesKit } from './servicesKit.js';

/** One send as a receiver got it. */
interface Got {
  id: string;
  subject: string;
  msg: Msg;
  framed: boolean;
}

describe('Publishers of many subjects at once (fan-out)', () => {
  const nodes = Array.from({ length: 40 }, (_, i) => `fan${i}`);
  let kit: ServicesKit;
  let receiver: NatsConnection;
  let acks: AckInbox;
  const got: Got[] = [];
  const failures: unknown[] = [];

  before(async () => {
    kit = await servicesKit('central');
    acks = new AckInbox(kit.s.log);
    acks.start(await kit.s.broker.ready());
    receiver = await connect({ servers: kit.server.url });
    receiver.subscribe('*.EventACK.CLICommandRequest', {
      callback: (_err, msg) => {
        const framed = isFrame(msg.data, MESSAGE_FRAME_TAG);
        const bodies = framed
          ? parseMessageFrame(splitFrame(msg.data, MESSAGE_FRAME_TAG)).messages
          : [JSON.parse(new TextDecoder().decode(msg.data)) as Record<string, unknown>];
        for (const body of bodies as { id: string }[]) got.push({ id: body.id, subject: msg.subject, msg, framed });
      },
    });
    await receiver.flush();
  });
  after(async () => {
    acks?.stop();
    await receiver?.close();
    await kit?.close();
  });

  /** Journals `perNode` messages to each node; the subject of each id. */
  async function submit(perNode: number): Promise<Map<string, string>> {
    const items = nodes.flatMap((toNode) =>
      Array.from({ length: perNode }, () => {
        const message = kit.s.toWire({
          toNode,
          method: 'CLICommandRequest',
          commandOrEvent: 'EventACK',
          data: ['true'],
          timeout: 60,
          retries: 3,
        });
        return { message, subject: subjectOf(message) };
      }),
    );
    await kit.s.journal.submit(items);
    return new Map(items.map((i) => [i.message.id, i.subject]));
  }

  function startPublishers(): Publisher[] {
    return nodes.map((n) => {
      const p = new Publisher({
        services: kit.s,
        acks,
        subject: `${n}.EventACK.CLICommandRequest`,
        requestStop: () => undefined,
        fail: (err) => failures.push(err),
      });
      p.start();
      return p;
    });
  }

  /** ACKs the latest copy of `id`, as its node. */
  function ack(id: string): void {
    const copy = got.findLast((g) => g.id === id)!;
    const ackJson = JSON.stringify({ id, node: copy.subject.split('.')[0], status: 'received' });
    copy.msg.respond(copy.framed ? `${ACK_FRAME_TAG} - {"node":"${copy.subject.split('.')[0]}","acks":[${ackJson}]}` : ackJson);
  }

  const delivered = (id: string) => kit.s.journal.getOutbox(id)?.state === OutboxState.Delivered;

  it('each message goes out on its own subject only, and its ACK ends its delivery; after a stop and start the rest is resent', async () => {
    const subjects = await submit(2);
    const ids = [...subjects.keys()];
    let publishers = startPublishers();
    await waitFor(() => new Set(got.map((g) => g.id)).size === ids.length, { timeoutMs: 20_000, message: 'every message sent' });
    for (const g of got) assert.equal(g.subject, subjects.get(g.id), `${g.id} went out on its own subject`);
    assert.equal(got.length, ids.length, 'each sent once');

    // Half of them ACKed, then every publisher stopped and started again: only the other half goes out again.
    const acked = ids.filter((_, i) => i % 2 === 0);
    for (const id of acked) ack(id);
    await waitFor(() => acked.every(delivered), { timeoutMs: 20_000, message: 'the ACKed half recorded delivered' });
    for (const p of publishers) p.stop();
    got.length = 0;
    publishers = startPublishers();
    const rest = ids.filter((id) => !acked.includes(id));
    await waitFor(() => new Set(got.map((g) => g.id)).size === rest.length, { timeoutMs: 20_000, message: 'the rest sent again' });
    assert.deepEqual(new Set(got.map((g) => g.id)), new Set(rest), 'only the unACKed ones again');
    for (const g of got) assert.equal(g.subject, subjects.get(g.id));
    for (const id of rest) ack(id);
    await waitFor(() => ids.every(delivered), { timeoutMs: 20_000, message: 'all delivered' });
    for (const p of publishers) p.stop();
    assert.deepEqual(failures, []);
  });
});
