import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import type { WireMessage } from '@steward/core';
import { defaultConfig } from '../src/node/config.js';
import { confinedDir, isWithin, replyFile } from '../src/methods/writePath.js';
import { lineSplitter } from '../src/methods/lineStream.js';

const root = mkdtempSync(join(tmpdir(), 'steward-writepath-'));
after(() => rmSync(root, { recursive: true, force: true }));

const msg = (extra: Partial<WireMessage>): WireMessage => ({
  id: 'i',
  fromNode: 'ship1',
  createdAt: 0,
  toNode: 'central',
  method: 'REQToFileAppend',
  commandOrEvent: 'EventACK',
  data: [],
  timeout: 1,
  retries: 0,
  methodTimeout: 1,
  ...extra,
});

describe('write paths', () => {
  const config = { ...defaultConfig('central', join(root, 'node')), allowedWriteRoots: [join(root, 'allowed')] };

  it('isWithin', () => {
    assert.equal(isWithin('/a/b', '/a/b'), true);
    assert.equal(isWithin('/a/b', '/a/b/c'), true);
    assert.equal(isWithin('/a/b', '/a/bc'), false);
    assert.equal(isWithin('/a/b', '/a'), false);
    assert.equal(isWithin('/a/b', '/a/b/..x'), true);
  });

  it('puts replies at <dataFolder>/<directory>/<fromNode>/<fileName>, defaulting to the seed name', async () => {
    assert.equal(await replyFile(config, msg({}), 'central.EventACK.X'), join(config.dataFolder, 'ship1', 'central.EventACK.X.log'));
    assert.equal(
      await replyFile(config, msg({ directory: 'a/b/', fileName: 'f.txt' }), 's'),
      join(config.dataFolder, 'a', 'b', 'ship1', 'f.txt'),
    );
    assert.equal(
      await replyFile(config, msg({ directory: join(root, 'allowed', 'x') }), 's'),
      join(root, 'allowed', 'x', 'ship1', 's.log'),
    );
  });

  it('refuses absolute folders outside the allowed roots, links out of the root, and a linked file', async () => {
    await assert.rejects(replyFile(config, msg({ directory: join(root, 'elsewhere') }), 's'), /not under an allowed root/);
    mkdirSync(join(root, 'outside'));
    symlinkSync(join(root, 'outside'), join(config.dataFolder, 'out'));
    await assert.rejects(replyFile(config, msg({ directory: 'out/deeper' }), 's'), /leads outside/);
    assert.equal(existsSync(join(root, 'outside', 'deeper')), false, 'nothing created beyond the link');
    mkdirSync(join(config.dataFolder, 'in'));
    symlinkSync(join(config.dataFolder, 'in'), join(config.dataFolder, 'inlink'));
    assert.equal(await confinedDir(config.dataFolder, ['inlink', 'x']), join(config.dataFolder, 'in', 'x'));
    mkdirSync(join(config.dataFolder, 'p', 'ship1'), { recursive: true });
    writeFileSync(join(root, 'outside', 'target'), '');
    symlinkSync(join(root, 'outside', 'target'), join(config.dataFolder, 'p', 'ship1', 'f'));
    await assert.rejects(replyFile(config, msg({ directory: 'p', fileName: 'f' }), 's'), /is a symbolic link/);
  });

  it('finds out what is not there yet without following a link out: a missing root, missing levels under a link, a link to nowhere', async () => {
    // A data folder not made yet is made, with the folders below it.
    const fresh = { ...config, dataFolder: join(root, 'fresh', 'data') };
    assert.equal(await replyFile(fresh, msg({ directory: 'x/y' }), 's'), join(root, 'fresh', 'data', 'x', 'y', 'ship1', 's.log'));
    assert.equal(existsSync(join(root, 'fresh', 'data', 'x', 'y', 'ship1')), true);
    // Several levels not there yet below a link into the node's state folder: refused before anything is made.
    mkdirSync(join(config.nodeFolder, 'state'), { recursive: true });
    symlinkSync(join(config.nodeFolder, 'state'), join(config.dataFolder, 'st'));
    await assert.rejects(replyFile(config, msg({ directory: 'st/a/b' }), 's'), /control folder \S*state/);
    assert.equal(existsSync(join(config.nodeFolder, 'state', 'a')), false, 'nothing made in the state folder');
    // A link to a place that does not exist: refused, and the place is not made.
    symlinkSync(join(root, 'nowhere'), join(config.dataFolder, 'dangling'));
    await assert.rejects(replyFile(config, msg({ directory: 'dangling/a' }), 's'), /symbolic link that leads outside/);
    assert.equal(existsSync(join(root, 'nowhere')), false);
  });
});

describe('lineSplitter', () => {
  it('emits whole lines in order and the rest at the end', async () => {
    const got: string[] = [];
    const s = lineSplitter((l) => {
      got.push(l);
      return Promise.resolve();
    });
    s.push('a\nb');
    s.push('c\n\nd');
    await s.end();
    assert.deepEqual(got, ['a\n', 'bc\n', '\n', 'd']);
  });
});
