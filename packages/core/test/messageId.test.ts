import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { newMessageId } from '../src/messageId.js';

const v7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

/** The milliseconds a version 7 UUID carries in its first 48 bits. */
function msOf(id: string): number {
  return parseInt(id.slice(0, 8) + id.slice(9, 13), 16);
}

describe('message ids', () => {
  it('are version 7 UUIDs carrying the time they were made', () => {
    const before = Date.now();
    const id = newMessageId();
    const after = Date.now();
    assert.match(id, v7);
    assert.ok(msOf(id) >= before && msOf(id) <= after + 1, `${id}: ${msOf(id)} not in [${before}, ${after}]`);
  });

  it('sort in the order they were made, and never repeat, also many in one millisecond', () => {
    const ids = Array.from({ length: 20_000 }, () => newMessageId());
    // 20,000 ids take a few milliseconds: more than 4,096 share one, and borrow the next.
    for (let i = 1; i < ids.length; i++) assert.ok(ids[i - 1]! < ids[i]!, `${ids[i - 1]} then ${ids[i]}`);
    assert.equal(new Set(ids).size, ids.length);
    for (const id of ids) assert.match(id, v7);
  });

  it('keep growing when the clock goes back', () => {
    const now = Date.now() + 60_000;
    const first = newMessageId(now);
    const back = newMessageId(now - 30_000);
    assert.ok(first < back, `${first} then ${back}`);
    assert.equal(msOf(back), msOf(first));
  });

  it('have 62 random bits: the last 8 characters (the short id shown) differ between ids', () => {
    const tails = new Set(Array.from({ length: 5_000 }, () => newMessageId().slice(-8)));
    assert.equal(tails.size, 5_000);
  });
});
