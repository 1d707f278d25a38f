/**
 * restart: a sender node (`steward start`, the built CLI, a child process)
 * takes K numbered TextLogging/REQToFileAppend messages for 100 subjects (50
 * receiving nodes × 2 methods) from inmsg.txt while the receivers are
 * offline, so all K are unfinished; it is killed with SIGKILL. The receivers
 * come up, the sender is started again, and we time from that spawn to the
 * first message a receiver runs, and to the last (bounded). The receivers
 * check the order per subject.
 *
 * Baselines: a plain node process that connects with nats.js and gets one
 * reply (spawn → first reply), and plain request/reply of K messages with
 * 100 in flight (the drain).
 */
import Database from 'better-sqlite3';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { connect } from '@nats-io/transport-node';
import { numberedText } from '../lib/fleet.js';
import { HostClient } from '../lib/hostClient.js';
import { PeerKey } from '../lib/jetstream.js';
import type { FleetStats } from '../lib/host.js';
import { payloadOf, requestLoop, ResponderMode } from '../lib/plainNats.js';
import { plainClient, stewardStartArgs, TimedProcess } from '../lib/processRun.js';
import { Better, reached, row, sleep, type BenchContext, type Scenario, type ScenarioResult } from '../lib/scenario.js';

const receivers = 50;
// Two methods with the same append handler. Not ECHOReply: the reply guard refuses a reply
// that answers no request of the receiver's own, so unsolicited ECHOReply messages fail.
const methods = ['TextLogging', 'REQToFileAppend'];

/** Rows in the sender's outbox (0 while the journal does not exist yet). */
function outboxCount(journal: string, open = false): number {
  try {
    const db = new Database(journal, { readonly: true, fileMustExist: true });
    try {
      const sql = `SELECT COUNT(*) AS n FROM outbox${open ? ` WHERE state NOT IN ('delivered','expired')` : ''}`;
      return (db.prepare(sql).get() as { n: number }).n;
    } finally {
      db.close();
    }
  } catch {
    return 0;
  }
}

export const restart: Scenario = {
  name: 'restart',
  summary: 'a sender killed (SIGKILL) with K unfinished messages restarts: time to first delivery, time to drain',
  async run(ctx: BenchContext): Promise<ScenarioResult> {
    const total = Number(process.env.BENCH_RESTART ?? (ctx.quick ? 5_000 : 100_000));
    const drainBoundMs = ctx.quick ? 4_000 : ctx.budgetMs * 0.55;
    const names = Array.from({ length: receivers }, (_, i) => `rs-r${i}`);
    const subjects = names.flatMap((n) => methods.map((m) => `${n}.EventACK.${m}`));
    const folder = join(ctx.dir, 'rs-sender');
    mkdirSync(folder, { recursive: true });
    const journal = join(folder, 'state', 'journal.db');
    const entries = Array.from({ length: total }, (_, i) => {
      const [toNode, , method] = subjects[i % subjects.length]!.split('.') as [string, string, string];
      return {
        toNode,
        method,
        commandOrEvent: 'EventACK',
        data: [numberedText(Math.floor(i / subjects.length))],
        retries: -1,
        timeout: 10,
      };
    });
    writeFileSync(join(folder, 'inmsg.txt'), JSON.stringify(entries));
    const args = stewardStartArgs('rs-sender', folder, ctx.nats.hostPort, ['--logLevel', 'warn']);
    const host = await HostClient.start('restart receivers');
    let second: TimedProcess | undefined;
    try {
      // 1. Accept all K from inmsg.txt while nobody listens, then kill -9.
      const first = TimedProcess.node(args);
      const t0 = performance.now();
      const accepted = await reached(() => outboxCount(journal) >= total, ctx.budgetMs * 0.3, 100);
      const acceptMs = performance.now() - t0;
      await sleep(300);
      await first.stop('SIGKILL');
      const unfinished = outboxCount(journal, true);
      if (!accepted || unfinished < total)
        throw new Error(`the sender took ${outboxCount(journal)} of ${total} messages; ${unfinished} unfinished`);
      ctx.log(
        `sender took ${total.toLocaleString('en-US')} messages from inmsg.txt in ${(acceptMs / 1000).toFixed(1)} s; killed with all unfinished`,
      );

      // 2. Receivers up, then the sender again.
      await host.call('fleet.start', { names, brokerHostPort: ctx.nats.hostPort, root: join(ctx.dir, 'receivers') });
      await host.call('fleet.reset');
      const startedAt = Date.now();
      second = TimedProcess.node(args);
      let s = await host.call<FleetStats>('fleet.stats');
      // The sender is done when its outbox has nothing open (every message ACKed on durable receipt);
      // the receivers run the messages after that, in order per subject.
      let ackedAllMs: number | undefined;
      let lastCheck = 0;
      await reached(
        async () => {
          s = await host.call<FleetStats>('fleet.stats');
          if (ackedAllMs === undefined && Date.now() - lastCheck >= 1000) {
            lastCheck = Date.now();
            if (outboxCount(journal, true) === 0) ackedAllMs = Date.now() - startedAt;
          }
          return s.repliedTotal >= total;
        },
        drainBoundMs,
        250,
      );
      // The receivers may have run everything a moment before the sender recorded its last ACKs: wait for those
      // too (bounded), so "all ACKed" is measured, not missed.
      if (ackedAllMs === undefined) {
        const ackedAll = await reached(
          () => outboxCount(journal, true) === 0,
          Math.max(5_000, drainBoundMs - (Date.now() - startedAt)),
          200,
        );
        if (ackedAll) ackedAllMs = Date.now() - startedAt;
      }
      const firstMs = s.firstRepliedAt ? s.firstRepliedAt - startedAt : Number.NaN;
      const complete = s.repliedTotal >= total;
      const drainMs = s.lastRepliedAt ? s.lastRepliedAt - startedAt : Number.NaN;
      // Executions per second once the first one ran (the restart itself is the other figure).
      const drainRate = s.lastRepliedAt > s.firstRepliedAt ? ((s.repliedTotal - 1) / (s.lastRepliedAt - s.firstRepliedAt)) * 1000 : 0;
      await second.stop('SIGTERM');
      const left = outboxCount(journal, true);
      ctx.log(
        `restarted: first delivery after ${firstMs} ms; all ACKed after ${ackedAllMs ?? '?'} ms; ` +
          `${s.repliedTotal.toLocaleString('en-US')} run in ${(drainMs / 1000).toFixed(1)} s; ` +
          `${s.duplicates} duplicates, ${s.orderViolations} out of order, ${left} left unfinished`,
      );

      // 3. Baselines.
      await host.call('responders.start', {
        url: ctx.nats.url,
        groups: [['plain.rs.first'], ...names.map((n) => methods.map((m) => `plain.${n}.${m}`))],
        mode: ResponderMode.Ack,
        replyBytes: 80,
      });
      const plainFirstMs = await TimedProcess.node([plainClient, 'request', ctx.nats.url, 'plain.rs.first']).waitLine(
        /^first-reply$/,
        20_000,
      );
      const nc = await connect({ servers: ctx.nats.url });
      const plainCount = Math.min(total, ctx.quick ? 2000 : 20_000);
      const plain = await requestLoop(
        nc,
        names.flatMap((n) => methods.map((m) => `plain.${n}.${m}`)),
        plainCount,
        subjects.length,
        payloadOf(Buffer.byteLength(JSON.stringify(entries[0])) + 150),
      );
      await nc.close();
      return {
        rows: [
          row({
            scenario: 'restart',
            figure: `restart → first delivery, ${total.toLocaleString('en-US')} unfinished`,
            value: firstMs,
            unit: 'ms',
            baseline: plainFirstMs,
            baselineLabel: 'node + nats.js: spawn → first reply',
            better: Better.Lower,
            target: '≤ 3000 ms',
            met: firstMs <= 3000,
          }),
          row({
            scenario: 'restart',
            figure: `restart → all ${total.toLocaleString('en-US')} ACKed`,
            value: ackedAllMs ?? Number.NaN,
            unit: 'ms',
            baseline: (total / plain.perSecond) * 1000,
            baselineLabel: `req/reply, 100 in flight, rate of ${plainCount.toLocaleString('en-US')} msgs`,
            better: Better.Lower,
            ...(ackedAllMs === undefined
              ? { note: `the sender still had messages open ${Math.round(Math.max(drainBoundMs, 5_000) / 1000)} s after its restart` }
              : {}),
          }),
          row({
            scenario: 'restart',
            figure: `restart → all ${total.toLocaleString('en-US')} run`,
            value: complete ? drainMs : Number.NaN,
            unit: 'ms',
            baseline: (total / plain.perSecond) * 1000,
            baselineLabel: `req/reply, 100 in flight, rate of ${plainCount.toLocaleString('en-US')} msgs`,
            better: Better.Lower,
            target: 'all, in order',
            met: complete && s.orderViolations === 0,
            note: complete
              ? `${s.duplicates} duplicates suppressed, ${s.orderViolations} out of order`
              : `drain bounded to ${Math.round(drainBoundMs / 1000)} s: ${s.repliedTotal.toLocaleString('en-US')} of ${total.toLocaleString('en-US')} run, ` +
                `${s.orderViolations} out of order; at the drain rate all would take ${Math.round(total / drainRate).toLocaleString('en-US')} s`,
          }),
          row({
            scenario: 'restart',
            figure: 'drain rate after restart, 100 subjects',
            value: drainRate,
            unit: 'msg/s',
            baseline: plain.perSecond,
            baselineLabel: 'req/reply, 100 in flight',
            // Queued messages draining, as JetStream's consumers drain their streams (throughput scenario's figure).
            peerKey: PeerKey.HundredSubjectsConsume,
            better: Better.Higher,
          }),
        ],
        details: {
          messages: total,
          subjects: subjects.length,
          inmsgAcceptMs: acceptMs,
          firstDeliveryMs: firstMs,
          drainMs,
          drainBoundMs,
          drainRatePerS: drainRate,
          allAckedMs: ackedAllMs,
          complete,
          receivers: s,
          leftUnfinished: left,
          plainFirstReplyMs: plainFirstMs,
          plainDrain: plain,
        },
      };
    } finally {
      await second?.stop('SIGKILL');
      await host.stop();
    }
  },
};
