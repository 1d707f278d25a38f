import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { KeyedLock } from '../src/execution/keyedLock.js';

/** A promise with its resolve function. */
function gate(): { open: () => void; opened: Promise<void> } {
  let open!: () => void;
  const opened = new Promise<void>((r) => (open = r));
  return { open, opened };
}

describe('KeyedLock', () => {
  it('lets one holder per key in at a time, in the order they asked', async () => {
    const lock = new KeyedLock();
    const log: string[] = [];
    const first = gate();
    const a = lock.with('f', async () => {
      log.push('a in');
      await first.opened;
      log.push('a out');
    });
    const b = lock.with('f', async () => {
      log.push('b in');
      log.push('b out');
    });
    const c = lock.with('f', async () => {
      log.push('c in');
      log.push('c out');
    });
    // Another key is not held up.
    await lock.with('g', async () => {
      log.push('g');
    });
    assert.deepEqual(log, ['a in', 'g']);
    first.open();
    await Promise.all([a, b, c]);
    assert.deepEqual(log, ['a in', 'g', 'a out', 'b in', 'b out', 'c in', 'c out']);
    assert.equal(lock.size, 0, 'keys are forgotten once free');
  });

  it('releases the key when the holder throws', async () => {
    const lock = new KeyedLock();
    await assert.rejects(
      lock.with('f', async () => {
        throw new Error('boom');
      }),
      /boom/,
    );
    let ran = false;
    await lock.with('f', async () => {
      ran = true;
    });
    assert.ok(ran);
    assert.equal(lock.size, 0);
  });

  it('a reservation goes before everyone who asks later, and is claimed once', async () => {
    const lock = new KeyedLock();
    const log: string[] = [];
    lock.reserve('f', 'm1');
    lock.reserve('f', 'm2');
    const later = lock.with('f', async () => {
      log.push('new');
    });
    // The owners claim their places later still, m2 before m1.
    const m2 = lock.claim('m2')!.then((release) => {
      log.push('m2');
      release();
    });
    await Promise.resolve();
    assert.equal(log.length, 0, 'm2 waits for m1, and the new one for both');
    const release1 = await lock.claim('m1')!;
    log.push('m1');
    assert.equal(lock.claim('m1'), undefined, 'a place is claimed once');
    release1();
    await Promise.all([m2, later]);
    assert.deepEqual(log, ['m1', 'm2', 'new']);
    assert.equal(lock.size, 0);
  });
});

describe('KeyedLock front reservations', () => {
  it('a front reservation is next in turn, before those already waiting, in the order reserved back to front', async () => {
    const lock = new KeyedLock();
    const log: string[] = [];
    const holder = await lock.acquire('f');
    const waiter = lock.with('f', async () => {
      log.push('waiter');
    });
    // Reserved back to front, so r1 then r2 come next.
    lock.reserve('f', 'r2', true);
    lock.reserve('f', 'r1', true);
    const run = (owner: string) =>
      lock.claim(owner)!.then((release) => {
        log.push(owner);
        release();
      });
    const both = Promise.all([run('r2'), run('r1')]);
    holder();
    holder(); // a second call gives nothing up
    await Promise.all([both, waiter]);
    assert.deepEqual(log, ['r1', 'r2', 'waiter']);
    assert.equal(lock.size, 0);
  });
});
