/**
 * `npm run bench [-- --quick] [-- --only a,b] [-- --keep]`: starts its own
 * nats-server, runs each scenario with its plain-NATS baseline (and, for
 * ordered and throughput, its JetStream peer on a `-js` server of their own)
 * in the same run, writes bench/results/latest.json (and quick.json or
 * full.json) and prints the tables. Every scenario is bounded in time, and so
 * is the run.
 */
import { mkdtempSync, rmSync, mkdirSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { startNatsServer } from '../test/helpers/natsServer.js';
import { repoRoot, resultsDir } from './lib/paths.js';
import { hostExecArgv } from './lib/hostClient.js';
import { gitCommit, machineInfo, markdownTable, notes, peerTable, writeJson, type BenchResults } from './lib/report.js';
import { Better, resolvePeers, row, type Scenario } from './lib/scenario.js';
import { throughput } from './scenarios/throughput.js';
import { ordered } from './scenarios/ordered.js';
import { latency } from './scenarios/latency.js';
import { fanout } from './scenarios/fanout.js';
import { backlog } from './scenarios/backlog.js';
import { restart } from './scenarios/restart.js';
import { startup } from './scenarios/startup.js';

const scenarios: Scenario[] = [startup, latency, ordered, throughput, fanout, backlog, restart];

/** Milliseconds each scenario may take: quick, full. */
const budgets: Record<string, [number, number]> = {
  startup: [8_000, 40_000],
  latency: [6_000, 60_000],
  ordered: [10_000, 90_000],
  throughput: [16_000, 130_000],
  fanout: [10_000, 240_000],
  backlog: [10_000, 300_000],
  restart: [12_000, 240_000],
};

interface Args {
  quick: boolean;
  only?: string[];
  keep: boolean;
  profile: boolean;
}

function parseArgs(argv: string[]): Args {
  const a: Args = { quick: false, keep: false, profile: false };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--quick') a.quick = true;
    else if (arg === '--keep') a.keep = true;
    else if (arg === '--profile') a.profile = true;
    else if (arg === '--only') a.only = (argv[++i] ?? '').split(',');
    else if (arg.startsWith('--only=')) a.only = arg.slice(7).split(',');
    else if (arg === '--help' || arg === '-h') {
      console.log(
        `usage: npm run bench -- [--quick] [--only ${scenarios.map((s) => s.name).join(',')}] [--keep] [--profile]\n` +
          scenarios.map((s) => `  ${s.name.padEnd(11)} ${s.summary}`).join('\n') +
          '\n  --keep     keep the temporary node folders\n  --profile  write CPU profiles of the host processes to bench/results/profiles',
      );
      process.exit(0);
    } else throw new Error(`unknown argument ${arg} (see --help)`);
  }
  return a;
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const mode = args.quick ? 'quick' : 'full';
  const chosen = scenarios.filter((s) => !args.only || args.only.includes(s.name));
  if (chosen.length === 0) throw new Error(`no scenario named ${args.only?.join(',')}`);
  if (args.profile) {
    const dir = join(resultsDir, 'profiles');
    mkdirSync(dir, { recursive: true });
    hostExecArgv.push('--cpu-prof', '--cpu-prof-dir', dir);
  }
  const started = Date.now();
  const totalBudget = chosen.reduce((sum, s) => sum + (budgets[s.name]?.[args.quick ? 0 : 1] ?? 60_000), 0);
  // The bench stops itself, whatever hangs: the budgets plus a margin for set-up and tear-down.
  const watchdog = setTimeout(
    () => {
      console.error(`bench: over its time limit of ${Math.round((totalBudget * 1.5 + 30_000) / 1000)} s; stopping`);
      process.exit(3);
    },
    totalBudget * 1.5 + 30_000,
  );
  watchdog.unref();

  const tmp = mkdtempSync(join(os.tmpdir(), 'steward-bench-'));
  const nats = await startNatsServer({ dir: join(tmp, 'nats') });
  const results: BenchResults = {
    mode,
    date: new Date().toISOString(),
    machine: machineInfo(nats.version),
    commit: gitCommit(repoRoot),
    rows: [],
    peers: [],
    scenarios: {},
  };
  console.error(
    `bench (${mode}): ${results.machine.cpuModel} × ${results.machine.cores}, node ${results.machine.node}, nats-server ${nats.version} on ${nats.hostPort}`,
  );
  try {
    for (const s of chosen) {
      const budgetMs = budgets[s.name]?.[args.quick ? 0 : 1] ?? 60_000;
      const dir = join(tmp, s.name);
      mkdirSync(dir, { recursive: true });
      const t0 = performance.now();
      console.error(`\n== ${s.name} (at most ~${Math.round(budgetMs / 1000)} s): ${s.summary}`);
      const log = (text: string) => console.error(`   ${s.name}: ${text}`);
      let timer: NodeJS.Timeout | undefined;
      try {
        const limit = new Promise<never>((_, reject) => {
          timer = setTimeout(
            () => reject(new Error(`over its limit of ${Math.round((budgetMs * 1.5) / 1000)} s`)),
            budgetMs * 1.5 + 15_000,
          );
        });
        const out = await Promise.race([s.run({ quick: args.quick, nats, dir, budgetMs, log }), limit]);
        results.rows.push(...out.rows);
        results.peers.push(...(out.peers ?? []));
        results.scenarios[s.name] = { ms: Math.round(performance.now() - t0), details: out.details };
      } catch (err) {
        const text = err instanceof Error ? err.message : String(err);
        console.error(`   ${s.name} FAILED: ${err instanceof Error ? (err.stack ?? text) : text}`);
        results.rows.push(row({ scenario: s.name, figure: 'failed', value: Number.NaN, unit: '', better: Better.Higher, note: text }));
        results.scenarios[s.name] = { ms: Math.round(performance.now() - t0), error: text };
      } finally {
        clearTimeout(timer);
      }
      console.error(`   ${s.name}: ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    }
  } finally {
    await nats.stop();
    if (!args.keep) rmSync(tmp, { recursive: true, force: true });
    else console.error(`node folders kept in ${tmp}`);
  }
  // Rows of one scenario may be compared with a JetStream peer another scenario measured.
  results.rows = resolvePeers(results.rows, results.peers);
  results.machine.loadEnd = os.loadavg().map((l) => Math.round(l * 100) / 100);
  results.durationS = Math.round((Date.now() - started) / 100) / 10;
  if (!args.only) {
    writeJson(join(resultsDir, 'latest.json'), results);
    writeJson(join(resultsDir, `${mode}.json`), results);
  } else writeJson(join(resultsDir, `partial-${mode}.json`), results);
  const m = results.machine;
  console.log(`\nsteward bench (${mode}), ${results.date}, ${results.durationS} s, commit ${results.commit}`);
  console.log(
    `${m.cpuModel}, ${m.cores} cores, ${m.memoryGB} GB, ${m.os}, node ${m.node}, nats-server ${m.natsServer}, load ${m.loadStart.join(' ')} → ${(m.loadEnd ?? []).join(' ')}\n`,
  );
  console.log(markdownTable(results.rows));
  const peers = peerTable(results.peers);
  if (peers) console.log(`\nJetStream peers (nats-server -js, file storage, measured in this run):\n\n${peers}`);
  const n = notes(results.rows);
  if (n) console.log(`\n${n}`);
  // Host processes, sockets and timers of stopped nodes must not keep the bench alive.
  process.exit(0);
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? (err.stack ?? err.message) : String(err));
  process.exit(1);
});
