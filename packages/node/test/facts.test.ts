/** A node's facts: read from the machine, STEWARD_TAGS and steward.json, sent in SayHello, read back from the registry. */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { arch, platform, tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { factElements, parseFacts, readNodeFacts } from '../src/node/facts.js';

const dir = mkdtempSync(join(tmpdir(), 'steward-facts-'));
after(() => rmSync(dir, { recursive: true, force: true }));

describe('node facts', () => {
  it('has the machine facts, and tags from steward.json and STEWARD_TAGS (the variable wins)', () => {
    writeFileSync(join(dir, 'steward.json'), JSON.stringify({ node: 'x', tags: { site: 'south', rack: 7 } }));
    const { facts, warnings } = readNodeFacts(dir, { STEWARD_TAGS: 'site=north, role=db' });
    assert.deepEqual(warnings, []);
    assert.equal(facts.os, platform());
    assert.equal(facts.arch, arch());
    assert.ok(facts.kernel);
    assert.equal(facts.version, '0.1.0');
    assert.equal(facts['tag:site'], 'north');
    assert.equal(facts['tag:role'], 'db');
    assert.equal(facts['tag:rack'], '7');
  });

  it('leaves out a tag that cannot travel, with a warning', () => {
    const { facts, warnings } = readNodeFacts(join(dir, 'none'), { STEWARD_TAGS: 'ok=1,bad name=x,novalue,spaced=a b' });
    assert.equal(facts['tag:ok'], '1');
    assert.equal(Object.keys(facts).filter((k) => k.startsWith('tag:')).length, 1);
    assert.equal(warnings.length, 3);
  });

  it('reads the facts back from the registry info, the key element ignored; an old hello still gives its version', () => {
    const info = ['steward 0.1.0', 'publicKey=MCowBQYDK2VwAyEAabc=', ...factElements({ arch: 'arm64', 'tag:site': 'north' })].join(' ');
    assert.deepEqual(parseFacts(info), { arch: 'arm64', 'tag:site': 'north', version: '0.1.0' });
    assert.deepEqual(parseFacts('steward 0.0.9 publicKey=MCowBQ'), { version: '0.0.9' });
    assert.deepEqual(parseFacts('steward 0.1.0 colour=red x arch=arm64'), { arch: 'arm64', version: '0.1.0' });
  });
});
