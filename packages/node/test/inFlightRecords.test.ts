/**
 * Sends journaled late (delivery/inFlightRecords.ts): a send still
 * unanswered at the next tick is written; one that ended (or was journaled
 * otherwise) before it is not.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { OutboxState, type OutboxPatch } from '@steward/core';
import { waitFor } from '../../../test/helpers/waitFor.js';
import { InFlightRecords, inFlightRecordMs } from '../src/delivery/inFlightRecords.js';

describe('InFlightRecords', () => {
  it('writes the sends still in flight at the tick, not those that ended before it', async () => {
    const written: [string, OutboxPatch][] = [];
    const records = new InFlightRecords((id, patch) => written.push([id, patch]));
    const started = Date.now();
    records.note('slow', { state: OutboxState.Sending, attempts: 1 });
    records.note('fast', { state: OutboxState.Sending, attempts: 1 });
    // The slow one moves on to awaitingAck: its latest state is what is written.
    records.note('slow', { state: OutboxState.AwaitingAck, attempts: 1 });
    // The fast one ends (its end is journaled by the publisher itself).
    records.forget('fast');
    await waitFor(() => written.length > 0, { timeoutMs: 20_000, message: 'the tick' });
    assert.ok(Date.now() - started >= inFlightRecordMs - 50, 'not before the tick');
    assert.deepEqual(written, [['slow', { state: OutboxState.AwaitingAck, attempts: 1 }]]);
    records.clear();
  });

  it('drops what is pending when the publisher stops', async () => {
    const written: string[] = [];
    const records = new InFlightRecords((id) => written.push(id));
    records.note('a', { state: OutboxState.Sending, attempts: 1 });
    records.clear();
    // A second tick's worth of waiting: nothing may be written after clear().
    const until = Date.now() + inFlightRecordMs + 200;
    await waitFor(() => Date.now() >= until, { timeoutMs: 20_000, message: 'a tick later' });
    assert.deepEqual(written, []);
  });
});
