/**
 * backlog: M numbered TextLogging messages queued (services.submit, 10,000
 * per call) for a node that is offline, all on its one ordered subject. The
 * sender runs in a host process of its own, so its resident memory is the
 * node's: sampled while queuing and while draining. Then the node comes up;
 * the drain is timed (bounded: at today's ordered rate a million messages
 * take far longer than a bench may run) and the receiver checks the order.
 *
 * Baselines: the sender host's RSS with its node idle before queuing, and
 * plain stop-and-wait request/reply on one subject, measured right after the
 * drain, for the drain rate.
 */
import { join } from 'node:path';
import { connect } from '@nats-io/transport-node';
import { HostClient } from '../lib/hostClient.js';
import { PeerKey } from '../lib/jetstream.js';
import type { FleetStats } from '../lib/host.js';
import { payloadOf, requestLoop, ResponderMode } from '../lib/plainNats.js';
import { Better, mb, row, sleep, type BenchContext, type Scenario, type ScenarioResult } from '../lib/scenario.js';

/** Samples a process's RSS every `everyMs` until stopped; keeps the maximum. */
class RssSampler {
  max = 0;
  private readonly timer: NodeJS.Timeout;
  constructor(read: () => number, everyMs = 100) {
    this.max = read();
    this.timer = setInterval(() => (this.max = Math.max(this.max, read())), everyMs);
  }
  stop(): number {
    clearInterval(this.timer);
    return this.max;
  }
}

export const backlog: Scenario = {
  name: 'backlog',
  summary: 'M messages queued for an offline node: sender RSS while queuing and draining, drain rate, order',
  async run(ctx: BenchContext): Promise<ScenarioResult> {
    const total = Number(process.env.BENCH_BACKLOG ?? (ctx.quick ? 10_000 : 1_000_000));
    const drainBoundMs = ctx.quick ? 3_000 : Math.min(120_000, ctx.budgetMs * 0.4);
    const sink = 'bl-sink';
    const sender = await HostClient.start('backlog sender');
    const receiver = await HostClient.start('backlog receiver');
    try {
      await sender.call('fleet.start', { names: ['bl-sender'], brokerHostPort: ctx.nats.hostPort, root: join(ctx.dir, 'sender') });
      await sleep(500);
      const idleRss = sender.memory().rss;
      ctx.log(`queuing ${total.toLocaleString('en-US')} messages for offline ${sink}`);
      const queuing = new RssSampler(() => sender.memory().rss);
      const queued = await sender.call<{ ms: number; peakRss: number }>(
        'fleet.submit',
        { from: 'bl-sender', toNode: sink, method: 'TextLogging', count: total, chunk: 10_000, bytes: 64, timeout: 2, retries: -1 },
        ctx.budgetMs,
      );
      await sleep(1000);
      const queuingPeak = Math.max(queuing.stop(), sender.memory().peak);
      const afterQueueRss = sender.memory().rss;
      // What the node keeps after queuing: live heap after a full GC, vs. what the process holds.
      const heapAfterGc = await sender.call<NodeJS.MemoryUsage>('gc');
      ctx.log(`queued in ${(queued.ms / 1000).toFixed(1)} s; sender RSS peak ${mb(queuingPeak)} MB, now ${mb(afterQueueRss)} MB`);

      await sender.call('fleet.reset');
      const draining = new RssSampler(() => sender.memory().rss);
      await receiver.call('fleet.start', { names: [sink], brokerHostPort: ctx.nats.hostPort, root: join(ctx.dir, 'receiver') });
      const up = Date.now();
      let s: FleetStats = await sender.call<FleetStats>('fleet.stats');
      const deadline = Date.now() + drainBoundMs;
      while (s.delivered + s.expired < total && Date.now() < deadline) {
        await sleep(250);
        s = await sender.call<FleetStats>('fleet.stats');
      }
      const drainingPeak = draining.stop();
      const r = await receiver.call<FleetStats>('fleet.stats');
      const complete = s.delivered + s.expired >= total;
      const drainMs = s.lastDeliveredAt - s.firstDeliveredAt;
      const drainRate = drainMs > 0 ? ((s.delivered - 1) / drainMs) * 1000 : 0;
      ctx.log(
        `${s.delivered.toLocaleString('en-US')} delivered in ${((Date.now() - up) / 1000).toFixed(1)} s ` +
          `(${drainRate.toFixed(0)}/s; first after ${s.firstDeliveredAt ? s.firstDeliveredAt - up : '?'} ms), order violations ${r.orderViolations}, sender RSS peak ${mb(drainingPeak)} MB`,
      );

      // Baseline drain rate: plain stop-and-wait on one subject, responder in the receiver host.
      await receiver.call('responders.start', { url: ctx.nats.url, groups: [['plain.bl']], mode: ResponderMode.Ack, replyBytes: 80 });
      const nc = await connect({ servers: ctx.nats.url });
      const plain = await requestLoop(nc, ['plain.bl'], ctx.quick ? 1000 : 3000, 1, payloadOf(340));
      await nc.close();

      const projectedS = drainRate > 0 ? total / drainRate : undefined;
      return {
        rows: [
          row({
            scenario: 'backlog',
            figure: `sender peak RSS, queuing ${total.toLocaleString('en-US')}`,
            value: mb(queuingPeak),
            unit: 'MB',
            baseline: mb(idleRss),
            baselineLabel: 'same node, idle',
            better: Better.Lower,
            target: '≤ 300 MB',
            met: mb(queuingPeak) <= 300,
          }),
          row({
            scenario: 'backlog',
            figure: 'sender peak RSS, draining',
            value: mb(drainingPeak),
            unit: 'MB',
            baseline: mb(idleRss),
            baselineLabel: 'same node, idle',
            better: Better.Lower,
            target: '≤ 300 MB',
            met: mb(drainingPeak) <= 300,
          }),
          row({
            scenario: 'backlog',
            figure: 'drain rate, 1 ordered subject',
            value: drainRate,
            unit: 'msg/s',
            baseline: plain.perSecond,
            baselineLabel: 'stop-and-wait req/reply',
            // The stored messages drain as a JetStream consumer drains its stream (ordered scenario's figure).
            peerKey: PeerKey.OneSubjectConsume,
            better: Better.Higher,
            target: 'all delivered, in order',
            met: complete && r.orderViolations === 0 && s.expired === 0,
            note: complete
              ? `all ${total.toLocaleString('en-US')} delivered in ${(drainMs / 1000).toFixed(1)} s, ${r.orderViolations} out of order`
              : `drain bounded to ${Math.round(drainBoundMs / 1000)} s: ${s.delivered.toLocaleString('en-US')} of ${total.toLocaleString('en-US')} delivered, ` +
                `${r.orderViolations} out of order; at this rate all would take ${projectedS ? Math.round(projectedS).toLocaleString('en-US') : '?'} s`,
          }),
        ],
        details: {
          messages: total,
          queueMs: queued.ms,
          queueRatePerS: (total / queued.ms) * 1000,
          senderRssIdleMB: mb(idleRss),
          senderRssPeakQueuingMB: mb(queuingPeak),
          senderRssAfterQueuingMB: mb(afterQueueRss),
          senderAfterQueuingGc: {
            rssMB: mb(heapAfterGc.rss),
            heapUsedMB: mb(heapAfterGc.heapUsed),
            heapTotalMB: mb(heapAfterGc.heapTotal),
            externalMB: mb(heapAfterGc.external),
          },
          senderRssPeakDrainingMB: mb(drainingPeak),
          drainBoundMs,
          complete,
          firstDeliveryAfterNodeUpMs: s.firstDeliveredAt ? s.firstDeliveredAt - up : undefined,
          delivered: s.delivered,
          expired: s.expired,
          drainMs,
          drainRatePerS: drainRate,
          projectedFullDrainS: projectedS,
          receiver: r,
          plainStopAndWait: plain,
        },
      };
    } finally {
      await sender.stop();
      await receiver.stop();
    }
  },
};
