/**
 * Unit tests of the `watch` request: its validation, its filters, and which
 * events count as failures.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ErrorCode, parseRequestLine, parseResponseLine, RequestError } from '../src/api/socketProtocol.js';
import { isFailureEvent, watchFilter, type WatchEvent, type WatchRequest } from '../src/api/watchProtocol.js';

function delivery(over: Partial<Extract<WatchEvent, { kind: 'delivery' }>> = {}): WatchEvent {
  return {
    kind: 'delivery',
    time: 1,
    id: '5514769a-7b71-4aa2-8c12-ffbd5c638caa',
    subject: 'ship1.CommandACK.CLICommand',
    fromNode: 'central',
    toNode: 'ship1',
    method: 'CLICommand',
    state: 'sending',
    attempts: 1,
    ...over,
  };
}

function badRequest(line: string): RequestError {
  try {
    parseRequestLine(line);
  } catch (err) {
    assert.ok(err instanceof RequestError);
    assert.equal(err.code, ErrorCode.BadRequest);
    return err;
  }
  assert.fail(`${line} was accepted`);
}

const req = (over: Partial<WatchRequest> = {}): WatchRequest => ({ op: 'watch', failures: false, ...over });

describe('the watch request', () => {
  it('parses its filters, each optional', () => {
    assert.deepEqual(parseRequestLine('{"op":"watch"}'), { op: 'watch', failures: false });
    assert.deepEqual(
      parseRequestLine(
        JSON.stringify({ op: 'watch', reqId: 3, toNode: 'ship[12]*', method: 'CLICommand', id: '5514769a', failures: true }),
      ),
      { op: 'watch', reqId: 3, toNode: 'ship[12]*', method: 'CLICommand', id: '5514769a', failures: true },
    );
  });

  it('refuses wrong filters, naming each', () => {
    const err = badRequest(JSON.stringify({ op: 'watch', toNode: 'ship.1', method: 'a b', id: 'abc', failures: 'yes', limit: 3 }));
    assert.deepEqual(err.problems.map((p) => p.field).sort(), ['failures', 'id', 'limit', 'method', 'toNode']);
    assert.match(badRequest('{"op":"watch","toNode":"ship[1"}').message, /field "toNode"/);
  });

  it('the watching, event and dropped responses parse on the client side', () => {
    assert.equal(parseResponseLine('{"type":"watching","node":"central"}').type, 'watching');
    assert.equal(parseResponseLine(JSON.stringify({ type: 'event', ...delivery() })).type, 'event');
    assert.equal(parseResponseLine('{"type":"dropped","count":3,"since":1}').type, 'dropped');
  });
});

describe('watchFilter', () => {
  it('--toNode takes a glob, --method a name, both on the message', () => {
    const f = watchFilter(req({ toNode: 'sh?p[0-9]*', method: 'CLICommand' }));
    assert.equal(f.matches(delivery()), true);
    assert.equal(f.matches(delivery({ toNode: 'ship12' })), true);
    assert.equal(f.matches(delivery({ toNode: 'shop' })), false);
    assert.equal(f.matches(delivery({ toNode: 'xship1' })), false, 'anchored');
    assert.equal(f.matches(delivery({ method: 'CLICommandRequest' })), false);
    assert.equal(watchFilter(req({ toNode: 'ship[!1]' })).matches(delivery()), false);
  });

  it('--id matches the start or the end of the id and of previousMessageId (the reply)', () => {
    const f = watchFilter(req({ id: '5514769a' }));
    assert.equal(f.matches(delivery()), true);
    assert.equal(f.matches(delivery({ id: 'ffff0000', previousMessageId: '5514769a-7b71' })), true);
    assert.equal(f.matches(delivery({ id: 'ffff0000' })), false);
    // The short form watch and jobs show: the last characters.
    const byEnd = watchFilter(req({ id: '769a-7b71' }));
    assert.equal(byEnd.matches(delivery({ id: '0000-5514769a-7b71' })), true);
    assert.equal(byEnd.matches(delivery({ id: 'ffff0000', previousMessageId: '5514769a-7b71' })), true);
    assert.equal(byEnd.matches(delivery({ id: '5514769a-7b71-0000' })), false, 'in the middle is neither');
  });

  it('message filters match a failure by its subject and id, and leave out process events', () => {
    const failure: WatchEvent = {
      kind: 'failure',
      time: 1,
      failureKind: 'deliveryExpired',
      text: 'x',
      id: '5514769a-7b71',
      subject: 'ship1.CommandACK.CLICommand',
    };
    const restart: WatchEvent = { kind: 'process', time: 1, state: 'restarting', process: 'inputs/inmsgFile', restartCount: 1 };
    assert.equal(watchFilter(req({ toNode: 'ship1', method: 'CLICommand' })).matches(failure), true);
    assert.equal(watchFilter(req({ toNode: 'ship2' })).matches(failure), false);
    assert.equal(watchFilter(req({ id: '5514769a' })).matches(failure), true);
    assert.equal(watchFilter(req({ toNode: 'ship1' })).matches(restart), false);
    assert.equal(watchFilter(req()).matches(restart), true);
  });

  it('--failures keeps failures only', () => {
    const f = watchFilter(req({ failures: true }));
    assert.equal(f.matches(delivery()), false);
    assert.equal(f.matches(delivery({ state: 'retryWait', error: 'no responders' })), false, 'a retry is routine');
    assert.equal(f.matches(delivery({ state: 'expired' })), true);
    assert.equal(f.matches(delivery({ state: 'delivered', status: 'succeeded' })), false);
    assert.equal(f.matches(delivery({ state: 'delivered', status: 'failed', exitCode: 1 })), true);
    const exec = (state: string, status?: string): WatchEvent => ({
      kind: 'execution',
      time: 1,
      id: 'e1',
      subject: 'ship1.CommandACK.CLICommand',
      fromNode: 'central',
      toNode: 'ship1',
      method: 'CLICommand',
      state,
      ...(status ? { status } : {}),
    });
    assert.equal(isFailureEvent(exec('running')), false);
    assert.equal(isFailureEvent(exec('timedOut')), true);
    assert.equal(isFailureEvent(exec('replied', 'rejected')), true);
    assert.equal(isFailureEvent(exec('replied', 'succeeded')), false);
    assert.equal(isFailureEvent({ kind: 'process', time: 1, state: 'restarted', process: 'a/b' }), false);
    assert.equal(isFailureEvent({ kind: 'process', time: 1, state: 'escalated', process: 'a/b' }), true);
  });
});
