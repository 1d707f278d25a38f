/**
 * ordered: messages/s on ONE ordered subject (TextLogging to one node),
 * journaled on both ends, with the receiver checking that they ran in order.
 *
 * Baseline: plain stop-and-wait request/reply (one request in flight) on one
 * subject, same payload size, measured before and after steward.
 */
import { join } from 'node:path';
import { connect } from '@nats-io/transport-node';
import { Fleet, numberedText } from '../lib/fleet.js';
import { HostClient } from '../lib/hostClient.js';
import { payloadOf, requestLoop, ResponderMode } from '../lib/plainNats.js';
import { Better, row, type BenchContext, type Scenario, type ScenarioResult } from '../lib/scenario.js';
import { joinNotes, noiseNote, sendNumbered, waitExecuted, wireSize } from './common.js';

export const ordered: Scenario = {
  name: 'ordered',
  summary: 'ACKed TextLogging messages/s on ONE ordered subject vs plain stop-and-wait request/reply',
  async run(ctx: BenchContext): Promise<ScenarioResult> {
    const total = ctx.quick ? 400 : 2000;
    const receiver = 'ord-r0';
    const subject = `${receiver}.EventACK.TextLogging`;
    const host = await HostClient.start('ordered receiver');
    const sender = await Fleet.start({ names: ['ord-sender'], brokerHostPort: ctx.nats.hostPort, root: join(ctx.dir, 'sender') });
    try {
      await host.call('fleet.start', { names: [receiver], brokerHostPort: ctx.nats.hostPort, root: join(ctx.dir, 'fleet') });
      await host.call('responders.start', { url: ctx.nats.url, groups: [[`plain.${subject}`]], mode: ResponderMode.Ack, replyBytes: 80 });
      const node = sender.node('ord-sender');
      const bytes = wireSize(node, { toNode: receiver, method: 'TextLogging', data: [numberedText(0)] });
      const nc = await connect({ servers: ctx.nats.url });
      const plainRun = () => requestLoop(nc, [`plain.${subject}`], Math.max(1000, total), 1, payloadOf(bytes));
      try {
        await sendNumbered(sender, node, [subject], 20, ctx.budgetMs / 4);
        await plainRun();
        const before = await plainRun();
        ctx.log(`plain stop-and-wait: ${before.perSecond.toFixed(0)}/s; steward: ${total} messages`);
        await host.call('fleet.reset');
        const run = await sendNumbered(sender, node, [subject], total, ctx.budgetMs * 0.35);
        const executed = await waitExecuted(host, total, run.wallStart, ctx.budgetMs * 0.3);
        const stats = executed.stats;
        const after = await plainRun();
        const baseline = (before.perSecond + after.perSecond) / 2;
        ctx.log(
          `steward: ${run.perSecond.toFixed(0)}/s ACKed, ${executed.perSecond.toFixed(0)}/s executed, order violations ${stats.orderViolations}; ` +
            `plain after: ${after.perSecond.toFixed(0)}/s`,
        );
        return {
          rows: [
            row({
              scenario: 'ordered',
              figure: 'ACKed msgs/s, 1 subject',
              value: run.perSecond,
              unit: 'msg/s',
              baseline,
              baselineLabel: 'stop-and-wait req/reply',
              better: Better.Higher,
              target: '≥ 1× baseline',
              met: run.perSecond >= baseline,
              note: joinNotes(
                run.complete ? '' : `only ${run.delivered} of ${total} ACKed within the time bound`,
                noiseNote(before.perSecond, after.perSecond),
              ),
            }),
            row({
              scenario: 'ordered',
              figure: 'executed msgs/s, 1 subject',
              value: executed.perSecond,
              unit: 'msg/s',
              baseline,
              baselineLabel: 'stop-and-wait req/reply',
              better: Better.Higher,
              target: 'in order',
              met: executed.complete && stats.orderViolations === 0,
              note: joinNotes(
                executed.complete ? '' : `only ${executed.executed} of ${total} executed within the time bound`,
                stats.orderViolations ? `${stats.orderViolations} ran out of order` : '',
              ),
            }),
          ],
          details: {
            messages: total,
            payloadBytes: bytes,
            steward: run,
            executed: { ...executed, stats: undefined },
            receiver: stats,
            baselineBefore: before,
            baselineAfter: after,
          },
        };
      } finally {
        await nc.close();
      }
    } finally {
      await sender.stop();
      await host.stop();
    }
  },
};
