// Batched appends (several queued TextLogging messages in one write): the
// progress of each message must let it be re-run alone after a crash with
// the same end result, whatever part of the batch reached the file.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, truncateSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import type { WireMessage } from '@steward/core';
import { defaultConfig } from '../src/node/config.js';
import { textLogging } from '../src/methods/textLogging.js';
import type { PrepareContext } from '../src/methods/types.js';
import type { NodeServices } from '../src/node/services.js';

const root = mkdtempSync(join(tmpdir(), 'steward-batch-'));
after(() => rmSync(root, { recursive: true, force: true }));

const subject = 'central.EventACK.TextLogging';
const config = defaultConfig('central', join(root, 'node'));
const services = { config } as unknown as NodeServices;
const msg = (id: string, text: string, extra: Partial<WireMessage> = {}): WireMessage => ({
  id,
  fromNode: 'ship1',
  createdAt: 0,
  toNode: 'central',
  method: 'TextLogging',
  commandOrEvent: 'EventACK',
  data: [text],
  timeout: 1,
  retries: 0,
  methodTimeout: 1,
  ...extra,
});
const ctx = (m: WireMessage): PrepareContext => ({ services, message: m, subject });
const file = join(config.dataFolder, 'ship1', `${subject}.log`);
// Multi-byte text, and a lone surrogate at the end of one message followed by one at the start of the next.
const texts = ['one\n', 'zwei ü\n', 'три 🚢\n', 'x\ud800', '\udc00y\n'];
const expectedBytes = Buffer.concat(texts.map((t) => Buffer.from(t)));

describe('TextLogging batches', () => {
  const batch = textLogging.batch!;

  it('shares a key only between messages that write the same file', () => {
    const a = batch.key(ctx(msg('a', 'x')));
    assert.equal(batch.key(ctx(msg('b', 'y'))), a);
    assert.notEqual(batch.key(ctx(msg('c', 'x', { fromNode: 'ship2' }))), a);
    assert.notEqual(batch.key(ctx(msg('d', 'x', { fileName: 'other.log' }))), a);
    assert.notEqual(batch.key(ctx(msg('e', 'x', { directory: 'logs' }))), a);
    assert.notEqual(batch.key({ services, message: msg('f', 'x'), subject: 'central.EventACK.ECHOReply' }), a);
  });

  it('writes every text once, in order, byte for byte', async () => {
    mkdirSync(join(config.dataFolder, 'ship1'), { recursive: true });
    writeFileSync(file, 'before\n');
    const ctxs = texts.map((t, i) => ctx(msg(`m${i}`, t)));
    const progress = await batch.prepare(ctxs);
    const outcomes = await batch.run(ctxs.map((c, i) => ({ ctx: c, progress: progress[i] })));
    assert.deepEqual(
      outcomes.map((o) => o.ok),
      texts.map(() => true),
    );
    assert.deepEqual(readFileSync(file), Buffer.concat([Buffer.from('before\n'), expectedBytes]));
    // Each message starts where the one before it ends.
    let at = Buffer.byteLength('before\n');
    progress.forEach((p, i) => {
      assert.deepEqual(p, { file, size: at }, `progress of message ${i}`);
      at += Buffer.from(texts[i]!).length;
    });
  });

  it('keeps what another writer appended after the size was recorded (no cut-back outside a resumed run)', async () => {
    writeFileSync(file, 'before\n');
    const ctxs = ['a\n', 'b\n'].map((t, i) => ctx(msg(`w${i}`, t)));
    const progress = await batch.prepare(ctxs);
    // ErrorLog and REQErrorLog, say, append to one file from two lanes.
    writeFileSync(file, 'other writer\n', { flag: 'a' });
    await batch.run(ctxs.map((c, i) => ({ ctx: c, progress: progress[i] })));
    assert.equal(readFileSync(file, 'utf8'), 'before\nother writer\na\nb\n');
  });

  it('gives the same file when a crash cut the batch anywhere and each message is re-run alone', async () => {
    for (let cut = 0; cut <= expectedBytes.length; cut += 3) {
      writeFileSync(file, 'before\n');
      const ctxs = texts.map((t, i) => ctx(msg(`m${i}`, t)));
      const progress = await batch.prepare(ctxs);
      await batch.run(ctxs.map((c, i) => ({ ctx: c, progress: progress[i] })));
      // The crash: only `cut` bytes of the batch reached the disk.
      truncateSync(file, Buffer.byteLength('before\n') + cut);
      // Recovery re-runs every message still marked running, in order, with its own progress.
      for (let i = 0; i < ctxs.length; i++) {
        await textLogging.run({
          ...ctxs[i]!,
          progress: progress[i],
          resumed: true,
          signal: new AbortController().signal,
          emit: async () => {},
        });
      }
      assert.deepEqual(readFileSync(file), Buffer.concat([Buffer.from('before\n'), expectedBytes]), `cut after ${cut} bytes`);
    }
  });
});
