import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ValidationError } from '../src/errors.js';
import { expandTargets, parseMessageSpec, parseWireMessage } from '../src/message.js';

function reasons(raw: unknown): Record<string, string> {
  try {
    parseMessageSpec(raw);
    return {};
  } catch (err) {
    assert.ok(err instanceof ValidationError);
    return Object.fromEntries(err.problems.map((p) => [p.field, p.reason]));
  }
}

const cli = { toNode: 'ship1', method: 'REQCliCommand', methodArgs: ['ls'] };

describe('mature message fields', () => {
  it('accepts the mature README example as it is', () => {
    const { spec, warnings } = parseMessageSpec({
      directory: '/var/cli/command_result/',
      fileName: 'some-file-name.result',
      toNode: 'ship1',
      method: 'REQCliCommand',
      methodArgs: ['bash', '-c', 'sleep 5 & tree ./'],
      replyMethod: 'REQToFileAppend',
      ACKTimeout: 5,
      retries: 3,
      replyACKTimeout: 5,
      replyRetries: 3,
      methodTimeout: 10,
    });
    assert.deepEqual(warnings, []);
    assert.equal(spec.timeout, 5);
    assert.equal(spec.requestTimeout, 5);
    assert.equal(spec.requestRetries, 3);
    assert.equal(spec.replyMethod, 'REQToFileAppend');
    assert.equal(spec.directory, '/var/cli/command_result/');
    assert.equal(spec.commandOrEvent, 'EventACK');
  });

  it('ACKTimeout 0 sends without ACK; replyACKTimeout 0 replies without ACK', () => {
    assert.equal(parseMessageSpec({ ...cli, ACKTimeout: 0 }).spec.commandOrEvent, 'EventNACK');
    assert.equal(parseMessageSpec({ ...cli, ACKTimeout: 0 }).spec.timeout, undefined);
    assert.equal(parseMessageSpec({ ...cli, replyACKTimeout: 0 }).spec.requestTimeout, 0);
    assert.match(reasons({ ...cli, ACKTimeout: 0, commandOrEvent: 'EventACK' }).ACKTimeout!, /no ACK/);
    assert.match(reasons({ ...cli, timeout: 0 }).timeout!, /between 0.01/);
  });

  it('toNodes fans out; toNode may be left out; local is the node itself', () => {
    const { spec } = parseMessageSpec({ toNodes: ['ship1', 'local', 'ship1'], method: 'REQPing' });
    assert.deepEqual(
      expandTargets(spec, 'central').map((s) => s.toNode),
      ['ship1', 'central'],
    );
    const both = parseMessageSpec({ toNode: 'ship2', toNodes: ['ship1'], method: 'REQPing' }).spec;
    assert.deepEqual(
      expandTargets(both, 'central').map((s) => [s.toNode, s.toNodes]),
      [
        ['ship2', undefined],
        ['ship1', undefined],
      ],
    );
    assert.match(reasons({ toNodes: [], method: 'REQPing' }).toNodes!, /at least one/);
    assert.match(reasons({ toNodes: ['a.b'], method: 'REQPing' })['toNodes[0]']!, /not a node name/);
    assert.equal(reasons({ method: 'REQPing' }).toNode, 'is missing');
  });

  it('names every wrong new field', () => {
    const r = reasons({
      ...cli,
      replyMethod: 'Nope',
      replyMethodArgs: 'x',
      replyMethodTimeout: 'soon',
      directory: 'a/../b',
      fileName: 'x/y',
      schedule: [0, 5],
      pty: 1,
    });
    assert.match(r.replyMethod!, /unknown method "Nope"/);
    assert.match(r.replyMethodArgs!, /array of strings/);
    assert.match(r.replyMethodTimeout!, /number of seconds/);
    assert.match(r.directory!, /must not contain "\.\."/);
    assert.match(r.fileName!, /plain file name/);
    assert.match(r.schedule!, /\[intervalSeconds, totalSeconds\]/);
    assert.match(r.pty!, /true or false/);
    assert.match(reasons({ ...cli, schedule: [10, 5] }).schedule!, /at most the total/);
    assert.match(reasons({ ...cli, fileName: '..' }).fileName!, /must be a file name/);
    assert.match(reasons({ ...cli, directory: 'a\nb' }).directory!, /control characters/);
    assert.match(reasons({ ...cli, replyMethod: 'REQCliCommand' }).replyMethodArgs!, /needs the command/);
    assert.match(reasons({ toNode: 'a', method: 'REQCopySrc', methodArgs: ['x'] }).methodArgs!, /srcPath, dstNode, dstPath/);
  });

  it('the seed format is unchanged: data, timeout, requestTimeout', () => {
    const { spec, warnings } = parseMessageSpec({
      toNode: 'ship1',
      data: ['bash', '-c', 'ls'],
      commandOrEvent: 'CommandACK',
      method: 'CLICommand',
      timeout: 3,
      retries: 3,
      requestTimeout: 2,
      requestRetries: 1,
      methodTimeout: 10,
    });
    assert.deepEqual(warnings, []);
    assert.deepEqual(spec, {
      toNode: 'ship1',
      method: 'CLICommand',
      commandOrEvent: 'CommandACK',
      data: ['bash', '-c', 'ls'],
      timeout: 3,
      retries: 3,
      requestTimeout: 2,
      requestRetries: 1,
      methodTimeout: 10,
    });
  });

  it('a wire message keeps previousOutput and replyToNode, and refuses toNodes', () => {
    const base = { ...cli, id: 'x1', fromNode: 'central', createdAt: 1, timeout: 1, retries: 0, methodTimeout: 1 };
    const w = parseWireMessage({ ...base, previousOutput: 'out', replyToNode: 'ship2' });
    assert.equal(w.previousOutput, 'out');
    assert.equal(w.replyToNode, 'ship2');
    assert.throws(() => parseWireMessage({ ...base, toNodes: ['a'] }), /toNodes/);
    assert.throws(() => parseWireMessage({ ...base, directory: '../../etc' }), /directory/);
  });
});
