/**
 * Two methods that append to one file: `ErrorLog` and `REQErrorLog` both
 * write `<dataFolder>/errorLog.log` on the central error logger, from two
 * subjects (two lanes). An append records the file's size before it writes,
 * and a run cut by a crash is redone by first cutting the file back to that
 * size; these tests check that this never removes the other method's lines.
 */
import assert from 'node:assert/strict';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';

import { Journal, type WireMessage } from '@steward/core';

import {
  cleanupHarness,
  inboxRows,
  makeTempDir,
  readFileOr,
  startNatsServer,
  startNode,
  tailLines,
  waitFor,
  type NatsServerHandle,
} from './helpers/index.js';

after(cleanupHarness);

/** An error report from `fromNode` to central, as it travels. */
function report(id: string, method: 'ErrorLog' | 'REQErrorLog', fromNode: string, text: string, createdAt: number): WireMessage {
  return {
    id,
    fromNode,
    toNode: 'central',
    method,
    commandOrEvent: 'EventACK',
    data: [text],
    createdAt,
    timeout: 5,
    retries: 3,
    methodTimeout: 10,
  };
}

/** The line ErrorLog writes for a report. */
function lineOf(m: WireMessage): string {
  return `${new Date(m.createdAt).toISOString()} ${m.fromNode}: ${m.data.join(' ')}\n`;
}

describe('appends of two methods to one file', () => {
  let nats: NatsServerHandle;

  before(async () => {
    nats = await startNatsServer();
  });

  it('a crash-cut append is redone first on its file: the other method’s line is neither cut nor doubled', async () => {
    const folder = join(await makeTempDir('steward-shared-file-'), 'central');
    const file = join(folder, 'data', 'errorLog.log');
    const earlier = '2026-01-01T00:00:00.000Z ship9: an earlier line\n';
    // The state a SIGKILL leaves: REQErrorLog was appending (its size recorded, half its line
    // written); an ErrorLog report had arrived and waited for the file.
    const cut = report('a0000000-0000-4000-8000-000000000001', 'REQErrorLog', 'ship1', 'disk full on /var', Date.UTC(2026, 0, 2));
    const waiting = report('b0000000-0000-4000-8000-000000000002', 'ErrorLog', 'ship2', 'cannot reach ship3', Date.UTC(2026, 0, 3));
    await mkdir(join(folder, 'data'), { recursive: true });
    await writeFile(file, earlier + lineOf(cut).slice(0, 20));
    const journal = Journal.open(join(folder, 'state', 'journal.db'));
    await journal.insertInboxRunning(cut, 'central.EventACK.REQErrorLog', { file, size: Buffer.byteLength(earlier) });
    await journal.insertInbox(waiting, 'central.EventACK.ErrorLog');
    journal.close();

    // ErrorLog's subscriber starts before REQErrorLog's: without the file taken by the cut run
    // first, the waiting report would append after the half line, and the cut-back remove it.
    const central = await startNode({ name: 'central', folder, brokerHostPort: nats.hostPort, args: ['--centralErrorLogger'] });
    const finished = (): boolean => {
      const rows = inboxRows(central).filter((r) => r.id === cut.id || r.id === waiting.id);
      return rows.length === 2 && rows.every((r) => r.state === 'succeeded');
    };
    await waitFor(finished, {
      timeoutMs: 30_000,
      message: () => `the two reports did not both run: ${JSON.stringify(inboxRows(central))}\n${tailLines(central.log(), 15)}`,
    });
    assert.equal(await readFile(file, 'utf8'), earlier + lineOf(cut) + lineOf(waiting));
    await central.stop();
  });

  it('in normal operation, appends to one file from two subjects never run at the same time', async () => {
    const folder = join(await makeTempDir('steward-shared-file-'), 'central');
    const central = await startNode({ name: 'central', folder, brokerHostPort: nats.hostPort, args: ['--centralErrorLogger'] });
    const tag = `t${Date.now()}`;
    const n = 60;
    const entries = [];
    for (let i = 0; i < n; i++) {
      for (const method of ['ErrorLog', 'REQErrorLog']) {
        entries.push({ toNode: 'central', method, commandOrEvent: 'EventACK', data: [`${tag} ${method} ${i}`] });
      }
    }
    await central.inmsg(JSON.stringify(entries) + '\n');
    const file = join(folder, 'data', 'errorLog.log');
    const ours = () => inboxRows<{ data: string[] }, unknown>(central).filter((r) => r.message.data.join(' ').startsWith(tag));
    await waitFor(() => ours().length === 2 * n && ours().every((r) => r.state === 'succeeded'), {
      timeoutMs: 60_000,
      message: () => `${ours().filter((r) => r.state === 'succeeded').length} of ${2 * n} ran\n${tailLines(central.log(), 15)}`,
    });
    // Every line once.
    const lines = readFileOr(file)
      .split('\n')
      .filter((l) => l.includes(tag));
    assert.equal(lines.length, 2 * n, `lines of this test in ${file}`);
    assert.equal(new Set(lines).size, 2 * n, 'no line twice');
    // From the recorded start to the recorded end, one append at a time.
    const spans = ours()
      .map((r) => ({ id: r.id, start: r.startedAt ?? 0, end: r.finishedAt ?? 0, subject: r.subject }))
      .sort((a, b) => a.start - b.start || a.end - b.end);
    for (let i = 1; i < spans.length; i++) {
      const [a, b] = [spans[i - 1]!, spans[i]!];
      assert.ok(b.start >= a.end, `${b.subject} ${b.id} started at ${b.start}, before ${a.subject} ${a.id} ended at ${a.end}`);
    }
    await central.stop();
  });
});
