import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { Journal, journalSchemaVersion, soonSyncMs } from '../src/journal.js';
import type { WireMessage } from '../src/message.js';

const dir = mkdtempSync(join(tmpdir(), 'steward-journal-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function msg(id: string, toNode = 'ship1'): WireMessage {
  return {
    id,
    fromNode: 'central',
    toNode,
    method: 'TextLogging',
    commandOrEvent: 'EventACK',
    data: [id],
    createdAt: Date.now(),
    timeout: 1,
    retries: 1,
    methodTimeout: 10,
  };
}

describe('journal', () => {
  it('finds a message by the start or the end of its id, not by the middle', async () => {
    const j = Journal.open(join(dir, 'parts.db'));
    const subject = 'ship1.EventACK.TextLogging';
    await j.submit([
      { message: msg('0190aaaa-0000-7000-8000-00000000beef'), subject },
      { message: msg('0190aaaa-0001-7000-8000-0000cafe0001'), subject },
    ]);
    await j.insertInbox(msg('0190bbbb-0000-7000-8000-0000feed0002'), subject);
    assert.deepEqual(j.findIdsByPart('000000beef', 5), ['0190aaaa-0000-7000-8000-00000000beef']);
    assert.deepEqual(j.findIdsByPart('feed0002', 5), ['0190bbbb-0000-7000-8000-0000feed0002'], 'inbox too');
    assert.deepEqual(j.findIdsByPart('0190aaaa-0001', 5), ['0190aaaa-0001-7000-8000-0000cafe0001'], 'by the start');
    assert.deepEqual(j.findIdsByPart('0190aaaa', 5).sort(), [
      '0190aaaa-0000-7000-8000-00000000beef',
      '0190aaaa-0001-7000-8000-0000cafe0001',
    ]);
    assert.deepEqual(j.findIdsByPart('7000-8000', 5), [], 'the middle finds nothing');
    j.close();
  });

  it('keeps submitted messages across a reopen, in order, until they are finished', async () => {
    const path = join(dir, 'a.db');
    let j = Journal.open(path);
    const subject = 'ship1.EventACK.TextLogging';
    const res = await j.submit([1, 2, 3].map((i) => ({ message: msg(`m${i}`), subject })));
    assert.deepEqual(
      res.map((r) => r.duplicate),
      [false, false, false],
    );
    await j.updateOutbox('m1', { state: 'delivered', attempts: 1, finishedAt: Date.now() });
    await j.updateOutbox('m2', { state: 'awaitingAck', attempts: 2 });
    j.close();
    j = Journal.open(path);
    const open = j.openOutbox(subject);
    assert.deepEqual(
      open.map((r) => [r.id, r.state, r.attempts]),
      [
        ['m2', 'awaitingAck', 2],
        ['m3', 'queued', 0],
      ],
    );
    assert.deepEqual(j.openSubjects(), [subject]);
    assert.equal(j.countOpenOutbox(), 2);
    j.close();
  });

  it('syncs a write nobody waits on with the next write waited on, or after soonSyncMs alone, and settles it only then', async () => {
    const subject = 'ship1.EventACK.TextLogging';
    // The timer is out of reach: only the write waited on can sync the soon one.
    let j = Journal.open(join(dir, 'soon-shared.db'), { soonSyncMs: 600_000 });
    await j.submit([1, 2].map((i) => ({ message: msg(`s${i}`), subject })));
    const before = j.syncs;
    let soonSettled = false;
    const soon = j.updateOutbox('s1', { state: 'delivered', attempts: 1, finishedAt: Date.now() }, { soon: true }).then(() => {
      soonSettled = true;
    });
    await new Promise((r) => setImmediate(r)); // its commit is made, alone
    await new Promise((r) => setImmediate(r));
    assert.equal(j.syncs, before, 'no sync started for the soon write alone');
    assert.equal(soonSettled, false, 'not settled before it is synced');
    await j.updateOutbox('s2', { state: 'awaitingAck', attempts: 1 });
    await soon;
    assert.equal(j.syncs, before + 1, 'one sync for both');
    j.close();

    // Alone, it is synced once the timer fires.
    j = Journal.open(join(dir, 'soon-alone.db'));
    await j.submit([{ message: msg('s3'), subject }]);
    const started = performance.now();
    const syncs = j.syncs;
    await j.updateOutbox('s3', { state: 'delivered', attempts: 1, finishedAt: Date.now() }, { soon: true });
    assert.ok(performance.now() - started >= soonSyncMs - 1, 'its sync waited for the timer');
    assert.equal(j.syncs, syncs + 1);
    j.close();
    j = Journal.open(join(dir, 'soon-alone.db'));
    assert.equal(j.getOutbox('s3')?.state, 'delivered');
    j.close();
  });

  it('stores a source key once: a resubmitted inmsg entry is reported as a duplicate', async () => {
    const j = Journal.open(join(dir, 'b.db'));
    const [first] = await j.submit([{ message: msg('a1'), subject: 's.EventACK.TextLogging', sourceKey: 'inmsg:f:0:0' }]);
    const [again] = await j.submit([{ message: msg('a2'), subject: 's.EventACK.TextLogging', sourceKey: 'inmsg:f:0:0' }]);
    assert.equal(first?.duplicate, false);
    assert.equal(again?.duplicate, true);
    assert.equal(again?.id, 'a1');
    assert.equal(j.countOpenOutbox(), 1);
    j.close();
  });

  it('one failing write in a batch does not undo the others', async () => {
    const j = Journal.open(join(dir, 'c.db'));
    const ok = j.insertInbox(msg('i1'), 'ship1.EventACK.TextLogging');
    const dup = j.insertInbox(msg('i1'), 'ship1.EventACK.TextLogging');
    const ok2 = j.insertInbox(msg('i2'), 'ship1.EventACK.TextLogging');
    await ok;
    await assert.rejects(dup, /journal write failed/);
    await ok2;
    assert.deepEqual(
      j.openInbox().map((r) => r.id),
      ['i1', 'i2'],
    );
    j.close();
  });

  it('records a result and its reply message in one transaction', async () => {
    const j = Journal.open(join(dir, 'd.db'));
    await j.insertInbox(msg('r1'), 'ship1.EventACK.CLICommandRequest');
    const reply = msg('reply-1', 'central');
    await j.updateInbox(
      'r1',
      { state: 'succeeded', result: { id: 'r1', node: 'ship1', status: 'succeeded', output: 'x' }, finishedAt: Date.now() },
      { message: reply, subject: 'central.EventACK.CLICommandReply', sourceKey: 'reply:r1' },
    );
    // A second finish (re-run after a crash) must not queue a second reply.
    await j.updateInbox(
      'r1',
      { state: 'succeeded' },
      { message: msg('reply-2', 'central'), subject: 'central.EventACK.CLICommandReply', sourceKey: 'reply:r1' },
    );
    assert.equal(j.getInbox('r1')?.result?.output, 'x');
    assert.deepEqual(
      j.openOutbox('central.EventACK.CLICommandReply').map((r) => r.id),
      ['reply-1'],
    );
    assert.equal(j.openInbox().length, 0);
    j.close();
  });

  it('prunes finished messages older than the retention', async () => {
    const j = Journal.open(join(dir, 'e.db'));
    await j.submit([{ message: msg('p1'), subject: 'x.EventACK.TextLogging' }]);
    await j.updateOutbox('p1', { state: 'delivered', finishedAt: 1000 });
    await j.insertInbox(msg('p2'), 'x.EventACK.TextLogging');
    await j.updateInbox('p2', { state: 'succeeded', finishedAt: 1000 });
    assert.deepEqual(await j.prune(2000), { outbox: 1, inbox: 1 });
    assert.equal(j.getOutbox('p1'), undefined);
    j.close();
  });

  it('records hellos in the node registry', async () => {
    const j = Journal.open(join(dir, 'f.db'));
    await j.recordHello('ship1', 'steward 0.1.0');
    await j.recordHello('ship1', 'steward 0.1.1');
    const nodes = j.listNodes();
    assert.equal(nodes.length, 1);
    assert.equal(nodes[0]?.info, 'steward 0.1.1');
    j.close();
  });

  it('names the file when it cannot be opened', () => {
    const blocker = join(dir, 'a-file');
    writeFileSync(blocker, '');
    const path = join(blocker, 'journal.db');
    assert.throws(
      () => Journal.open(path),
      (err: Error) => err.message.startsWith(`cannot open journal ${path}`),
    );
  });
});

describe('journal upgrade', () => {
  it('reuses a journal of schema version 1 (the first release): its queued and received messages stay, and replies are checked from now on', async () => {
    const path = join(dir, 'v1.db');
    // The tables as version 1 made them, frozen here: the file an older node leaves behind.
    const old = new Database(path);
    old.pragma('journal_mode = WAL');
    old.exec(`
      CREATE TABLE outbox (seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL UNIQUE, source_key TEXT UNIQUE,
        subject TEXT NOT NULL, message TEXT NOT NULL, state TEXT NOT NULL, attempts INTEGER NOT NULL DEFAULT 0,
        snapshot TEXT, reply TEXT, last_error TEXT, created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL, finished_at INTEGER);
      CREATE INDEX outbox_open ON outbox (subject, seq) WHERE state NOT IN ('delivered','expired');
      CREATE INDEX outbox_finished ON outbox (finished_at) WHERE finished_at IS NOT NULL;
      CREATE TABLE inbox (seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL UNIQUE, subject TEXT NOT NULL,
        message TEXT NOT NULL, state TEXT NOT NULL, result TEXT, progress TEXT, received_at INTEGER NOT NULL,
        started_at INTEGER, finished_at INTEGER);
      CREATE INDEX inbox_open ON inbox (seq) WHERE state IN ('received','running');
      CREATE TABLE nodes (name TEXT PRIMARY KEY, first_seen INTEGER NOT NULL, last_seen INTEGER NOT NULL, info TEXT NOT NULL DEFAULT '');
      PRAGMA user_version = 1;
    `);
    const now = Date.now();
    const insertOut = old.prepare(
      `INSERT INTO outbox (id, subject, message, state, attempts, created_at, updated_at) VALUES (?, ?, ?, 'queued', 0, ?, ?)`,
    );
    insertOut.run('q1', 'ship1.EventACK.TextLogging', JSON.stringify(msg('q1')), now, now);
    insertOut.run('q2', 'ship1.EventACK.TextLogging', JSON.stringify(msg('q2')), now, now);
    // A reply an older node took without checking who sent it.
    const reply = { ...msg('r1', 'central'), fromNode: 'ship2', method: 'CLICommandReply', previousMessageId: 'q1' };
    old
      .prepare(`INSERT INTO inbox (id, subject, message, state, received_at) VALUES (?, ?, ?, 'received', ?)`)
      .run('r1', 'central.EventACK.CLICommandReply', JSON.stringify(reply), now);
    old.close();

    const j = Journal.open(path);
    try {
      assert.deepEqual(
        j.openOutbox('ship1.EventACK.TextLogging').map((r) => r.id),
        ['q1', 'q2'],
        'queued work survives the upgrade, in order',
      );
      assert.equal(j.openInbox()[0]?.id, 'r1', 'a received message still runs');
      assert.equal(j.findReplyTo('q1'), undefined, 'an unchecked reply of the old version is not shown as the answer');
      await j.insertInbox({ ...reply, id: 'r2', fromNode: 'ship1' }, 'central.EventACK.CLICommandReply', 'q1');
      assert.equal(j.findReplyTo('q1')?.id, 'r2');
    } finally {
      j.close();
    }
    const check = new Database(path, { readonly: true });
    assert.equal(check.pragma('user_version', { simple: true }), journalSchemaVersion);
    check.close();
  });

  it('refuses a journal of a newer version than it understands', () => {
    const path = join(dir, 'future.db');
    const db = new Database(path);
    db.pragma(`user_version = ${journalSchemaVersion + 1}`);
    db.close();
    assert.throws(() => Journal.open(path), /schema version \d+ is newer than this steward understands/);
  });
});
