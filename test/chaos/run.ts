/**
 * `npm run chaos [-- --seed N] [-- --rounds R]`: chaos rounds with printed seeds.
 * Each round's seed is the given one plus the round number, so any failing round
 * can be replayed alone with `--seed <its seed> --rounds 1`.
 */
import { parseArgs } from 'node:util';
import { cleanupHarness } from '../helpers/index.js';
import { chaosFailed, chaosRound } from './chaosRound.js';

const { values } = parseArgs({
  options: {
    seed: { type: 'string', default: String(Date.now() % 1_000_000) },
    rounds: { type: 'string', default: '3' },
    events: { type: 'string', default: '300' },
    commands: { type: 'string', default: '60' },
    faults: { type: 'string', default: '6' },
  },
});
const base = Number(values.seed);
let failed = 0;
let passed = 0;
try {
  for (let r = 0; r < Number(values.rounds); r++) {
    const seed = base + r;
    console.log(`chaos round ${r + 1}: seed ${seed}`);
    const report = await chaosRound({
      seed,
      events: Number(values.events),
      commands: Number(values.commands),
      faults: Number(values.faults),
      log: (l) => console.log(`  ${l}`),
    });
    const bad = chaosFailed(report);
    console.log(
      `  ${bad ? 'FAILED' : 'ok'} in ${report.seconds}s: ${JSON.stringify({ events: report.events, commands: report.commands, leftoverProcesses: report.leftoverProcesses })}`,
    );
    if (bad) failed++;
    else passed++;
  }
} finally {
  await cleanupHarness();
}
console.log(`${passed} passed, ${failed} failed`);
process.exitCode = failed ? 1 : 0;
