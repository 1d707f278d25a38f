/**
 * The order a subscriber runs what it received: one message after another
 * per lane, consecutive messages of one batch key run as one batch (at most
 * 512), NOSEQ messages at once up to the concurrency.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { WireMessage } from '@steward/core';
import { Lanes, type LaneItem, type LanesOptions } from '../src/execution/lanes.js';

/** A promise with its resolve function. */
function gate(): { open: () => void; opened: Promise<void> } {
  let open!: () => void;
  const opened = new Promise<void>((r) => (open = r));
  return { open, opened };
}

/** Resolves once `check` holds, polling each turn of the event loop. */
async function until(check: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setImmediate(r));
  }
}

/** An item: message `id` from `from` on `subject`, appending to `file` when given (kept in `data`). */
function item(id: string, subject: string, from = 'central', file?: string): LaneItem {
  const m: WireMessage = {
    id,
    fromNode: from,
    toNode: 'ship1',
    method: file ? 'FileAppend' : 'CLICommand',
    commandOrEvent: 'EventACK',
    data: file ? [file] : ['true'],
    createdAt: 1,
    timeout: 10,
    retries: 1,
    methodTimeout: 10,
  };
  return { m, subject, progress: undefined };
}

/** Lanes whose runs are recorded and wait for `release(id)` of their head. */
function recording(opts: Partial<LanesOptions>) {
  const runs: string[][] = [];
  const gates = new Map<string, ReturnType<typeof gate>>();
  let active = 0;
  let maxActive = 0;
  let stopped = false;
  /** How often the lanes asked whether the subscriber stopped, after it had. */
  let askedAfterStop = 0;
  const lanes = new Lanes({
    ordered: true,
    concurrency: () => 1,
    laneOf: (i) => i.subject,
    batchKeyOf: () => undefined,
    stopped: () => {
      if (stopped) askedAfterStop++;
      return stopped;
    },
    run: async (group) => {
      runs.push(group.map((i) => i.m.id));
      active++;
      maxActive = Math.max(maxActive, active);
      const g = gate();
      gates.set(group[0]!.m.id, g);
      await g.opened;
      active--;
    },
    ...opts,
  });
  return {
    lanes,
    runs,
    active: () => active,
    maxActive: () => maxActive,
    stop: () => (stopped = true),
    askedAfterStop: () => askedAfterStop,
    release: async (id: string) => {
      await until(() => gates.has(id), `${id} to run`);
      gates.get(id)!.open();
    },
  };
}

describe('Lanes', () => {
  it('runs one message after another per lane; another lane is not held up', async () => {
    const r = recording({});
    r.lanes.enqueue(item('a1', 'ship1.EventACK.A'));
    r.lanes.enqueue(item('a2', 'ship1.EventACK.A'));
    r.lanes.enqueue(item('b1', 'ship1.EventACK.B'));
    await until(() => r.runs.length === 2, 'a1 and b1 to run');
    assert.deepEqual(r.runs, [['a1'], ['b1']], 'a2 waits for a1; b1 runs alongside');
    await r.release('b1');
    await r.release('a1');
    await until(() => r.runs.length === 3, 'a2 to run');
    assert.deepEqual(r.runs[2], ['a2']);
    await r.release('a2');
    await until(() => r.active() === 0, 'all to end');
  });

  it('per-sender lanes: the same subject from two senders runs side by side, each sender in order', async () => {
    const r = recording({ laneOf: (i) => `${i.subject} ${i.m.fromNode}` });
    r.lanes.enqueue(item('x1', 'ship1.EventACK.A', 'shipX'));
    r.lanes.enqueue(item('x2', 'ship1.EventACK.A', 'shipX'));
    r.lanes.enqueue(item('y1', 'ship1.EventACK.A', 'shipY'));
    await until(() => r.runs.length === 2, 'x1 and y1 to run');
    assert.deepEqual(r.runs, [['x1'], ['y1']]);
    await r.release('x1');
    await until(() => r.runs.length === 3, 'x2 to run');
    assert.deepEqual(r.runs[2], ['x2']);
    await r.release('y1');
    await r.release('x2');
  });

  it('batches consecutive items of one batch key; another key or an unbatchable item ends the batch', async () => {
    const r = recording({ batchKeyOf: (i) => (i.m.method === 'FileAppend' ? i.m.data[0] : undefined) });
    const s = 'ship1.EventACK.FileAppend';
    r.lanes.enqueue(item('first', s, 'central', '/f1'));
    // Queued while `first` runs: taken as batches when it ends.
    for (const [id, file] of [
      ['f1a', '/f1'],
      ['f1b', '/f1'],
      ['f2a', '/f2'],
      ['f1c', '/f1'],
    ] as const)
      r.lanes.enqueue(item(id, s, 'central', file));
    r.lanes.enqueue(item('cmd', s));
    r.lanes.enqueue(item('f1d', s, 'central', '/f1'));
    await r.release('first');
    await r.release('f1a');
    await r.release('f2a');
    await r.release('f1c');
    await r.release('cmd');
    await r.release('f1d');
    assert.deepEqual(r.runs, [['first'], ['f1a', 'f1b'], ['f2a'], ['f1c'], ['cmd'], ['f1d']]);
  });

  it('a batch holds at most 512 items', async () => {
    const r = recording({ batchKeyOf: () => 'one file' });
    r.lanes.enqueue(item('head', 's'));
    for (let i = 0; i < 600; i++) r.lanes.enqueue(item(`q${i}`, 's'));
    await r.release('head');
    await r.release('q0');
    await r.release('q512');
    assert.deepEqual(
      r.runs.map((g) => g.length),
      [1, 512, 88],
    );
    assert.equal(r.runs[1]!.at(-1), 'q511');
  });

  it('stops draining once the subscriber has stopped', async () => {
    const r = recording({});
    r.lanes.enqueue(item('a1', 's'));
    r.lanes.enqueue(item('a2', 's'));
    await until(() => r.runs.length === 1, 'a1 to run');
    r.stop();
    await r.release('a1');
    // The positive sign: the lane looked again after a1 ended, saw the stop, and took nothing.
    await until(() => r.askedAfterStop() > 0, 'the lane to look again after a1');
    assert.deepEqual(r.runs, [['a1']]);
  });

  it('NOSEQ: runs at once, at most `concurrency` at a time, the rest in arrival order', async () => {
    const r = recording({ ordered: false, concurrency: () => 2 });
    for (const id of ['n1', 'n2', 'n3', 'n4']) r.lanes.enqueue(item(id, 'same subject'));
    await until(() => r.runs.length === 2, 'two to run');
    assert.deepEqual(r.runs, [['n1'], ['n2']]);
    await r.release('n2');
    await until(() => r.runs.length === 3, 'n3 to take the slot');
    assert.deepEqual(r.runs[2], ['n3']);
    await r.release('n1');
    await r.release('n3');
    await r.release('n4');
    await until(() => r.active() === 0, 'all to end');
    assert.equal(r.maxActive(), 2);
    assert.deepEqual(r.runs.flat(), ['n1', 'n2', 'n3', 'n4']);
  });
});
