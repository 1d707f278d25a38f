/**
 * `npm run soak [-- --minutes M]`: a bounded soak. Two nodes under steady load
 * (TextLogging and CLICommand both ways) for M minutes (default 3), with a fault
 * every 30 s (broker killed and restarted, or a node stalled with SIGSTOP), while the
 * memory (RSS) and open file handles of both node processes are sampled every 5 s.
 * Writes bench/results/soak.json and fails when, after the first minute of warm-up,
 * RSS grew by more than 40 MB or open files by more than 16, or any message was lost
 * or repeated.
 */
import { readdirSync, readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { appendFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { cleanupHarness, makeTempDir, readLines, repoRoot, startNatsServer, startNode, waitFor } from '../helpers/index.js';
import { sequenceProblems } from './chaosRound.js';

const { values } = parseArgs({ options: { minutes: { type: 'string', default: '3' }, rate: { type: 'string', default: '20' } } });
const minutes = Number(values.minutes);
const rate = Number(values.rate);
const rssBoundMb = 40;
const fdBound = 16;

function rssMb(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Math.round(Number(m[1]) / 102.4) / 10 : NaN;
}
function fds(pid: number): number {
  return readdirSync(`/proc/${pid}/fd`).length;
}

const root = await makeTempDir('steward-soak-');
const nats = await startNatsServer();
const central = await startNode({
  name: 'central',
  folder: join(root, 'central'),
  brokerHostPort: nats.hostPort,
  args: ['--centralErrorLogger'],
});
const ship1 = await startNode({ name: 'ship1', folder: join(root, 'ship1'), brokerHostPort: nats.hostPort });
const samples: { t: number; central: { rssMb: number; fds: number }; ship1: { rssMb: number; fds: number } }[] = [];
const faults: string[] = [];
const start = Date.now();
const end = start + minutes * 60_000;
let n = 0;
let nextFault = start + 30_000;
let nextSample = start;
let failed = false;
try {
  while (Date.now() < end) {
    const batch = [];
    for (let i = 0; i < rate; i++) {
      n++;
      batch.push({ toNode: 'ship1', method: 'TextLogging', data: [`${n}\n`], timeout: 1, retries: -1 });
    }
    batch.push({ toNode: 'ship1', method: 'CLICommand', data: ['true'], timeout: 2, retries: -1 });
    await appendFile(join(central.folder, 'inmsg.txt'), JSON.stringify(batch) + '\n');
    await appendFile(
      join(ship1.folder, 'inmsg.txt'),
      JSON.stringify([{ toNode: 'central', method: 'ECHORequest', data: [`${n}`], timeout: 1, retries: -1 }]) + '\n',
    );
    if (Date.now() >= nextSample) {
      samples.push({
        t: Math.round((Date.now() - start) / 1000),
        central: { rssMb: rssMb(central.pid), fds: fds(central.pid) },
        ship1: { rssMb: rssMb(ship1.pid), fds: fds(ship1.pid) },
      });
      console.log(
        `t=${samples.at(-1)!.t}s central ${samples.at(-1)!.central.rssMb} MB ${samples.at(-1)!.central.fds} fds; ship1 ${samples.at(-1)!.ship1.rssMb} MB ${samples.at(-1)!.ship1.fds} fds; sent ${n}`,
      );
      nextSample += 5000;
    }
    if (Date.now() >= nextFault) {
      const which = faults.length % 3;
      if (which === 0) {
        faults.push(`t=${Math.round((Date.now() - start) / 1000)}s broker killed for 2 s`);
        await nats.kill9();
        await sleep(2000);
        await nats.restart();
      } else {
        const node = which === 1 ? ship1 : central;
        faults.push(`t=${Math.round((Date.now() - start) / 1000)}s ${node.name} stalled (SIGSTOP) for 3 s`);
        process.kill(node.pid, 'SIGSTOP');
        await sleep(3000);
        process.kill(node.pid, 'SIGCONT');
      }
      console.log(faults.at(-1));
      nextFault += 30_000;
    }
    await sleep(1000);
  }
  const file = ship1.dataFile('central', 'ship1.EventACK.TextLogging.log');
  await waitFor(() => readLines(file).length >= n, {
    timeoutMs: 180_000,
    message: () => `${readLines(file).length}/${n} delivered after the soak`,
  });
  const seq = sequenceProblems(readLines(file), 1, n);
  const warm = samples.find((s) => s.t >= 60) ?? samples[0]!;
  const last = samples.at(-1)!;
  const growth = {
    centralRssMb: Math.round((last.central.rssMb - warm.central.rssMb) * 10) / 10,
    ship1RssMb: Math.round((last.ship1.rssMb - warm.ship1.rssMb) * 10) / 10,
    centralFds: last.central.fds - warm.central.fds,
    ship1Fds: last.ship1.fds - warm.ship1.fds,
  };
  failed =
    seq.lost.length + seq.duplicated.length + seq.outOfOrder.length > 0 ||
    growth.centralRssMb > rssBoundMb ||
    growth.ship1RssMb > rssBoundMb ||
    growth.centralFds > fdBound ||
    growth.ship1Fds > fdBound;
  const result = {
    date: new Date().toISOString(),
    minutes,
    ratePerSecond: rate,
    messages: n,
    faults,
    sequence: seq,
    growthAfterWarmup: growth,
    bounds: { rssMb: rssBoundMb, fds: fdBound },
    samples,
    ok: !failed,
  };
  mkdirSync(join(repoRoot, 'bench', 'results'), { recursive: true });
  writeFileSync(join(repoRoot, 'bench', 'results', 'soak.json'), JSON.stringify(result, null, 2) + '\n');
  console.log(
    JSON.stringify({
      messages: n,
      sequence: { lost: seq.lost.length, duplicated: seq.duplicated.length, outOfOrder: seq.outOfOrder.length },
      growthAfterWarmup: growth,
      ok: !failed,
    }),
  );
} finally {
  await cleanupHarness();
}
console.log(`${failed ? 0 : 1} passed, ${failed ? 1 : 0} failed`);
process.exitCode = failed ? 1 : 0;
