/**
 * The control-path rule of writePath.ts on real folders: no copy or reply
 * lands in the read folder, inmsg.txt and its siblings, state/, the journal,
 * the socket or the config file, whatever the roots say, and a link inside a
 * root does not get around it; in-place writes refuse a file with a second
 * hard link.
 */
import assert from 'node:assert/strict';
import { constants, existsSync, linkSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import type { WireMessage } from '@steward/core';
import { copyTarget } from '../src/methods/copy/copyDst.js';
import { defaultConfig } from '../src/node/config.js';
import { controlPaths, openInPlace, replyFile } from '../src/methods/writePath.js';

const root = mkdtempSync(join(tmpdir(), 'steward-controlpaths-'));
after(() => rmSync(root, { recursive: true, force: true }));

const msg = (extra: Partial<WireMessage>): WireMessage => ({
  id: 'i',
  fromNode: 'ship1',
  createdAt: 0,
  toNode: 'central',
  method: 'REQToFile',
  commandOrEvent: 'EventACK',
  data: [],
  timeout: 1,
  retries: 0,
  methodTimeout: 1,
  ...extra,
});

describe('control paths', () => {
  const node = join(root, 'node');
  const config = { ...defaultConfig('central', node), allowedWriteRoots: [join(root, 'roots')], journalPath: join(root, 'db', 'j.db') };

  it('lists the read folder, inmsg.*, keys, state, journal and its siblings, audit log, socket and config file', () => {
    const listed = controlPaths(config, {}).map((c) => `${c.kind} ${c.path}`);
    for (const want of [
      `folder ${join(node, 'readfolder')}`,
      `prefix ${join(node, 'inmsg.')}`,
      `folder ${join(node, 'state', 'keys')}`,
      `folder ${join(node, 'state')}`,
      `file ${join(root, 'db', 'j.db')}`,
      `file ${join(root, 'db', 'j.db-wal')}`,
      `file ${join(node, 'state', 'audit.log')}`,
      `file ${join(node, 'steward.sock')}`,
      `file ${join(node, 'steward.json')}`,
    ])
      assert.ok(listed.includes(want), `${want} in ${listed.join(', ')}`);
  });

  it('refuses copies into the default read folder, state/, over inmsg.txt and its .processing files, the socket, the config', async () => {
    for (const [dst, why] of [
      ['readfolder/evil.json', /inside the node's control folder \S*readfolder \(read folder\)/],
      ['readfolder/sub/evil.json', /control folder \S*readfolder \(read folder\)/],
      ['state/acl.json', /control folder \S*state \(state folder/],
      ['state/keys/trusted.json', /control folder \S*state\/keys \(keys\)/],
      ['inmsg.txt', /one of the node's control files \S*inmsg\.\* \(inmsg\.txt input\)/],
      ['inmsg.txt.1700000000000.processing', /one of the node's control files/],
      ['inmsg.rejected.txt', /one of the node's control files/],
      ['steward.sock', /control file \S*steward\.sock \(local API socket\)/],
      ['steward.json', /control file \S*steward\.json \(config file\)/],
    ] as const) {
      await assert.rejects(copyTarget(config, dst, 0o755), why, dst);
    }
    assert.equal(existsSync(join(node, 'readfolder', 'sub')), false, 'no folder was created inside the read folder');
    assert.equal(await copyTarget(config, 'incoming/ok.json', 0o755), join(node, 'incoming', 'ok.json'));
  });

  it('refuses an absolute destination on the journal, and a root that leads into the read folder through a link', async () => {
    await assert.rejects(
      copyTarget({ ...config, allowedWriteRoots: [join(root, 'db')] }, join(root, 'db', 'j.db-wal'), 0o755),
      /control file/,
    );
    mkdirSync(join(root, 'roots'), { recursive: true });
    mkdirSync(join(node, 'readfolder'), { recursive: true });
    symlinkSync(join(node, 'readfolder'), join(root, 'roots', 'alias'));
    await assert.rejects(
      copyTarget(config, join(root, 'roots', 'alias', 'x.json'), 0o755),
      /x\.json is inside the node's control folder \S*readfolder \(read folder\)/,
    );
  });

  it('refuses a reply whose <dataFolder>/<directory>/<fromNode> is a control folder (data folder = node folder)', async () => {
    const flat = { ...config, dataFolder: node };
    await assert.rejects(replyFile(flat, msg({ fromNode: 'state', fileName: 'acl.json' }), 's'), /control folder \S*state/);
    await assert.rejects(replyFile(flat, msg({ fromNode: 'readfolder', fileName: 'm.json' }), 's'), /read folder/);
    assert.equal(await replyFile(flat, msg({ fileName: 'ok.log' }), 's'), join(node, 'ship1', 'ok.log'));
  });

  it('opens a file to write in place only when it has one link', async () => {
    const outside = join(root, 'outside.txt');
    writeFileSync(outside, 'x');
    linkSync(outside, join(root, 'planted.log'));
    await assert.rejects(openInPlace(join(root, 'planted.log'), constants.O_WRONLY | constants.O_APPEND), /planted\.log has 2 hard links/);
    const { fh } = await openInPlace(join(root, 'fresh.log'), constants.O_WRONLY | constants.O_CREAT, 0o600);
    await fh.close();
  });
});
