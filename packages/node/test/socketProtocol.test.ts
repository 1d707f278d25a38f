/**
 * Unit tests of the local API's request parsing, the reading of reply
 * messages, the result of a sent message, and where the socket goes.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, statSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import type { WireMessage } from '@steward/core';
import { parseReplyText, sentResult } from '../src/api/sendResult.js';
import { withRunTimeAckTimeout } from '../src/api/sendSession.js';
import { chooseSocketPath, privateDirProblem } from '../src/api/socketPath.js';
import {
  ErrorCode,
  maxMessagesPerRequest,
  outcomeOf,
  parseRequest,
  parseRequestLine,
  parseResponseLine,
  RequestError,
  SendStatus,
} from '../src/api/socketProtocol.js';

/** The RequestError a call throws. */
function requestError(fn: () => unknown): RequestError {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof RequestError, `expected a RequestError, got ${String(err)}`);
    return err;
  }
  assert.fail('expected a RequestError');
}

describe('parseRequestLine', () => {
  it('parses a send request, with its messages validated and defaults left to the node', () => {
    const req = parseRequestLine(
      JSON.stringify({
        op: 'send',
        reqId: 'r1',
        wait: true,
        messages: [{ toNode: 'ship1', method: 'CLICommand', data: ['uptime'], timeout: 2, extra: 1 }],
      }),
    );
    assert.equal(req.op, 'send');
    assert.ok(req.op === 'send');
    assert.equal(req.reqId, 'r1');
    assert.equal(req.wait, true);
    assert.deepEqual(req.messages, [{ toNode: 'ship1', method: 'CLICommand', commandOrEvent: 'CommandACK', data: ['uptime'], timeout: 2 }]);
    assert.deepEqual(req.warnings, [{ index: 0, warning: 'unknown field "extra" ignored' }]);
  });

  it('accepts the full (wire) format as well as the seed format', () => {
    const req = parseRequest({
      op: 'send',
      messages: [
        {
          id: 'x',
          fromNode: 'central',
          createdAt: 1,
          toNode: 'ship1',
          method: 'ECHORequest',
          commandOrEvent: 'EventACK',
          data: ['hi'],
          timeout: 1,
          retries: 0,
          methodTimeout: 5,
        },
      ],
    });
    assert.ok(req.op === 'send');
    assert.equal(req.wait, false);
    assert.equal(req.messages[0]?.method, 'ECHORequest');
    assert.deepEqual(req.warnings, []);
  });

  it('names the index and field of every wrong message, and keeps the reqId for routing', () => {
    const err = requestError(() =>
      parseRequest({
        op: 'send',
        reqId: 9,
        messages: [{ toNode: 'ship1', method: 'CLICommand', data: ['ok'] }, { method: 'CLICommand', data: [] }, 'nope'],
      }),
    );
    assert.equal(err.code, ErrorCode.BadRequest);
    assert.equal(err.reqId, 9);
    assert.deepEqual(
      err.problems.map((p) => `${p.index}:${p.field}`),
      ['1:toNode', '1:data', '2:(message)'],
    );
    assert.match(err.message, /messages\[1\]: field "toNode": is missing/);
  });

  it('refuses what is not a request: not JSON, not an object, unknown op, unknown fields, wrong types', () => {
    assert.match(requestError(() => parseRequestLine('{"op":')).message, /not JSON/);
    assert.match(requestError(() => parseRequestLine('[]')).message, /JSON object/);
    assert.match(requestError(() => parseRequest({ op: 'delete' })).message, /field "op": must be one of send, status, jobs, nodes, ping/);
    assert.match(requestError(() => parseRequest({ op: 'ping', verbose: true })).message, /field "verbose": unknown field/);
    assert.match(requestError(() => parseRequest({ op: 'send', messages: [] })).message, /non-empty array/);
    assert.match(requestError(() => parseRequest({ op: 'send', messages: {} })).message, /non-empty array/);
    assert.match(
      requestError(() => parseRequest({ op: 'send', wait: 'yes', messages: [{ toNode: 'a', method: 'TextLogging' }] })).message,
      /field "wait"/,
    );
    assert.match(requestError(() => parseRequest({ op: 'status' })).message, /field "id"/);
    assert.match(requestError(() => parseRequest({ op: 'ping', reqId: { a: 1 } })).message, /field "reqId"/);
    assert.match(requestError(() => parseRequest({ op: 'nodes', staleAfter: -1 })).message, /field "staleAfter"/);
  });

  it('bounds the number of messages in one request', () => {
    const messages = Array.from({ length: maxMessagesPerRequest + 1 }, () => ({ toNode: 'a', method: 'TextLogging', data: ['x'] }));
    assert.match(requestError(() => parseRequest({ op: 'send', messages })).message, /at most 10000 per request/);
  });

  it('parses replyTimeout, including -1 for no limit', () => {
    const m = [{ toNode: 'a', method: 'ECHORequest', data: ['x'] }];
    const a = parseRequest({ op: 'send', messages: m, replyTimeout: 5 });
    assert.ok(a.op === 'send' && a.replyTimeout === 5);
    const b = parseRequest({ op: 'send', messages: m, replyTimeout: -1 });
    assert.ok(b.op === 'send' && b.replyTimeout === -1);
    assert.match(requestError(() => parseRequest({ op: 'send', messages: m, replyTimeout: 0 })).message, /replyTimeout/);
  });

  it('parses jobs filters: states as a list or comma-separated, node globs, limits', () => {
    const a = parseRequest({ op: 'jobs', state: 'open, expired', node: 'ship*', method: 'CLICommand', limit: 5, all: true });
    assert.deepEqual(a, { op: 'jobs', states: ['open', 'expired'], node: 'ship*', method: 'CLICommand', limit: 5, all: true });
    assert.deepEqual(parseRequest({ op: 'jobs' }), { op: 'jobs', limit: 20, all: false });
    const err = requestError(() => parseRequest({ op: 'jobs', state: ['done'], node: 'a.b', limit: 5000 }));
    assert.deepEqual(
      err.problems.map((p) => p.field),
      ['state', 'node', 'limit'],
    );
  });
});

describe('parseResponseLine', () => {
  it('accepts known response types and refuses the rest', () => {
    assert.equal(parseResponseLine('{"type":"pong","node":"a","version":"1","central":"c","pid":1}').type, 'pong');
    assert.throws(() => parseResponseLine('{"type":"surprise"}'), RequestError);
    assert.throws(() => parseResponseLine('nope'), RequestError);
  });
});

describe('results', () => {
  const wire = (over: Partial<WireMessage>): WireMessage => ({
    id: 'm1',
    fromNode: 'central',
    createdAt: 1,
    toNode: 'ship1',
    method: 'CLICommand',
    commandOrEvent: 'CommandACK',
    data: ['x'],
    timeout: 1,
    retries: 0,
    methodTimeout: 10,
    ...over,
  });

  it('reads a reply text: plain output, or a failure trailer with status and exit code', () => {
    assert.deepEqual(parseReplyText('hello\n'), { status: 'succeeded', output: 'hello\n' });
    assert.deepEqual(parseReplyText('some out\nsteward: CLICommandRequest failed: bash -c exit 3: exit code 3\n'), {
      status: 'failed',
      output: 'some out\n',
      error: 'bash -c exit 3: exit code 3',
      exitCode: 3,
    });
    assert.deepEqual(parseReplyText('steward: CLICommandRequest timedOut: method ran longer than methodTimeout 1s and was killed\n'), {
      status: 'timedOut',
      output: '',
      error: 'method ran longer than methodTimeout 1s and was killed',
    });
  });

  it('derives the result of a sent message from its delivery, ACK and reply', () => {
    const cmd = wire({});
    assert.equal(sentResult({ message: cmd, state: 'awaitingAck', attempts: 1 }), undefined);
    assert.deepEqual(sentResult({ message: cmd, state: 'expired', attempts: 2, lastError: 'no responders' }), {
      id: 'm1',
      toNode: 'ship1',
      method: 'CLICommand',
      attempts: 2,
      status: 'expired',
      error: 'delivery expired after 2 attempt(s): no responders',
    });
    const ack = { id: 'm1', node: 'ship1', status: 'failed' as const, output: 'o', exitCode: 2, error: 'x: exit code 2' };
    assert.equal(sentResult({ message: cmd, state: 'delivered', attempts: 1, ack })?.exitCode, 2);

    const req = wire({ method: 'CLICommandRequest', commandOrEvent: 'EventACK' });
    const received = { id: 'm1', node: 'ship1', status: 'received' as const };
    assert.equal(sentResult({ message: req, state: 'delivered', attempts: 1, ack: received }), undefined, 'waits for the reply');
    const reply = wire({
      id: 'r1',
      fromNode: 'ship1',
      toNode: 'central',
      method: 'CLICommandReply',
      commandOrEvent: 'EventACK',
      data: ['done\n'],
    });
    assert.deepEqual(sentResult({ message: req, state: 'delivered', attempts: 1, ack: received }, reply), {
      id: 'm1',
      toNode: 'ship1',
      method: 'CLICommandRequest',
      attempts: 1,
      status: 'succeeded',
      output: 'done\n',
      replyId: 'r1',
    });
    const log = wire({ method: 'TextLogging', commandOrEvent: 'EventACK' });
    assert.equal(sentResult({ message: log, state: 'delivered', attempts: 1, ack: received })?.status, 'received');
    const hello = wire({ method: 'SayHello', commandOrEvent: 'EventNACK' });
    assert.equal(sentResult({ message: hello, state: 'delivered', attempts: 1 })?.status, 'sent');
  });

  it('sorts statuses into ok, failed, expired and no reply', () => {
    assert.deepEqual(
      Object.values(SendStatus).map((s) => `${s}:${outcomeOf(s)}`),
      [
        'succeeded:ok',
        'failed:failed',
        'timedOut:failed',
        'interrupted:failed',
        'rejected:failed',
        'received:ok',
        'sent:ok',
        'expired:expired',
        'noReply:noReply',
        'cancelled:failed',
      ],
    );
  });
});

describe('withRunTimeAckTimeout', () => {
  const defaults = { defaultMessageTimeout: 10, defaultMethodTimeout: 30 };
  const spec = { toNode: 'a', method: 'CLICommand', commandOrEvent: 'CommandACK' as const, data: ['x'] };

  it('lets a CommandACK wait for its command to run to its methodTimeout, unless it sets a timeout', () => {
    assert.equal(withRunTimeAckTimeout(spec, defaults).timeout, 40);
    assert.equal(withRunTimeAckTimeout({ ...spec, methodTimeout: 2 }, defaults).timeout, 12);
    assert.equal(withRunTimeAckTimeout({ ...spec, timeout: 1 }, defaults).timeout, 1);
    assert.equal(withRunTimeAckTimeout({ ...spec, methodTimeout: -1 }, defaults).timeout, undefined);
    const event = { ...spec, method: 'CLICommandRequest', commandOrEvent: 'EventACK' as const };
    assert.equal(withRunTimeAckTimeout(event, defaults).timeout, undefined);
  });
});

describe('chooseSocketPath', () => {
  const base = mkdtempSync(join(tmpdir(), 'steward-sockpath-'));
  after(() => rmSync(base, { recursive: true, force: true }));

  it('uses the node folder without XDG_RUNTIME_DIR, and an explicit path as given', () => {
    assert.deepEqual(chooseSocketPath({ node: 'a', nodeFolder: '/srv/a' }, {}), { path: '/srv/a/steward.sock' });
    assert.deepEqual(chooseSocketPath({ node: 'a', nodeFolder: '/srv/a', configured: '/run/a.sock' }, { XDG_RUNTIME_DIR: base }), {
      path: '/run/a.sock',
    });
  });

  it('uses a private runtime dir, creating steward/ with mode 0700, and links from the node folder', () => {
    const run = join(base, 'run');
    mkdirSync(run, { mode: 0o700 });
    const p = chooseSocketPath({ node: 'ship1', nodeFolder: '/srv/ship1' }, { XDG_RUNTIME_DIR: run });
    assert.deepEqual(p, { path: join(run, 'steward', 'ship1.sock'), link: '/srv/ship1/steward.sock' });
    assert.equal(statSync(join(run, 'steward')).mode & 0o777, 0o700);
  });

  it('falls back to the node folder when the runtime dir is not private, missing, or relative', () => {
    const open = join(base, 'open');
    mkdirSync(open);
    chmodSync(open, 0o777);
    const p = chooseSocketPath({ node: 'ship1', nodeFolder: '/srv/ship1' }, { XDG_RUNTIME_DIR: open });
    assert.equal(p.path, '/srv/ship1/steward.sock');
    assert.match(p.fallbackReason ?? '', /mode 777; it must be 700/);
    assert.match(
      chooseSocketPath({ node: 'a', nodeFolder: '/f' }, { XDG_RUNTIME_DIR: join(base, 'missing') }).fallbackReason ?? '',
      /ENOENT/,
    );
    assert.match(
      chooseSocketPath({ node: 'a', nodeFolder: '/f' }, { XDG_RUNTIME_DIR: 'run' }).fallbackReason ?? '',
      /not an absolute path/,
    );
    assert.equal(privateDirProblem(open), `${open} has mode 777; it must be 700`);
  });

  it('falls back when the socket path would be too long for a unix socket', () => {
    const deep = join(base, 'x'.repeat(90));
    mkdirSync(deep, { mode: 0o700 });
    const p = chooseSocketPath({ node: 'a-rather-long-node-name', nodeFolder: '/f' }, { XDG_RUNTIME_DIR: deep });
    assert.equal(p.path, '/f/steward.sock');
    assert.match(p.fallbackReason ?? '', /longer than 107 bytes/);
  });
});
