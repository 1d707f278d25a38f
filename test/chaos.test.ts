// The short form of the chaos suite (`npm run chaos` runs longer rounds): one round with
// a printed seed, faults injected at random points, nothing lost, repeated or reordered.
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { cleanupHarness } from './helpers/index.js';
import { chaosFailed, chaosRound, prng, sequenceProblems } from './chaos/chaosRound.js';

after(cleanupHarness);

describe('chaos (short)', () => {
  it('the checker sees losses, duplicates and reordering', () => {
    assert.deepEqual(sequenceProblems(['1', '3', '2', '2'], 1, 4), { lost: [4], duplicated: [2], outOfOrder: [2] });
    const a = prng(7);
    const b = prng(7);
    assert.deepEqual([a(), a(), a()], [b(), b(), b()], 'the same seed replays the same faults');
  });

  it('survives random kills and stalls of sender, receiver and broker', { timeout: 400_000 }, async (t) => {
    const seed = Number(process.env.STEWARD_CHAOS_SEED ?? Date.now() % 1_000_000);
    t.diagnostic(`chaos seed ${seed} (replay: STEWARD_CHAOS_SEED=${seed} or npm run chaos -- --seed ${seed} --rounds 1)`);
    const report = await chaosRound({ seed, events: 150, commands: 30, faults: 4, log: (l) => t.diagnostic(l) });
    t.diagnostic(JSON.stringify(report));
    assert.equal(chaosFailed(report), false, `seed ${seed}: ${JSON.stringify(report)}`);
  });
});
