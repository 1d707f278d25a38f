import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { Journal, subjectOf, toWireMessage } from '@steward/core';
import { defaultConfig } from '../src/node/config.js';
import { ReadFolderWatcher } from '../src/inputs/readFolder.js';
import type { NodeServices, SpecSubmission } from '../src/node/services.js';

const root = mkdtempSync(join(tmpdir(), 'steward-readfolder-'));
after(() => rmSync(root, { recursive: true, force: true }));

/** Just what the watcher uses of the node's services, with a journal that can "crash" after its commit. */
function services(journal: Journal, crashAfterCommit: { on: boolean }): NodeServices {
  const config = defaultConfig('central', join(root, 'node'));
  let n = 0;
  return {
    config,
    log: { info: () => undefined, warn: () => undefined },
    errors: { report: () => undefined },
    submit: async (items: SpecSubmission[]) => {
      const results = await journal.submit(
        items.map((i) => ({
          message: toWireMessage(
            i.spec,
            { fromNode: 'central', id: `m${n++}`, now: Date.now() },
            { timeout: 1, retries: 0, methodTimeout: 1 },
          ),
          subject: subjectOf(i.spec),
          ...(i.sourceKey ? { sourceKey: i.sourceKey } : {}),
        })),
      );
      if (crashAfterCommit.on) throw new Error('crash after the commit, before the file is removed');
      return results;
    },
  } as unknown as NodeServices;
}

describe('ReadFolderWatcher', () => {
  it('a file read again after a crash between journal and removal is not sent twice', async () => {
    const journal = Journal.open(join(root, 'journal.db'));
    const crash = { on: true };
    const s = services(journal, crash);
    mkdirSync(s.config.readFolder, { recursive: true });
    const file = join(s.config.readFolder, 'two.yaml');
    writeFileSync(file, '- {toNode: ship1, method: REQPing}\n- {toNode: ship2, method: REQPing}\n- {toNode: ship3, method: Nope}\n');
    const first = new ReadFolderWatcher(s, () => undefined);
    await assert.rejects(first.start(), /crash after the commit/);
    first.stop();
    assert.equal(existsSync(file), true, 'the file stays until its messages are durable');
    assert.equal(journal.countOpenOutbox(), 2);

    crash.on = false;
    // Failures are collected, not thrown: a scan the watcher's own events started may still be
    // on its way when stop() returns, and its late ENOENT (this file's folder is removed in
    // `after`) would surface as an unhandled rejection in whatever test runs next. The node
    // ignores what a stopped process reports, and so does this test.
    const failures: unknown[] = [];
    let stopped = false;
    const second = new ReadFolderWatcher(s, (err) => {
      if (!stopped) failures.push(err);
    });
    await second.start();
    stopped = true;
    second.stop();
    assert.deepEqual(failures.map(String), [], 'no failure while it ran');
    assert.equal(existsSync(file), false, 'removed once journaled');
    assert.equal(journal.countOpenOutbox(), 2, 'nothing sent twice');
    const rejected = readFileSync(join(s.config.readFolder, 'rejected', 'two.yaml.rejected.txt'), 'utf8');
    assert.match(rejected, /document 1, entry 3: field "method": unknown method "Nope"/);
    journal.close();
  });
});
