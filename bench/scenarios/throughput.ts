/**
 * throughput: ACKed TextLogging (and REQToFileAppend, the same handler) messages/s
 * across 100 subjects, journaled on both ends: 50 receiving nodes × 2
 * methods, one sender node in the bench process. The receivers are a fleet
 * simulator in one host process (BENCH_RECEIVERS_PER_HOST=10 spreads them
 * over five). Ordered subjects are stop-and-wait today, so 100 messages are
 * in flight at most. An EventACK is ACKed once its receipt is durable;
 * the executions (file appends) are timed too, until the last one.
 *
 * Baseline: plain request/reply on the same 100 subjects, 100 in flight
 * (one stop-and-wait worker per subject), responders on 50 connections in
 * the same host process(es), the same payload size; measured before and after
 * steward.
 *
 * JetStream peer (issue 15), before and after steward, on a `-js` nats-server
 * of the scenario's own: the same 100 subjects and message size, acked publish
 * with 256 in flight from one connection, then one durable pull consumer per
 * receiving node (50, each on a connection of its own, explicit acks) until
 * every last ack is confirmed. Each node's two subjects are a file-backed
 * stream of their own: on nats-server 2.9, 50 filtered consumers of ONE shared
 * stream consume ~5× slower (each walks the interleaved messages of the
 * others), so the peer is JetStream laid out at its best; the shared stream is
 * measured once after steward and listed for comparison.
 */
import { join } from 'node:path';
import { connect } from '@nats-io/transport-node';
import { Fleet, numberedText } from '../lib/fleet.js';
import { HostGroup } from '../lib/hostGroup.js';
import { JetStreamPeer, PeerKey, StreamLayout, type ConsumerSpec, type JetStreamRunResult } from '../lib/jetstream.js';
import { payloadOf, requestLoop, ResponderMode } from '../lib/plainNats.js';
import { Better, row, type BenchContext, type Scenario, type ScenarioResult } from '../lib/scenario.js';
import { jetStreamPeers, joinNotes, noiseNote, sendNumbered, waitExecuted, wireSize } from './common.js';

const receivers = 50;
// Two methods with the same append handler. Not ECHOReply: the reply guard refuses a reply
// that answers no request of the receiver's own, so unsolicited ECHOReply messages fail.
const methods = ['TextLogging', 'REQToFileAppend'];

export const throughput: Scenario = {
  name: 'throughput',
  summary: 'ACKed TextLogging messages/s across 100 subjects (50 nodes × 2 methods), journaled on both ends',
  async run(ctx: BenchContext): Promise<ScenarioResult> {
    const total = ctx.quick ? 3000 : 20_000;
    const jsTotal = Math.max(total, 5000);
    const names = Array.from({ length: receivers }, (_, i) => `tp-r${i}`);
    const subjects = names.flatMap((n) => methods.map((m) => `${n}.EventACK.${m}`));
    const host = await HostGroup.start('throughput receivers', names, Number(process.env.BENCH_RECEIVERS_PER_HOST ?? receivers));
    const sender = await Fleet.start({ names: ['tp-sender'], brokerHostPort: ctx.nats.hostPort, root: join(ctx.dir, 'sender') });
    let js: JetStreamPeer | undefined;
    try {
      await host.startFleet(ctx.nats.hostPort, join(ctx.dir, 'fleet'), 60_000);
      const node = sender.node('tp-sender');
      const bytes = wireSize(node, { toNode: names[0]!, method: 'TextLogging', data: [numberedText(0)] });
      js = await JetStreamPeer.start(join(ctx.dir, 'jetstream'));
      const jsPeer = js;
      // One consumer per receiving node, as each steward node has its own connection.
      const consumers: ConsumerSpec[] = names.map((n) => ({ filter: `${n}.>`, subjects: methods.map((m) => `${n}.EventACK.${m}`) }));
      const jsRun = (count: number, layout: StreamLayout = StreamLayout.PerConsumer) =>
        jsPeer.run(subjects, consumers, count, bytes, layout);
      const jsRuns: JetStreamRunResult[] = [];
      const jsMeasure = async (when: string) => {
        const r = await jsRun(jsTotal);
        jsRuns.push(r);
        ctx.log(
          `JetStream ${when}: publish ${r.publishPerSecond.toFixed(0)}/s, consume+ack ${r.consumePerSecond.toFixed(0)}/s, end to end ${r.endToEndPerSecond.toFixed(0)}/s`,
        );
      };
      const plainRun = async () => {
        const nc = await connect({ servers: ctx.nats.url });
        try {
          return await requestLoop(
            nc,
            subjects.map((s) => `plain.${s}`),
            Math.round(total * 2),
            subjects.length,
            payloadOf(bytes),
          );
        } finally {
          await nc.close();
        }
      };
      await host.startResponders(ctx.nats.url, (n) => methods.map((m) => `plain.${n}.EventACK.${m}`), ResponderMode.Ack, 80);

      ctx.log(`warm-up: ${subjects.length * 2} messages`);
      await sendNumbered(sender, node, subjects, subjects.length * 2, ctx.budgetMs / 4);
      await plainRun();
      await jsRun(Math.min(1000, jsTotal));

      const before = await plainRun();
      await jsMeasure('before');
      ctx.log(`plain: ${before.perSecond.toFixed(0)}/s; steward: ${total} messages`);
      await host.all('fleet.reset');
      const run = await sendNumbered(sender, node, subjects, total, ctx.budgetMs * 0.35);
      const executed = await waitExecuted(host, total, run.wallStart, ctx.budgetMs * 0.4);
      const stats = executed.stats;
      const after = await plainRun();
      await jsMeasure('after');
      const shared = await jsRun(jsTotal, StreamLayout.Shared);
      ctx.log(`JetStream, one shared stream: end to end ${shared.endToEndPerSecond.toFixed(0)}/s`);
      const baseline = (before.perSecond + after.perSecond) / 2;
      const peers = jetStreamPeers('throughput', PeerKey.HundredSubjects, '100 subjects', jsRuns);
      const endToEnd = peers.find((p) => p.key === PeerKey.HundredSubjectsEndToEnd)!.value;
      peers.push({
        key: PeerKey.SharedStreamEndToEnd,
        scenario: 'throughput',
        figure: 'end to end msgs/s, 100 subjects, ONE stream, 50 filtered consumers',
        value: shared.endToEndPerSecond,
        unit: 'msg/s',
        label: 'JetStream end to end, one stream',
        note: joinNotes(
          `measured once; publish ${Math.round(shared.publishPerSecond)}/s, consume+ack ${Math.round(shared.consumePerSecond)}/s`,
          shared.orderViolations ? `${shared.orderViolations} out of order` : '',
        ),
      });
      ctx.log(
        `steward: ${run.perSecond.toFixed(0)}/s ACKed, ${executed.perSecond.toFixed(0)}/s executed; plain after: ${after.perSecond.toFixed(0)}/s`,
      );
      return {
        rows: [
          row({
            scenario: 'throughput',
            figure: 'ACKed msgs/s, 100 subjects',
            value: run.perSecond,
            unit: 'msg/s',
            baseline,
            baselineLabel: 'req/reply, 100 in flight',
            peer: endToEnd,
            peerLabel: 'JetStream end to end',
            better: Better.Higher,
            target: '≥ 1× JetStream, ≥ 0.5× baseline',
            met: run.perSecond >= endToEnd && run.perSecond >= 0.5 * baseline,
            note: joinNotes(
              run.complete ? '' : `only ${run.delivered} of ${total} ACKed within the time bound`,
              noiseNote(before.perSecond, after.perSecond),
            ),
          }),
          row({
            scenario: 'throughput',
            figure: 'executed msgs/s, 100 subjects',
            value: executed.perSecond,
            unit: 'msg/s',
            baseline,
            baselineLabel: 'req/reply, 100 in flight',
            peer: endToEnd,
            peerLabel: 'JetStream end to end',
            better: Better.Higher,
            note: joinNotes(
              executed.complete ? '' : `only ${executed.executed} of ${total} executed within the time bound`,
              stats.orderViolations ? `${stats.orderViolations} ran out of order` : '',
            ),
          }),
        ],
        peers,
        details: {
          messages: total,
          subjects: subjects.length,
          payloadBytes: bytes,
          steward: run,
          executed: { ...executed, stats: undefined },
          receivers: stats,
          baselineBefore: before,
          baselineAfter: after,
          jetStream: { server: jsPeer.version, runs: jsRuns, sharedStream: shared },
        },
      };
    } finally {
      await js?.stop();
      await sender.stop();
      await host.stop();
    }
  },
};
