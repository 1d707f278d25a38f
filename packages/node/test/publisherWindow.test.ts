/**
 * The publisher's window on an ordered subject (pipelined delivery): it
 * starts with 4 messages in flight, grows by one with every ACK, names in
 * `follows` the nearest earlier message still in flight, and drops to one
 * message (the oldest; the others back in the queue, unsent) when the
 * receiver stops answering. Driven with real services (journal, nats-server)
 * and a raw NATS client playing the receiver. Sends made in one turn travel
 * in frames (see core frame.ts): the receiver unpacks them and answers a
 * framed copy with an ACK frame, as a node does.
 */
import assert from 'node:assert/strict';
import { after, afterEach, before, describe, it } from 'node:test';
import { connect, type Msg, type NatsConnection } from '@nats-io/transport-node';
import {
  ACK_FRAME_TAG,
  isFrame,
  MESSAGE_FRAME_TAG,
  OutboxState,
  parseMessageFrame,
  splitFrame,
  subjectOf,
  type MessageSpec,
} from '@steward/core';
import { waitFor } from '../../../test/helpers/waitFor.js';
import { Publisher } from '../src/delivery/publisher.js';
import { AckInbox } from '../src/transport/ackInbox.js';
import { servicesKit, type ServicesKit } from './servicesKit.js';

const subject = 'ship1.EventACK.CLICommandRequest';

/** One message as the receiver got it. */
interface Got {
  id: string;
  follows?: string;
  msg: Msg;
  /** Whether it came in a frame (then it is answered in an ACK frame). */
  framed: boolean;
}

describe('Publisher window (ordered subject)', () => {
  let kit: ServicesKit;
  let receiver: NatsConnection;
  let acks: AckInbox;
  let publisher: Publisher | undefined;
  const got: Got[] = [];
  const failures: unknown[] = [];
  /** How many frames (of two or more messages) arrived. */
  let frames = 0;

  before(async () => {
    kit = await servicesKit('central', (c) => (c.orderedWindow = 8));
    acks = new AckInbox(kit.s.log);
    acks.start(await kit.s.broker.ready());
    receiver = await connect({ servers: kit.server.url });
    receiver.subscribe(subject, {
      callback: (_err, msg) => {
        const framed = isFrame(msg.data, MESSAGE_FRAME_TAG);
        if (framed) frames++;
        const bodies = framed
          ? parseMessageFrame(splitFrame(msg.data, MESSAGE_FRAME_TAG)).messages
          : [JSON.parse(new TextDecoder().decode(msg.data)) as Record<string, unknown>];
        for (const body of bodies as { id: string; follows?: string }[])
          got.push({ id: body.id, ...(body.follows !== undefined ? { follows: body.follows } : {}), msg, framed });
      },
    });
    await receiver.flush();
  });
  afterEach(() => {
    publisher?.stop();
    publisher = undefined;
    got.length = 0;
    frames = 0;
    assert.deepEqual(failures, []);
  });
  after(async () => {
    acks?.stop();
    await receiver?.close();
    await kit?.close();
  });

  /** Journals `n` messages on the subject; their ids in journal order. */
  async function submit(n: number, spec: Partial<MessageSpec> = {}): Promise<string[]> {
    const items = Array.from({ length: n }, () => {
      const message = kit.s.toWire({
        toNode: 'ship1',
        method: 'CLICommandRequest',
        commandOrEvent: 'EventACK',
        data: ['true'],
        timeout: 60,
        retries: 3,
        ...spec,
      });
      return { message, subject: subjectOf(message) };
    });
    await kit.s.journal.submit(items);
    return items.map((i) => i.message.id);
  }

  function startPublisher(): void {
    publisher = new Publisher({ services: kit.s, acks, subject, requestStop: () => undefined, fail: (err) => failures.push(err) });
    publisher.start();
  }

  /** Every send the receiver has seen so far, after both connections have flushed: what was published has arrived. */
  async function settled(): Promise<Got[]> {
    await (await kit.s.broker.ready()).flush();
    await receiver.flush();
    return [...got];
  }

  /** ACKs the latest copy of `id` as received. */
  function ack(id: string): void {
    const copy = got.findLast((g) => g.id === id);
    assert.ok(copy?.msg.reply, `no copy of ${id} to ACK`);
    const ackJson = JSON.stringify({ id, node: 'ship1', status: 'received' });
    copy.msg.respond(copy.framed ? `${ACK_FRAME_TAG} - {"node":"ship1","acks":[${ackJson}]}` : ackJson);
  }

  const idsOf = (list: Got[]): string[] => list.map((g) => g.id);

  it('sends 4 first, then one more per ACK, each naming the nearest earlier message in flight', async () => {
    const ids = await submit(10);
    startPublisher();
    await waitFor(() => got.length >= 4, { timeoutMs: 20_000, message: 'the first 4 sends' });
    const first = await settled();
    assert.deepEqual(idsOf(first), ids.slice(0, 4), 'no more than the initial window of 4');
    assert.equal(first[0]!.follows, undefined);
    for (let i = 1; i < 4; i++) assert.equal(first[i]!.follows, ids[i - 1]);
    // Sent in one turn: the first at once, alone; the 3 after it in one frame, not 3 NATS messages.
    assert.equal(frames, 1, 'the 3 after the first travelled in one frame');
    assert.deepEqual(
      first.map((g) => g.framed),
      [false, true, true, true],
    );

    // Each ACK frees one place and widens the window by one: two more sends.
    for (const [k, acked] of [ids[0]!, ids[1]!, ids[2]!].entries()) {
      ack(acked);
      const want = 4 + 2 * (k + 1);
      await waitFor(() => got.length >= want, { timeoutMs: 20_000, message: `${want} sends` });
      const now = await settled();
      assert.deepEqual(idsOf(now), ids.slice(0, want), `after ${k + 1} ACK(s)`);
      for (const g of now.slice(want - 2)) assert.equal(g.follows, ids[ids.indexOf(g.id) - 1]);
    }
    await waitFor(() => kit.s.journal.getOutbox(ids[2]!)?.state === OutboxState.Delivered, {
      timeoutMs: 20_000,
      message: 'the ACKs recorded',
    });
    for (const id of ids.slice(3)) assert.notEqual(kit.s.journal.getOutbox(id)?.state, OutboxState.Delivered);
    for (const id of ids.slice(3)) ack(id);
    await waitFor(() => ids.every((id) => kit.s.journal.getOutbox(id)?.state === OutboxState.Delivered), {
      timeoutMs: 20_000,
      message: 'all delivered',
    });
  });

  it('waits for a slow receiver that answers the messages ahead, without resending or using up a retry', async () => {
    // Timeout 2 s and no retries: the fourth message waits longer than its ACK timeout for its turn.
    const ids = await submit(6, { timeout: 2, retries: 0 });
    startPublisher();
    await waitFor(() => got.length >= 4, { timeoutMs: 20_000, message: 'the first 4 sends' });
    // The receiver takes one message every 700 ms, in order, as a slow or busy node would.
    for (const id of ids) {
      await waitFor(() => got.some((g) => g.id === id), { timeoutMs: 20_000, message: `the send of ${id}` });
      await new Promise((resolve) => setTimeout(resolve, 700));
      ack(id);
    }
    await waitFor(
      () => ids.every((id) => kit.s.journal.getOutbox(id)?.state !== OutboxState.Queued && kit.s.journal.getOutbox(id)?.finishedAt),
      {
        timeoutMs: 20_000,
        message: () => `all ended: ${JSON.stringify(ids.map((id) => kit.s.journal.getOutbox(id)?.state))}`,
      },
    );
    assert.deepEqual(
      ids.map((id) => kit.s.journal.getOutbox(id)?.state),
      ids.map(() => OutboxState.Delivered),
      'every message delivered, none expired though some waited past their ACK timeout',
    );
    const sent = await settled();
    assert.deepEqual(idsOf(sent), ids, 'each sent once: no resend while the receiver answered the ones ahead');
  });

  it('when the receiver stops answering, keeps only the oldest in flight and resends it alone; the window reopens with ACKs', async () => {
    const ids = await submit(4, { timeout: 2, retries: 5 });
    startPublisher();
    await waitFor(() => got.length >= 4, { timeoutMs: 20_000, message: 'the first 4 sends' });
    // No ACK: the oldest is resent (attempt 2) alone, the others are withdrawn, unsent.
    await waitFor(() => got.length >= 5, { timeoutMs: 20_000, message: 'a resend' });
    await waitFor(() => ids.slice(1).every((id) => kit.s.journal.getOutbox(id)?.state === OutboxState.Queued), {
      timeoutMs: 20_000,
      message: 'the others back in the queue',
    });
    let now = await settled();
    assert.deepEqual(idsOf(now), [...ids, ids[0]!], 'only the oldest was resent');
    assert.equal(now[4]!.follows, undefined);

    ack(ids[0]!);
    // The window is 1 again and grows to 2 with this ACK: the next two go, the second following the first.
    await waitFor(() => got.length >= 7, { timeoutMs: 20_000, message: 'the next two sends' });
    now = await settled();
    assert.deepEqual(idsOf(now.slice(5)), [ids[1], ids[2]]);
    assert.equal(now[5]!.follows, undefined, 'nothing earlier in flight any more');
    assert.equal(now[6]!.follows, ids[1]);
    ack(ids[1]!);
    ack(ids[2]!);
    await waitFor(() => got.filter((g) => g.id === ids[3]).length >= 2, { timeoutMs: 20_000, message: 'the last one resent' });
    ack(ids[3]!);
    await waitFor(() => ids.every((id) => kit.s.journal.getOutbox(id)?.state === OutboxState.Delivered), {
      timeoutMs: 20_000,
      message: 'all delivered',
    });
  });
});
