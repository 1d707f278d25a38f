/**
 * fan-out: one message to each of N nodes (a fleet simulator: N node runtimes
 * in one host process), from one sender node in the bench process, timed from
 * submit() until every reply is in:
 * - CLICommand `true` (CommandACK): every node runs `true`; the ACK carries the result;
 * - ECHORequest (EventACK): every node answers with an ECHOReply message, which
 *   the sender journals and runs (appends to a file) — a full round of two
 *   guaranteed deliveries.
 *
 * Baseline: one plain request to each of N responders (one connection each,
 * in a host process) at once; the responder runs `true` first (for
 * CLICommand) or echoes at once (for ECHORequest).
 *
 * Also reported: how long the simulator took to start N nodes and its memory,
 * and the CPU time (user + system, `process.cpuUsage()` of the bench process)
 * the sending node ("central") uses per node during a fan-out, next to the
 * plain requester's, measured the same way around its burst: on a real fleet
 * every node has its own machine, so central's share is what limits a fan-out.
 * Central's figure runs until the fan-out's publishers have stopped (idle
 * publishers stop after `keepPublishersAliveFor`, 2 s for the sender here):
 * stopping them is part of a fan-out's cost, which would otherwise fall into
 * whichever measurement came next, a plain burst's as like as not.
 */
import { join } from 'node:path';
import { connect } from '@nats-io/transport-node';
import type { MessageSpec } from '@steward/core';
import { Fleet } from '../lib/fleet.js';
import { HostGroup } from '../lib/hostGroup.js';
import { burst, payloadOf, ResponderMode } from '../lib/plainNats.js';
import {
  Better,
  mb,
  median,
  reached,
  row,
  type BenchContext,
  type ResultRow,
  type Scenario,
  type ScenarioResult,
} from '../lib/scenario.js';
import { wireSize } from './common.js';

export const fanout: Scenario = {
  name: 'fanout',
  summary: 'a command to N nodes (fleet simulator), until every reply is in: CLICommand true and ECHORequest',
  async run(ctx: BenchContext): Promise<ScenarioResult> {
    const sizes = process.env.BENCH_FANOUT_SIZES?.split(',').map(Number) ?? (ctx.quick ? [50] : [50, 200, 1000]);
    const perHost = Number(process.env.BENCH_NODES_PER_HOST ?? 100);
    const rows: ResultRow[] = [];
    const details: Record<string, unknown> = {};
    const sender = await Fleet.start({
      names: ['fo-sender'],
      brokerHostPort: ctx.nats.hostPort,
      root: join(ctx.dir, 'sender'),
      // Publishers stop soon after a fan-out, and each run waits for that (see the header).
      config: { keepPublishersAliveFor: 2 },
    });
    const node = sender.node('fo-sender');
    const publishersRunning = () => node.services!.processes!.list().filter((p) => /^publishers\/g\d+\//.test(p.path)).length;
    const t = sender.tracker;
    const nc = await connect({ servers: ctx.nats.url });
    const started = Date.now();
    try {
      for (const n of sizes) {
        // A share of the budget in proportion to the fleet size.
        const budget = (ctx.budgetMs * n) / sizes.reduce((a, b) => a + b, 0);
        const names = Array.from({ length: n }, (_, i) => `fo${n}-${i}`);
        const group = await HostGroup.start(`fan-out fleet of ${n}`, names, perHost);
        try {
          const idle = group.rss();
          const fleetStart = await group.startFleet(ctx.nats.hostPort, join(ctx.dir, `fleet${n}`), Math.max(60_000, budget));
          const fleetRss = group.rss();
          ctx.log(
            `${n} nodes started in ${(fleetStart.startMs / 1000).toFixed(1)} s on ${group.hosts.length} host process(es), RSS ${mb(fleetRss)} MB`,
          );
          await group.startResponders(ctx.nats.url, (x) => [`plain.${x}.spawn`], ResponderMode.Spawn, 120);
          await group.startResponders(ctx.nats.url, (x) => [`plain.${x}.echo`], ResponderMode.Echo, 120);
          const cmd = (to: string) => ({
            toNode: to,
            method: 'CLICommand',
            commandOrEvent: 'CommandACK' as const,
            data: ['true'],
            retries: 2,
            timeout: 30,
          });
          const echo = (to: string) => ({
            toNode: to,
            method: 'ECHORequest',
            commandOrEvent: 'EventACK' as const,
            data: ['fan-out echo'],
            retries: 2,
            timeout: 30,
          });
          const cmdPayload = payloadOf(wireSize(node, cmd(names[0]!)));
          const echoPayload = payloadOf(wireSize(node, echo(names[0]!)));
          const runSteward = async (make: (to: string) => MessageSpec, done: () => boolean) => {
            t.reset();
            const wall0 = Date.now();
            const cpu0 = process.cpuUsage();
            const t0 = performance.now();
            await node.services!.submit(names.map((x) => ({ spec: make(x) })));
            const ok = await t.until(done, Math.max(20_000, budget / 4));
            const ms = performance.now() - t0;
            // A run cut by the time bound leaves work behind: let it finish before the next measurement.
            if (!ok) await t.until(() => t.delivered + t.expired >= n, Math.max(20_000, budget / 4));
            // Until its publishers have stopped: that is central's work for this fan-out too.
            await reached(() => publishersRunning() === 0, 30_000, 250);
            const cpuUsPerNode = cpuMicros(process.cpuUsage(cpu0)) / n;
            return {
              ms,
              ok,
              cpuUsPerNode,
              delivered: t.delivered,
              expired: t.expired,
              replies: t.replied.get('ECHOReply') ?? 0,
              // When the sender had every ACK (for ECHORequest: receipt, before the replies).
              lastAckMs: t.lastDeliveredAt ? t.lastDeliveredAt - wall0 : undefined,
            };
          };
          // The plain requester's CPU, measured as central's: the bench process's, around the burst.
          const plainBurst = async (count: number, subjects: string[], payload: Uint8Array) => {
            const cpu0 = process.cpuUsage();
            const r = await burst(nc, subjects, payload);
            return { ...r, cpuUsPerNode: cpuMicros(process.cpuUsage(cpu0)) / count };
          };
          const reps = n >= 1000 ? 1 : ctx.quick ? 2 : 3;
          const cmdRuns = [];
          const echoRuns = [];
          const plainSpawn = [];
          const plainEcho = [];
          for (let r = 0; r < reps; r++) {
            echoRuns.push(await runSteward(echo, () => (t.replied.get('ECHOReply') ?? 0) >= n || t.expired > 0));
            plainEcho.push(
              await plainBurst(
                n,
                names.map((x) => `plain.${x}.echo`),
                echoPayload,
              ),
            );
            cmdRuns.push(await runSteward(cmd, () => t.delivered + t.expired >= n));
            plainSpawn.push(
              await plainBurst(
                n,
                names.map((x) => `plain.${x}.spawn`),
                cmdPayload,
              ),
            );
            ctx.log(
              `N=${n} run ${r + 1}: ECHO ${echoRuns.at(-1)!.ms.toFixed(0)} ms (requests ACKed at ${echoRuns.at(-1)!.lastAckMs ?? '?'} ms; plain ${plainEcho.at(-1)!.ms.toFixed(0)} ms), ` +
                `CLICommand ${cmdRuns.at(-1)!.ms.toFixed(0)} ms (plain ${plainSpawn.at(-1)!.ms.toFixed(0)} ms)`,
            );
            if (Date.now() - started > ctx.budgetMs || !echoRuns.at(-1)!.ok || !cmdRuns.at(-1)!.ok) break;
          }
          const cmdMs = median(cmdRuns.map((x) => x.ms));
          const echoMs = median(echoRuns.map((x) => x.ms));
          const spawnMs = median(plainSpawn.map((x) => x.ms));
          const echoPlainMs = median(plainEcho.map((x) => x.ms));
          const incomplete = [...cmdRuns, ...echoRuns].filter((x) => !x.ok).length;
          const cpu = {
            cliCommandUsPerNode: median(cmdRuns.map((x) => x.cpuUsPerNode)),
            plainSpawnUsPerNode: median(plainSpawn.map((x) => x.cpuUsPerNode)),
            echoUsPerNode: median(echoRuns.map((x) => x.cpuUsPerNode)),
            plainEchoUsPerNode: median(plainEcho.map((x) => x.cpuUsPerNode)),
          };
          ctx.log(
            `N=${n} central CPU per node: ECHO ${cpu.echoUsPerNode.toFixed(0)} µs (plain ${cpu.plainEchoUsPerNode.toFixed(0)} µs), ` +
              `CLICommand ${cpu.cliCommandUsPerNode.toFixed(0)} µs (plain ${cpu.plainSpawnUsPerNode.toFixed(0)} µs)`,
          );
          // Issue 15's targets, at 1000 nodes: what the runtime adds to plain NATS, whatever the box.
          const targeted = n === 1000;
          rows.push(
            row({
              scenario: 'fanout',
              figure: `CLICommand true → ${n} nodes`,
              value: cmdMs,
              unit: 'ms',
              baseline: spawnMs,
              baselineLabel: `req/reply + spawn, ${n} at once`,
              better: Better.Lower,
              ...(targeted ? { target: '≤ 1.3× baseline', met: cmdMs <= 1.3 * spawnMs } : {}),
              ...(incomplete ? { note: `${incomplete} run(s) did not get every reply within the time bound` } : {}),
            }),
            row({
              scenario: 'fanout',
              figure: `ECHORequest → ${n} nodes`,
              value: echoMs,
              unit: 'ms',
              baseline: echoPlainMs,
              baselineLabel: `req/reply, ${n} at once`,
              better: Better.Lower,
              ...(targeted ? { target: '≤ 5× baseline', met: echoMs <= 5 * echoPlainMs } : {}),
            }),
            row({
              scenario: 'fanout',
              figure: `central CPU per node, CLICommand → ${n}`,
              value: cpu.cliCommandUsPerNode,
              unit: 'µs',
              baseline: cpu.plainSpawnUsPerNode,
              baselineLabel: 'plain requester, same burst',
              better: Better.Lower,
            }),
            row({
              scenario: 'fanout',
              figure: `central CPU per node, ECHORequest → ${n}`,
              value: cpu.echoUsPerNode,
              unit: 'µs',
              baseline: cpu.plainEchoUsPerNode,
              baselineLabel: 'plain requester, same burst',
              better: Better.Lower,
            }),
          );
          details[`n${n}`] = {
            fleetStartMs: fleetStart.startMs,
            fleetStartMsPerNode: fleetStart.startMs / n,
            hostProcesses: group.hosts.length,
            hostRssIdleMB: mb(idle),
            hostRssWithFleetMB: mb(fleetRss),
            rssPerNodeMB: mb((fleetRss - idle) / n),
            centralCpu: cpu,
            cliCommand: cmdRuns,
            echo: echoRuns,
            plainSpawn,
            plainEcho,
          };
        } finally {
          await group.stop();
        }
      }
      return { rows, details };
    } finally {
      await nc.close();
      await sender.stop();
    }
  },
};

/** User + system CPU time of a `process.cpuUsage()` difference, in microseconds. */
function cpuMicros(u: NodeJS.CpuUsage): number {
  return u.user + u.system;
}
