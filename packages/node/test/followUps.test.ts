/**
 * What an execution sends back besides its ACK: the reply message built from
 * the request (its failure text appended), and output cut to fit one broker
 * message.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { ResultStatus, type AckReply, type WireMessage } from '@steward/core';
import { fitOutput, followUpOf } from '../src/execution/followUps.js';
import { methodHandlers, type MethodHandler } from '../src/methods/index.js';
import { servicesKit, type ServicesKit } from './servicesKit.js';

/** A request from `central` run on `ship1`, with `extra` fields. */
function request(extra: Partial<WireMessage> = {}): WireMessage {
  return {
    id: 'req-1',
    fromNode: 'central',
    toNode: 'ship1',
    method: 'CLICommandRequest',
    commandOrEvent: 'EventACK',
    data: ['echo', 'hi'],
    createdAt: Date.now(),
    timeout: 10,
    retries: 1,
    methodTimeout: 10,
    ...extra,
  };
}

function handler(name: string): MethodHandler {
  const h = methodHandlers.get(name);
  assert.ok(h, `no handler for ${name}`);
  return h;
}

const ack = (status: AckReply['status'], output?: string, error?: string): AckReply => ({
  id: 'req-1',
  node: 'ship1',
  status,
  ...(output !== undefined ? { output } : {}),
  ...(error !== undefined ? { error } : {}),
});

describe('followUpOf (real services)', () => {
  let kit: ServicesKit;
  before(async () => (kit = await servicesKit('ship1')));
  after(async () => kit?.close());

  it('builds the reply from the request: to its sender, naming it, carrying the output', () => {
    const f = followUpOf(kit.s, request(), ack(ResultStatus.Succeeded, 'hi\n'), handler('CLICommandRequest'));
    assert.ok(f);
    assert.equal(f.subject, 'central.EventACK.CLICommandReply');
    assert.equal(f.sourceKey, 'reply:req-1');
    assert.equal(f.message.fromNode, 'ship1');
    assert.equal(f.message.toNode, 'central');
    assert.equal(f.message.previousMessageId, 'req-1');
    assert.deepEqual(f.message.data, ['hi\n']);
  });

  it('appends the failure to the output, on a line of its own', () => {
    const f = followUpOf(kit.s, request(), ack(ResultStatus.Failed, 'partial', 'exit status 3'), handler('CLICommandRequest'));
    assert.deepEqual(f?.message.data, ['partial\nsteward: CLICommandRequest failed: exit status 3\n']);
    const empty = followUpOf(kit.s, request(), ack(ResultStatus.TimedOut, undefined, 'ran past 10s'), handler('CLICommandRequest'));
    assert.deepEqual(empty?.message.data, ['steward: CLICommandRequest timedOut: ran past 10s\n']);
  });

  it('takes the reply settings from the request: replyMethodArgs, requestTimeout 0 (no ACK), directory and fileName', () => {
    const m = request({ replyMethodArgs: ['{{STEWARD_DATA}}'], requestTimeout: 0, directory: 'out', fileName: 'r.txt' });
    const f = followUpOf(kit.s, m, ack(ResultStatus.Succeeded, 'hi\n'), handler('CLICommandRequest'));
    assert.ok(f);
    assert.equal(f.message.commandOrEvent, 'EventNACK');
    assert.deepEqual(f.message.data, ['{{STEWARD_DATA}}']);
    assert.equal(f.message.previousOutput, 'hi\n');
    assert.equal(f.message.directory, 'out');
    assert.equal(f.message.fileName, 'r.txt');
  });

  it('sends no reply for a command kind (it answers in the ACK)', () => {
    const m = request({ method: 'CLICommand', commandOrEvent: 'CommandACK' });
    assert.equal(followUpOf(kit.s, m, ack(ResultStatus.Failed, '', 'boom'), handler('CLICommand')), undefined);
  });

  it('a method that replies by itself gets a reply here only when it fails', () => {
    const [name, h] = [...methodHandlers].find(([, x]) => x.replyOnSuccess === false)!;
    const m = request({ method: name, replyMethod: 'CLICommandReply' });
    assert.equal(followUpOf(kit.s, m, ack(ResultStatus.Succeeded, 'streamed'), h), undefined);
    const f = followUpOf(kit.s, m, ack(ResultStatus.Failed, '', 'no such file'), h);
    assert.deepEqual(f?.message.data, [`steward: ${name} failed: no such file\n`]);
  });
});

describe('fitOutput (real services, --maxChunkedBytes 64 KiB)', () => {
  const limit = 64 * 1024;
  let kit: ServicesKit;
  before(async () => (kit = await servicesKit('ship1', (c) => (c.maxChunkedBytes = limit))));
  after(async () => kit?.close());

  it('keeps output up to the limit whole, whatever the broker takes (larger goes in chunks)', () => {
    assert.equal(fitOutput(kit.s, 'hello\n'), 'hello\n');
    const output = randomBytes((limit * 3) / 4).toString('base64');
    assert.equal(Buffer.byteLength(output), limit);
    assert.equal(fitOutput(kit.s, output), output);
  });

  it('cuts output past the limit, keeping its end and naming the limit', () => {
    const output = randomBytes(400 * 1024).toString('base64');
    const cut = fitOutput(kit.s, output);
    const [head, ...rest] = cut.split('\n');
    const tail = rest.join('\n');
    assert.equal(
      head,
      `[steward: output was ${Buffer.byteLength(output)} bytes; only its last ${limit} bytes are kept (--maxChunkedBytes ${limit})]`,
    );
    assert.equal(Buffer.byteLength(tail), limit);
    assert.ok(output.endsWith(tail));
  });

  it('measures the limit in UTF-8 bytes', () => {
    const output = 'é'.repeat(limit);
    const cut = fitOutput(kit.s, output);
    assert.match(cut, new RegExp(`^\\[steward: output was ${2 * limit} bytes`));
  });
});
