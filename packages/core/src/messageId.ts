/**
 * Message ids: UUIDs of version 7 (RFC 9562), time-ordered. The first 48
 * bits are the Unix time in milliseconds, the next 12 a counter within the
 * millisecond, the rest (62 bits) random.
 *
 * Why time-ordered: both ends of a delivery keep a unique index on message
 * ids in their journal (outbox and inbox). Random ids (version 4) land on
 * random pages of that index, so every commit of k new messages rewrote ~k
 * index pages (4 KiB each) in the WAL once the index outgrew a few pages;
 * ids that grow with time land on the last page or two. The ids stay what
 * they were on the wire and for the operator: 36-character UUID text, unique
 * without coordination, unguessable (62 random bits, and the receiver never
 * takes an id as authority), and they now sort by when they were made.
 */
import { randomFillSync } from 'node:crypto';
import { flatString } from './message.js';

const hex = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

/** Random bytes drawn in blocks: one system call per 512 ids (byte 0 seeds the counter, bytes 1–8 are the 62 random bits). */
const bytesPerId = 9;
const pool = Buffer.alloc(bytesPerId * 512);
let poolAt = pool.length;

let lastMs = 0;
let counter = 0;

/**
 * A new message id: a version 7 UUID, later than every id this process made
 * before (the clock going back keeps the last time; more than 4,096 ids in a
 * millisecond borrow the next one).
 */
export function newMessageId(now = Date.now()): string {
  if (poolAt === pool.length) {
    randomFillSync(pool);
    poolAt = 0;
  }
  const r = poolAt;
  poolAt += bytesPerId;
  if (now > lastMs) {
    lastMs = now;
    // A random start below 256 leaves room to count up (to 4,095) within the millisecond.
    counter = pool[r]!;
  } else if (++counter > 0xfff) {
    lastMs += 1;
    counter = 0;
  }
  const ms = lastMs;
  const high = Math.floor(ms / 0x1000000); // the upper 24 of the 48 bits
  const low = ms % 0x1000000;
  const id =
    hex[(high >>> 16) & 0xff]! +
    hex[(high >>> 8) & 0xff]! +
    hex[high & 0xff]! +
    hex[(low >>> 16) & 0xff]! +
    '-' +
    hex[(low >>> 8) & 0xff]! +
    hex[low & 0xff]! +
    '-' +
    hex[0x70 | (counter >>> 8)]! +
    hex[counter & 0xff]! +
    '-' +
    hex[0x80 | (pool[r + 1]! & 0x3f)]! +
    hex[pool[r + 2]!]! +
    '-' +
    hex[pool[r + 3]!]! +
    hex[pool[r + 4]!]! +
    hex[pool[r + 5]!]! +
    hex[pool[r + 6]!]! +
    hex[pool[r + 7]!]! +
    hex[pool[r + 8]!]!;
  return flatString(id);
}
