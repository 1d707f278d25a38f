/**
 * The receiving side of message deadlines: a message whose deadline has
 * passed when it arrives is refused (`rejected`, reported, counted), not run
 * late; one still in time runs.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ResultStatus, type AckReply, type WireMessage } from '@steward/core';
import { deadlineCounter } from '../src/delivery/deadline.js';
import { refusedAsLate } from '../src/execution/lateArrival.js';
import { FailureKind } from '../src/node/errorKernel.js';
import { servicesKit, type ServicesKit } from './servicesKit.js';

const subject = 'ship1.CommandACK.CLICommand';

function message(id: string, deadline: number | undefined): WireMessage {
  return {
    id,
    fromNode: 'central',
    toNode: 'ship1',
    method: 'CLICommand',
    commandOrEvent: 'CommandACK',
    data: ['true'],
    createdAt: Date.now() - 60_000,
    timeout: 10,
    retries: 1,
    methodTimeout: 10,
    ...(deadline !== undefined ? { deadline } : {}),
  };
}

describe('refusedAsLate (real services)', () => {
  let kit: ServicesKit;
  before(async () => (kit = await servicesKit('ship1')));
  after(async () => kit?.close());

  const receiverCount = async (): Promise<number> =>
    (await deadlineCounter(kit.s.metrics).get()).values.find((v) => v.labels.side === 'receiver' && v.labels.method === 'CLICommand')
      ?.value ?? 0;

  it('refuses a message whose deadline has passed: rejected ACK naming the deadline, reported and counted', async () => {
    const answers: AckReply[] = [];
    const before = kit.s.errors.counts.get(FailureKind.Rejected) ?? 0;
    const deadline = Date.now() - 1000;
    assert.equal(
      refusedAsLate(kit.s, message('late-1', deadline), subject, (a) => answers.push(a)),
      true,
    );
    assert.equal(answers.length, 1);
    assert.equal(answers[0]!.id, 'late-1');
    assert.equal(answers[0]!.node, 'ship1');
    assert.equal(answers[0]!.status, ResultStatus.Rejected);
    assert.match(answers[0]!.error!, new RegExp(`deadline passed: the message had to run by ${new Date(deadline).toISOString()}`));
    assert.equal(kit.s.errors.counts.get(FailureKind.Rejected), before + 1);
    assert.equal(await receiverCount(), 1);
    const lines = await kit.lines();
    assert.ok(
      lines.some(
        (l) =>
          typeof l.message === 'string' && l.message.includes('refused CLICommand from central') && l.message.includes('deadline passed'),
      ),
      JSON.stringify(lines),
    );
  });

  it('lets a message in time, or without a deadline, run: no answer, nothing counted', async () => {
    const answers: AckReply[] = [];
    assert.equal(
      refusedAsLate(kit.s, message('ontime-1', Date.now() + 60_000), subject, (a) => answers.push(a)),
      false,
    );
    assert.equal(
      refusedAsLate(kit.s, message('nodeadline-1', undefined), subject, (a) => answers.push(a)),
      false,
    );
    assert.deepEqual(answers, []);
    assert.equal(await receiverCount(), 1, 'only the late one of the previous test');
  });
});
