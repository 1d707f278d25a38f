/** `--where`: parsing fact conditions and choosing nodes by their facts (no node needed). */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { NodeStatus } from '@steward/node';
import { UsageError } from '../src/errors.js';
import { factsLine, parseWhere, selectByFacts } from '../src/where.js';

const node = (name: string, facts: Record<string, string>, extra: Partial<NodeStatus> = {}): NodeStatus => ({
  name,
  alive: true,
  lastSeen: 0,
  firstSeen: 0,
  ageSeconds: 1,
  info: '',
  facts,
  ...extra,
});

describe('--where', () => {
  it('parses fact=value conditions, repeated or comma-separated, with globs in values', () => {
    const c = parseWhere(['arch=arm64', 'tag:site=north,kernel=6.1*']);
    assert.deepEqual(
      c.map((x) => [x.name, x.value]),
      [
        ['arch', 'arm64'],
        ['tag:site', 'north'],
        ['kernel', '6.1*'],
      ],
    );
    assert.equal(c[2]!.matches('6.1.0-18-arm64'), true);
    assert.equal(c[2]!.matches('5.10.0'), false);
    assert.equal(c[0]!.matches(undefined), false, 'a node without the fact does not match');
    assert.equal(parseWhere(['version=0.1.0'])[0]!.matches('0x1x0'), false, 'a dot is a dot, not any character');
  });

  it('refuses what is not a condition, naming the facts', () => {
    assert.throws(
      () => parseWhere(['arm64']),
      (e: unknown) => e instanceof UsageError && /write fact=value/.test(e.message),
    );
    assert.throws(() => parseWhere(['site=north']), /no fact "site".*write tag:site=north/);
    assert.throws(() => parseWhere(['arch=']), /give a value/);
  });

  it('selects the alive matches with an approved key, and tells apart the stale and the unapproved ones', () => {
    const reg = [
      node('b-north', { 'tag:site': 'north', arch: 'arm64' }),
      node('a-north', { 'tag:site': 'north', arch: 'x64' }),
      node('south', { 'tag:site': 'south', arch: 'arm64' }),
      node('old', { 'tag:site': 'north' }, { alive: false }),
      node('rogue', { 'tag:site': 'north' }, { keyApproved: false }),
    ];
    const sel = selectByFacts(parseWhere(['tag:site=north']), reg);
    assert.deepEqual(
      sel.nodes.map((n) => n.name),
      ['a-north', 'b-north'],
    );
    assert.deepEqual(
      sel.stale.map((n) => n.name),
      ['old'],
    );
    assert.deepEqual(
      sel.unapproved.map((n) => n.name),
      ['rogue'],
    );
    assert.deepEqual(
      selectByFacts(parseWhere(['tag:site=north', 'arch=arm64']), reg).nodes.map((n) => n.name),
      ['b-north'],
    );
  });

  it('writes facts on one line, tags last', () => {
    assert.equal(factsLine(node('x', { 'tag:site': 'north', os: 'linux', arch: 'arm64' })), 'arch=arm64 os=linux tag:site=north');
  });
});
