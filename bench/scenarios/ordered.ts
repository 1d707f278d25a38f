/**
 * ordered: messages/s on ONE ordered subject (TextLogging to one node),
 * journaled on both ends, with the receiver checking that they ran in order.
 *
 * Baseline: plain stop-and-wait request/reply (one request in flight) on one
 * subject, same payload size, measured before and after steward.
 *
 * JetStream peer (issue 15), before and after steward too, on a `-js`
 * nats-server of the scenario's own: a file-backed stream, acked publish with
 * 256 in flight, then a pull consumer with explicit acks, one subject; end to
 * end is publish start → last ack. Also stop-and-wait publish (one, its ack,
 * the next).
 */
import { join } from 'node:path';
import { connect } from '@nats-io/transport-node';
import { Fleet, numberedText } from '../lib/fleet.js';
import { HostClient } from '../lib/hostClient.js';
import { JetStreamPeer, PeerKey, type JetStreamRunResult, type StopAndWaitResult } from '../lib/jetstream.js';
import { payloadOf, requestLoop, ResponderMode } from '../lib/plainNats.js';
import { Better, row, type BenchContext, type PeerFigure, type Scenario, type ScenarioResult } from '../lib/scenario.js';
import { jetStreamPeers, joinNotes, noiseNote, sendNumbered, waitExecuted, wireSize } from './common.js';

/** The JetStream figures of this scenario: the runs before and after steward, averaged. */
function orderedPeers(runs: JetStreamRunResult[], saw: StopAndWaitResult[]): PeerFigure[] {
  return [
    ...jetStreamPeers('ordered', PeerKey.OneSubject, '1 subject', runs),
    {
      key: PeerKey.StopAndWait,
      scenario: 'ordered',
      figure: 'stop-and-wait publish msgs/s, 1 subject',
      value: saw.reduce((sum, r) => sum + r.perSecond, 0) / saw.length,
      unit: 'msg/s',
      label: 'JetStream stop-and-wait publish',
      note: joinNotes(
        `${saw[0]!.messages.toLocaleString('en-US')} msgs`,
        saw.length === 2 ? noiseNote(saw[0]!.perSecond, saw[1]!.perSecond, 'JetStream') : '',
      ),
    },
  ];
}

export const ordered: Scenario = {
  name: 'ordered',
  summary: 'ACKed TextLogging messages/s on ONE ordered subject vs plain stop-and-wait request/reply',
  async run(ctx: BenchContext): Promise<ScenarioResult> {
    // As many as the JetStream peer sends (10,000; 2,000 in quick), so both are measured warm and at length.
    const total = ctx.quick ? 2000 : 10_000;
    const receiver = 'ord-r0';
    const subject = `${receiver}.EventACK.TextLogging`;
    const jsTotal = ctx.quick ? 2000 : 10_000;
    const sawTotal = ctx.quick ? 500 : 2000;
    const host = await HostClient.start('ordered receiver');
    const sender = await Fleet.start({ names: ['ord-sender'], brokerHostPort: ctx.nats.hostPort, root: join(ctx.dir, 'sender') });
    let js: JetStreamPeer | undefined;
    try {
      js = await JetStreamPeer.start(join(ctx.dir, 'jetstream'));
      const jsPeer = js;
      await host.call('fleet.start', { names: [receiver], brokerHostPort: ctx.nats.hostPort, root: join(ctx.dir, 'fleet') });
      await host.call('responders.start', { url: ctx.nats.url, groups: [[`plain.${subject}`]], mode: ResponderMode.Ack, replyBytes: 80 });
      const node = sender.node('ord-sender');
      const bytes = wireSize(node, { toNode: receiver, method: 'TextLogging', data: [numberedText(0)] });
      const nc = await connect({ servers: ctx.nats.url });
      const plainRun = () => requestLoop(nc, [`plain.${subject}`], Math.max(1000, total), 1, payloadOf(bytes));
      const jsRun = (count: number) => jsPeer.run([subject], [{ filter: subject, subjects: [subject] }], count, bytes);
      const jsRuns: JetStreamRunResult[] = [];
      const sawRuns: StopAndWaitResult[] = [];
      const jsMeasure = async (when: string) => {
        const r = await jsRun(jsTotal);
        const saw = await jsPeer.stopAndWait(sawTotal, bytes);
        jsRuns.push(r);
        sawRuns.push(saw);
        ctx.log(
          `JetStream ${when}: publish ${r.publishPerSecond.toFixed(0)}/s, consume+ack ${r.consumePerSecond.toFixed(0)}/s, ` +
            `end to end ${r.endToEndPerSecond.toFixed(0)}/s; stop-and-wait publish ${saw.perSecond.toFixed(0)}/s`,
        );
      };
      try {
        // A warm-up, as the JetStream peer gets one (its run of 500 below).
        await sendNumbered(sender, node, [subject], 500, ctx.budgetMs / 4);
        await plainRun();
        await jsRun(Math.min(500, jsTotal));
        const before = await plainRun();
        await jsMeasure('before');
        ctx.log(`plain stop-and-wait: ${before.perSecond.toFixed(0)}/s; steward: ${total} messages`);
        await host.call('fleet.reset');
        const run = await sendNumbered(sender, node, [subject], total, ctx.budgetMs * 0.35);
        const executed = await waitExecuted(host, total, run.wallStart, ctx.budgetMs * 0.3);
        const stats = executed.stats;
        const after = await plainRun();
        await jsMeasure('after');
        const baseline = (before.perSecond + after.perSecond) / 2;
        const peers = orderedPeers(jsRuns, sawRuns);
        const endToEnd = peers.find((p) => p.key === PeerKey.OneSubjectEndToEnd)!.value;
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
              peer: endToEnd,
              peerLabel: 'JetStream end to end',
              better: Better.Higher,
              target: '≥ 1× JetStream, ≥ 3× baseline',
              met: run.perSecond >= endToEnd && run.perSecond >= 3 * baseline,
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
              peer: endToEnd,
              peerLabel: 'JetStream end to end',
              better: Better.Higher,
              target: 'in order',
              met: executed.complete && stats.orderViolations === 0,
              note: joinNotes(
                executed.complete ? '' : `only ${executed.executed} of ${total} executed within the time bound`,
                stats.orderViolations ? `${stats.orderViolations} ran out of order` : '',
              ),
            }),
          ],
          peers,
          details: {
            messages: total,
            payloadBytes: bytes,
            steward: run,
            executed: { ...executed, stats: undefined },
            receiver: stats,
            baselineBefore: before,
            baselineAfter: after,
            jetStream: { server: js.version, runs: jsRuns, stopAndWait: sawRuns },
          },
        };
      } finally {
        await nc.close();
      }
    } finally {
      await js?.stop();
      await sender.stop();
      await host.stop();
    }
  },
};
