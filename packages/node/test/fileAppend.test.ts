import assert from 'node:assert/strict';
import { linkSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { appendAt, appendStart } from '../src/methods/fileAppend.js';

const root = mkdtempSync(join(tmpdir(), 'steward-append-'));
after(() => rmSync(root, { recursive: true, force: true }));

describe('appendAt', () => {
  it('appends text and bytes, creating the file and its folder', async () => {
    const file = join(root, 'new', 'a.log');
    await appendAt(await appendStart(file), 'one\n');
    await appendAt(await appendStart(file), Buffer.from('two\n'));
    assert.equal(readFileSync(file, 'utf8'), 'one\ntwo\n');
  });

  it('a resumed append cuts what its cut run wrote, so the text is in the file once', async () => {
    const file = join(root, 'resumed.log');
    writeFileSync(file, 'before\n');
    const progress = await appendStart(file);
    // The run before the crash got part of its text in.
    writeFileSync(file, 'before\nhal', { flag: 'a' });
    await appendAt(progress, 'half done\n', true);
    assert.equal(readFileSync(file, 'utf8'), 'before\nhalf done\n');
  });

  it('refuses a file with a second hard link and a symbolic link at its place, writing nothing', async () => {
    const elsewhere = join(root, 'elsewhere.txt');
    writeFileSync(elsewhere, 'secret\n');
    const door = join(root, 'door.log');
    linkSync(elsewhere, door);
    await assert.rejects(appendAt(await appendStart(door), 'planted\n'), /2 hard links/);
    const link = join(root, 'link.log');
    symlinkSync(elsewhere, link);
    await assert.rejects(appendAt({ file: link, size: 0 }, 'planted\n'), /ELOOP|symbolic/);
    assert.equal(readFileSync(elsewhere, 'utf8'), 'secret\n');
  });
});
