/**
 * latency: `CLICommand ["true"]` (CommandACK: the ACK carries the result),
 * one at a time, from submit() on the sender to the delivered event.
 *
 * Baseline, measured in the same loop (each iteration takes one sample of
 * each, so noise hits all alike): a plain request to a responder that runs
 * `true` (execFile) before replying: plain NATS round trip + plain spawn
 * measured together. Their parts (a bare round trip, a bare spawn in the
 * bench process) are reported too.
 */
import { join } from 'node:path';
import { connect } from '@nats-io/transport-node';
import { Fleet } from '../lib/fleet.js';
import { HostClient } from '../lib/hostClient.js';
import { payloadOf, ResponderMode, spawnTrue } from '../lib/plainNats.js';
import { Better, median, percentile, row, type BenchContext, type Scenario, type ScenarioResult } from '../lib/scenario.js';
import { wireSize } from './common.js';

export const latency: Scenario = {
  name: 'latency',
  summary: 'CLICommand `true` round trip p50/p99 vs plain NATS round trip + plain spawn of `true`',
  async run(ctx: BenchContext): Promise<ScenarioResult> {
    const samples = ctx.quick ? 60 : 400;
    const receiver = 'lat-r0';
    const host = await HostClient.start('latency receiver');
    const sender = await Fleet.start({ names: ['lat-sender'], brokerHostPort: ctx.nats.hostPort, root: join(ctx.dir, 'sender') });
    const nc = await connect({ servers: ctx.nats.url });
    try {
      await host.call('fleet.start', { names: [receiver], brokerHostPort: ctx.nats.hostPort, root: join(ctx.dir, 'fleet') });
      await host.call('responders.start', { url: ctx.nats.url, groups: [['plain.spawn']], mode: ResponderMode.Spawn, replyBytes: 120 });
      await host.call('responders.start', { url: ctx.nats.url, groups: [['plain.ack']], mode: ResponderMode.Ack, replyBytes: 120 });
      const node = sender.node('lat-sender');
      const spec = {
        toNode: receiver,
        method: 'CLICommand',
        commandOrEvent: 'CommandACK' as const,
        data: ['true'],
        retries: 0,
        timeout: 10,
      };
      const payload = payloadOf(wireSize(node, spec));
      const t = sender.tracker;
      const steward = async () => {
        t.reset();
        const t0 = performance.now();
        await node.services!.submit([{ spec }]);
        await t.until(() => t.delivered + t.expired >= 1, 15_000);
        return performance.now() - t0;
      };
      const timed = async (fn: () => Promise<unknown>) => {
        const t0 = performance.now();
        await fn();
        return performance.now() - t0;
      };
      const s: number[] = [];
      const both: number[] = [];
      const rtt: number[] = [];
      const spawn: number[] = [];
      const deadline = Date.now() + ctx.budgetMs * 0.8;
      let j0 = sender.journalTotals();
      for (let i = -10; i < samples && Date.now() < deadline; i++) {
        const a = await steward();
        const b = await timed(() => nc.request('plain.spawn', payload, { timeout: 10_000 }));
        const c = await timed(() => nc.request('plain.ack', payload, { timeout: 10_000 }));
        const d = await timed(spawnTrue);
        // The first ten are warm-up.
        if (i < 0) {
          if (i === -1) {
            j0 = sender.journalTotals();
            await host.call('fleet.reset');
          }
          continue;
        }
        s.push(a);
        both.push(b);
        rtt.push(c);
        spawn.push(d);
      }
      if (t.expired > 0) throw new Error('a CLICommand expired');
      const j1 = sender.journalTotals();
      const r = await host.stats();
      const p50 = median(s);
      const p99 = percentile(s, 99);
      const base50 = median(both);
      const base99 = percentile(both, 99);
      ctx.log(
        `steward p50 ${p50.toFixed(2)} ms p99 ${p99.toFixed(2)} ms; plain rtt+spawn p50 ${base50.toFixed(2)} ms p99 ${base99.toFixed(2)} ms`,
      );
      return {
        rows: [
          row({
            scenario: 'latency',
            figure: 'CLICommand true, p50',
            value: p50,
            unit: 'ms',
            baseline: base50,
            baselineLabel: 'req/reply + spawn true, p50',
            better: Better.Lower,
            target: '≤ 1.5× baseline',
            met: p50 <= 1.5 * base50,
          }),
          row({
            scenario: 'latency',
            figure: 'CLICommand true, p99',
            value: p99,
            unit: 'ms',
            baseline: base99,
            baselineLabel: 'req/reply + spawn true, p99',
            better: Better.Lower,
          }),
        ],
        details: {
          samples: s.length,
          stewardMs: { p50, p90: percentile(s, 90), p99, max: Math.max(...s) },
          plainRttPlusSpawnMs: { p50: base50, p90: percentile(both, 90), p99: base99 },
          plainRttMs: { p50: median(rtt), p99: percentile(rtt, 99) },
          plainSpawnTrueMs: { p50: median(spawn), p99: percentile(spawn, 99) },
          sumOfPartsP50Ms: median(rtt) + median(spawn),
          // Synchronous journal commits (fsync included) per command, on each side.
          senderCommitsPerMessage: (j1.journalCommits - j0.journalCommits) / s.length,
          senderCommitMsPerMessage: (j1.journalCommitMs - j0.journalCommitMs) / s.length,
          receiverCommitsPerMessage: r.journalCommits / s.length,
          receiverCommitMsPerMessage: r.journalCommitMs / s.length,
          // WAL syncs (fdatasync, off the event loop; a commit's writer waits for its sync) per command, and their milliseconds.
          senderSyncsPerMessage: (j1.journalSyncs - j0.journalSyncs) / s.length,
          senderSyncMsPerMessage: (j1.journalSyncMs - j0.journalSyncMs) / s.length,
          receiverSyncsPerMessage: r.journalSyncs / s.length,
          receiverSyncMsPerMessage: r.journalSyncMs / s.length,
        },
      };
    } finally {
      await nc.close();
      await sender.stop();
      await host.stop();
    }
  },
};
