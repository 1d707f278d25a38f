/**
 * The probe: steward alone on the `ordered` and `throughput` paths, with no
 * baseline or peer around it, so a CPU profile of it shows steward's own
 * work. Not a benchmark (it prints no ratio); the figures that count come
 * from `npm run bench`.
 *
 *   node bench/dist/bench/probe.js [--messages N] [--subjects S] [--rounds R] [--window W]
 *   node --cpu-prof --cpu-prof-dir=bench/results/profiles/probe bench/dist/bench/probe.js
 *   PROBE_PROFILE_HOST=1 ...   also profiles the receiving host process
 *   PROBE_HOST_ARGS='--flag' ...   node flags for the receiving host process
 *
 * One sending node in this process, the receivers (`S / 2` nodes, each with
 * TextLogging and REQToFileAppend subjects; one subject when S is 1) in a
 * host process; each round sends N numbered messages and waits until every
 * one is ACKed and run.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { startNatsServer } from '../test/helpers/natsServer.js';
import { Fleet } from './lib/fleet.js';
import { HostClient, hostExecArgv } from './lib/hostClient.js';
import { sendNumbered, waitExecuted } from './scenarios/common.js';

function flag(name: string, fallback: number): number {
  const at = process.argv.indexOf(`--${name}`);
  return at >= 0 ? Number(process.argv[at + 1]) : fallback;
}

async function main(): Promise<void> {
  const messages = flag('messages', 10_000);
  const subjectCount = flag('subjects', 1);
  const rounds = flag('rounds', 2);
  const window = flag('window', 0);
  if (process.env.PROBE_PROFILE_HOST) hostExecArgv.push('--cpu-prof', '--cpu-prof-dir=bench/results/profiles/probe-host');
  // Extra node flags for the receiving host process, e.g. PROBE_HOST_ARGS=--maglev (give the probe's own with `node <flags>`).
  if (process.env.PROBE_HOST_ARGS) hostExecArgv.push(...process.env.PROBE_HOST_ARGS.split(' ').filter(Boolean));
  const tmp = mkdtempSync(join(os.tmpdir(), 'steward-probe-'));
  const nats = await startNatsServer({ dir: join(tmp, 'nats') });
  const receivers = Array.from({ length: Math.max(1, Math.floor(subjectCount / 2)) }, (_, i) => `probe-r${i}`);
  const subjects =
    subjectCount === 1
      ? [`${receivers[0]}.EventACK.TextLogging`]
      : receivers.flatMap((r) => [`${r}.EventACK.TextLogging`, `${r}.EventACK.REQToFileAppend`]);
  const host = await HostClient.start('probe receivers');
  const sender = await Fleet.start({
    names: ['probe-sender'],
    brokerHostPort: nats.hostPort,
    root: join(tmp, 'sender'),
    ...(window > 0 ? { config: { orderedWindow: window } } : {}),
  });
  try {
    await host.call('fleet.start', { names: receivers, brokerHostPort: nats.hostPort, root: join(tmp, 'fleet') });
    const node = sender.node('probe-sender');
    await sendNumbered(sender, node, subjects, 20 * subjects.length, 60_000);
    for (let round = 1; round <= rounds; round++) {
      await host.call('fleet.reset');
      const cpu0 = process.cpuUsage();
      const run = await sendNumbered(sender, node, subjects, messages, 300_000);
      const executed = await waitExecuted(host, messages, run.wallStart, 300_000);
      const cpu = process.cpuUsage(cpu0);
      const senderCpuUs = (cpu.user + cpu.system) / messages;
      console.log(
        `round ${round}: ${messages} messages on ${subjects.length} subject(s): ` +
          `ACKed ${run.perSecond.toFixed(0)}/s, run ${executed.perSecond.toFixed(0)}/s, ` +
          `CPU µs/message: sender ${senderCpuUs.toFixed(0)}, receivers ${(executed.stats.cpuUs / messages).toFixed(0)}; commits: sender ${run.senderCommits}, ` +
          `receivers ${executed.stats.journalCommits} (${executed.stats.journalCommitMs.toFixed(0)} ms), ` +
          `out of order ${executed.stats.orderViolations}`,
      );
    }
  } finally {
    await sender.stop();
    await host.stop();
    await nats.stop();
    rmSync(tmp, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
