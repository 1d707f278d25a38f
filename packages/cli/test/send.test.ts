/**
 * Unit tests of `steward send`'s pieces that need no node: target lists and
 * globs, exit codes, the printed report, and where the socket is looked for.
 */
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { describe, it } from 'node:test';
import type { NodeStatus, SendResult } from '@steward/node';
import { socketCandidates } from '../src/clientSocket.js';
import { UsageError } from '../src/errors.js';
import { exitCodeFor, SendReport } from '../src/sendReport.js';
import { expandGroups, globToRegExp, parseGroups, resolveTargets, splitTargets } from '../src/targets.js';

const node = (name: string, alive = true): NodeStatus => ({ name, alive, lastSeen: 0, firstSeen: 0, ageSeconds: alive ? 1 : 99, info: '' });

describe('targets', () => {
  it('splits comma lists and drops repeats', () => {
    assert.deepEqual(splitTargets(['ship1, ship2', 'ship2,web*', '']), ['ship1', 'ship2', 'web*']);
  });

  it('turns globs into anchored expressions over node names', () => {
    assert.ok(globToRegExp('ship*').test('ship12'));
    assert.ok(!globToRegExp('ship*').test('aship1'));
    assert.ok(globToRegExp('web-?').test('web-1'));
    assert.ok(!globToRegExp('web-?').test('web-12'));
    assert.ok(globToRegExp('db[12]').test('db2'));
    assert.ok(!globToRegExp('db[!12]').test('db2'));
    assert.ok(globToRegExp('n[a-c]').test('nb'));
    assert.throws(() => globToRegExp('ship[1'), UsageError);
    assert.throws(() => globToRegExp('ship.*'), UsageError);
  });

  it('resolves globs to alive nodes only, sorted, after literal names kept as given', () => {
    const registry = [node('ship2'), node('ship1'), node('ship3', false), node('web1')];
    const r = resolveTargets(['ghost', 'ship*'], registry);
    assert.deepEqual(r.nodes, ['ghost', 'ship1', 'ship2']);
    assert.deepEqual(
      r.stale.map((n) => n.name),
      ['ship3'],
    );
    assert.throws(() => resolveTargets(['db*'], registry), /no alive node with an approved key in the registry matches "db\*"/);
    assert.throws(() => resolveTargets(['ship3*'], registry), /\(1 left out: ship3, stale\)/);
    assert.throws(() => resolveTargets(['bad name'], registry), UsageError);
  });

  it('never lets a glob match a node whose key central has not approved (a name anyone on the broker can claim)', () => {
    const registry = [node('ship1'), { ...node('ship2'), keyApproved: false }, { ...node('shipx'), keyApproved: false }];
    const r = resolveTargets(['ship*'], registry);
    assert.deepEqual(r.nodes, ['ship1']);
    assert.deepEqual(
      r.unapproved.map((n) => n.name),
      ['ship2', 'shipx'],
    );
    assert.throws(() => resolveTargets(['shipx*'], registry), /\(1 left out: shipx, key not approved\)/);
  });
});

describe('groups', () => {
  it('expands @group targets from the groups file, keeping order and dropping repeats', () => {
    const groups = parseGroups('{"web":["web1","web*"],"db":["db1","web1"]}', 'groups.json');
    assert.deepEqual(expandGroups(['@web', 'x', '@db'], groups, 'groups.json'), ['web1', 'web*', 'x', 'db1']);
    assert.throws(() => expandGroups(['@nope'], groups, 'groups.json'), /no group "nope" in groups.json \(groups: web, db\)/);
    assert.throws(() => expandGroups(['@web'], undefined, 'g.json'), /no group "web" in g.json/);
  });

  it('refuses a groups file that is not an object of string arrays, or nests groups', () => {
    assert.throws(() => parseGroups('[1]', 'g.json'), UsageError);
    assert.throws(() => parseGroups('{"a":"b"}', 'g.json'), /group "a" must be an array/);
    assert.throws(() => parseGroups('{"a":["@b"]}', 'g.json'), /do not nest/);
    assert.throws(() => parseGroups('{', 'g.json'), /not JSON/);
  });
});

describe('exit codes', () => {
  it('0 all ok; 1 all failed; 3 all unreachable; 5 mixed', () => {
    assert.equal(exitCodeFor(['ok', 'ok']), 0);
    assert.equal(exitCodeFor(['failed']), 1);
    assert.equal(exitCodeFor(['expired']), 3);
    assert.equal(exitCodeFor(['noReply', 'expired']), 3);
    assert.equal(exitCodeFor(['ok', 'expired']), 5);
    assert.equal(exitCodeFor(['failed', 'expired']), 5);
    assert.equal(exitCodeFor(['ok', 'failed']), 5);
  });
});

describe('SendReport', () => {
  const result = (toNode: string, status: SendResult['status'], extra: Partial<SendResult> = {}): SendResult => ({
    id: `id-${toNode}`,
    toNode,
    method: 'CLICommand',
    attempts: 1,
    status,
    ...extra,
  });
  const capture = () => {
    const s = new PassThrough();
    let text = '';
    s.setEncoding('utf8').on('data', (d: string) => (text += d));
    return { stream: s, text: () => text };
  };

  it('fan-out: prefixes output by node, prints failures and the summary', () => {
    const out = capture();
    const err = capture();
    const r = new SendReport({ json: false, total: 3, multi: true, perNode: true, live: false, out: out.stream, err: err.stream });
    r.result(result('a', 'succeeded', { output: 'one\ntwo\n', exitCode: 0 }));
    r.result(result('b', 'failed', { output: 'bad', exitCode: 2, error: 'x: exit code 2' }));
    r.result(result('c', 'expired', { attempts: 2, error: 'delivery expired after 2 attempt(s): no responders' }));
    assert.equal(r.finish(), 5);
    const text = out.text();
    assert.match(text, /^a: one\na: two\nb: bad\nb: steward: CLICommand failed \(exit code 2\)\nc: steward: delivery expired/);
    assert.match(text, /Finished processing 3\/3 nodes: 1 ok, 1 failed, 1 expired in \d+\.\d s\n/);
    assert.match(text, /Not ok:\n {2}b: CLICommand failed \(exit code 2\) \[id id-b\]\n {2}c: delivery expired/);
    assert.equal(err.text(), '', 'no progress line when not live');
  });

  it('one message: the output as it is, the failure on stderr, no summary', () => {
    const out = capture();
    const err = capture();
    const r = new SendReport({ json: false, total: 1, multi: false, perNode: true, live: false, out: out.stream, err: err.stream });
    r.result(result('a', 'failed', { output: 'partial', exitCode: 3, error: 'sh: exit code 3' }));
    assert.equal(r.finish(), 1);
    assert.equal(out.text(), 'partial');
    assert.equal(err.text(), 'steward: a: CLICommand failed (exit code 3)\n');
  });

  it('draws N/M replied on a terminal and clears it before printing', () => {
    const out = capture();
    const err = capture();
    const r = new SendReport({ json: false, total: 2, multi: true, perNode: true, live: true, out: out.stream, err: err.stream });
    r.progress({ toNode: 'a', state: 'awaitingAck', attempts: 1 });
    r.result(result('a', 'succeeded'));
    assert.equal(err.text(), '\r\x1b[K0/2 replied\r\x1b[K\r\x1b[K1/2 replied');
    r.result(result('b', 'succeeded'));
    assert.equal(r.finish(), 0);
    assert.ok(err.text().endsWith('\r\x1b[K'), 'the line is cleared at the end');
  });

  it('--json: one object per result and a summary, never a progress line', () => {
    const out = capture();
    const err = capture();
    const r = new SendReport({ json: true, total: 1, multi: false, perNode: true, live: true, out: out.stream, err: err.stream });
    r.progress({ toNode: 'a', state: 'sending', attempts: 1 });
    r.result(result('a', 'succeeded', { output: 'x' }));
    assert.equal(r.finish(), 0);
    const lines = out
      .text()
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    assert.equal(lines[0]?.type, 'result');
    assert.equal(lines[0]?.ok, true);
    assert.equal(lines[1]?.type, 'summary');
    assert.equal(lines[1]?.exitCode, 0);
    assert.equal(err.text(), '');
  });
});

describe('socketCandidates', () => {
  it('an explicit socket alone; else the node folder, then the runtime dir for --node', () => {
    assert.deepEqual(socketCandidates({ socket: 'x.sock' }, {}, '/w'), ['/w/x.sock']);
    assert.deepEqual(socketCandidates({}, { XDG_RUNTIME_DIR: '/run/user/1' }, '/w'), ['/w/steward.sock']);
    assert.deepEqual(socketCandidates({ node: 'ship1', nodeFolder: '/srv/ship1' }, { XDG_RUNTIME_DIR: '/run/user/1' }, '/w'), [
      '/srv/ship1/steward.sock',
      '/run/user/1/steward/ship1.sock',
    ]);
  });
});
