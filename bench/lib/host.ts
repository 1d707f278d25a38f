/**
 * A benchmark host: a child process the bench drives over IPC, so the
 * receiving side (a fleet of nodes, or plain responders) runs on its own
 * event loop, as it would on other machines. Started by {@link HostClient}.
 *
 * Requests are `{ id, cmd, args }`; answers `{ id, ok, value | error }`.
 */
import type { NodeConfig } from '@steward/node';
import { Fleet, numberedText } from './fleet.js';
import { PlainResponders, type ResponderMode } from './plainNats.js';

/** Arguments of the `fleet.start` command. */
export interface FleetStartArgs {
  names: string[];
  brokerHostPort: string;
  root: string;
  config?: Partial<NodeConfig>;
}

/** Arguments of the `fleet.submit` command: numbered TextLogging-style messages from one fleet node. */
export interface SubmitArgs {
  from: string;
  toNode: string;
  method: string;
  count: number;
  /** Messages per journal submission. */
  chunk: number;
  bytes: number;
  timeout: number;
  retries: number;
}

/** What the `fleet.stats` command answers. */
export interface FleetStats {
  delivered: number;
  expired: number;
  repliedTotal: number;
  replied: Record<string, number>;
  duplicates: number;
  failures: number;
  /** Failures by kind, with the text of the first of each. */
  failureKinds?: Record<string, { count: number; first: string }>;
  orderViolations: number;
  firstDeliveredAt: number;
  lastDeliveredAt: number;
  firstRepliedAt: number;
  lastRepliedAt: number;
  rss: number;
  /** Journal transactions committed by the fleet's nodes, and the milliseconds they took on the main thread (with `journalSync: full` the WAL sync runs off it). */
  journalCommits: number;
  journalCommitMs: number;
  /** WAL syncs (`fdatasync`, off the main thread) of the fleet's nodes, and the milliseconds each waited for the disk, summed. */
  journalSyncs: number;
  journalSyncMs: number;
  /** CPU microseconds (user + system) the host process used since the last reset. */
  cpuUs: number;
}

let fleet: Fleet | undefined;
/** Journal totals at the last reset, so stats count from there. */
let journalBase = { journalCommits: 0, journalCommitMs: 0, journalSyncs: 0, journalSyncMs: 0 };
/** CPU usage at the last reset. */
let cpuBase = process.cpuUsage();
const responders: PlainResponders[] = [];

const commands: Record<string, (args: never) => Promise<unknown>> = {
  'fleet.start': async (a: FleetStartArgs) => {
    fleet = await Fleet.start({
      names: a.names,
      brokerHostPort: a.brokerHostPort,
      root: a.root,
      ...(a.config ? { config: a.config } : {}),
    });
    return { startMs: fleet.startMs, rss: process.memoryUsage().rss };
  },
  'fleet.stop': async () => {
    await fleet?.stop();
    fleet = undefined;
  },
  'fleet.reset': () => {
    fleet?.tracker.reset();
    journalBase = fleet?.journalTotals() ?? journalBase;
    cpuBase = process.cpuUsage();
    return Promise.resolve();
  },
  'fleet.stats': () => {
    const t = fleet?.tracker;
    const totals = fleet?.journalTotals() ?? journalBase;
    const stats: FleetStats = {
      delivered: t?.delivered ?? 0,
      expired: t?.expired ?? 0,
      repliedTotal: t?.repliedTotal ?? 0,
      replied: Object.fromEntries(t?.replied ?? []),
      duplicates: t?.duplicates ?? 0,
      failures: t?.failures ?? 0,
      failureKinds: t?.failureKinds ?? {},
      orderViolations: t?.orderViolations ?? 0,
      firstDeliveredAt: t?.firstDeliveredAt ?? 0,
      lastDeliveredAt: t?.lastDeliveredAt ?? 0,
      firstRepliedAt: t?.firstRepliedAt ?? 0,
      lastRepliedAt: t?.lastRepliedAt ?? 0,
      rss: process.memoryUsage().rss,
      journalCommits: totals.journalCommits - journalBase.journalCommits,
      journalCommitMs: totals.journalCommitMs - journalBase.journalCommitMs,
      journalSyncs: totals.journalSyncs - journalBase.journalSyncs,
      journalSyncMs: totals.journalSyncMs - journalBase.journalSyncMs,
      cpuUs: ((cpu) => cpu.user + cpu.system)(process.cpuUsage(cpuBase)),
    };
    return Promise.resolve(stats);
  },
  'fleet.submit': async (a: SubmitArgs) => {
    if (!fleet) throw new Error('no fleet');
    const services = fleet.node(a.from).services!;
    const t0 = performance.now();
    let peakRss = process.memoryUsage().rss;
    for (let i = 0; i < a.count; i += a.chunk) {
      const n = Math.min(a.chunk, a.count - i);
      await services.submit(
        Array.from({ length: n }, (_, k) => ({
          spec: {
            toNode: a.toNode,
            method: a.method,
            commandOrEvent: 'EventACK' as const,
            data: [numberedText(i + k, a.bytes)],
            timeout: a.timeout,
            retries: a.retries,
          },
        })),
      );
      peakRss = Math.max(peakRss, process.memoryUsage().rss);
    }
    return { ms: performance.now() - t0, peakRss };
  },
  'responders.start': async (a: { url: string; groups: string[][]; mode: ResponderMode; replyBytes: number }) => {
    responders.push(await PlainResponders.start(a.url, a.groups, a.mode, a.replyBytes));
  },
  'responders.stop': async () => {
    await Promise.all(responders.splice(0).map((r) => r.stop()));
  },
  mem: () => Promise.resolve(process.memoryUsage()),
  gc: () => {
    (globalThis as { gc?: () => void }).gc?.();
    return Promise.resolve(process.memoryUsage());
  },
};

process.on('message', (raw: { id: number; cmd: string; args: unknown }) => {
  const fn = commands[raw.cmd];
  const run = fn ? fn(raw.args as never) : Promise.reject(new Error(`unknown command ${raw.cmd}`));
  run.then(
    (value) => process.send?.({ id: raw.id, ok: true, value }),
    (err: unknown) => process.send?.({ id: raw.id, ok: false, error: err instanceof Error ? (err.stack ?? err.message) : String(err) }),
  );
});
// Stop when the bench goes away, whatever way it ended.
process.on('disconnect', () => {
  void Promise.all([fleet?.stop(), ...responders.map((r) => r.stop())]).finally(() => process.exit(0));
});
process.send?.({ id: 0, ok: true, value: 'ready' });
