/**
 * A fleet spread over several host processes (at most `perHost` nodes each),
 * driven as one: a big simulator process pays for every `fork()` in
 * proportion to its resident memory, which real machines, one node each, do
 * not; smaller hosts keep that cost near a real node's.
 */
import type { NodeConfig } from '@steward/node';
import { HostClient } from './hostClient.js';
import type { FleetStats } from './host.js';
import type { ResponderMode } from './plainNats.js';

/** Several hosts with a share of the fleet each. */
export class HostGroup {
  private constructor(
    readonly hosts: HostClient[],
    /** The node names of each host, by host index. */
    readonly shares: string[][],
  ) {}

  /** Starts one host per `perHost` names, in parallel. */
  static async start(label: string, names: string[], perHost: number): Promise<HostGroup> {
    const shares: string[][] = [];
    for (let i = 0; i < names.length; i += perHost) shares.push(names.slice(i, i + perHost));
    const hosts = await Promise.all(shares.map((_, i) => HostClient.start(`${label} #${i}`)));
    return new HostGroup(hosts, shares);
  }

  /** Starts each host's share of the fleet; resolves with the slowest host's start time. */
  async startFleet(brokerHostPort: string, root: string, timeoutMs: number, config?: Partial<NodeConfig>): Promise<{ startMs: number }> {
    const t0 = performance.now();
    await Promise.all(this.hosts.map((h, i) => h.call('fleet.start', { names: this.shares[i], brokerHostPort, root, config }, timeoutMs)));
    return { startMs: performance.now() - t0 };
  }

  /** Starts plain responders in each host, one connection per node of its share, on `subjectsOf(node)`. */
  async startResponders(url: string, subjectsOf: (node: string) => string[], mode: ResponderMode, replyBytes: number): Promise<void> {
    await Promise.all(
      this.hosts.map((h, i) => h.call('responders.start', { url, groups: this.shares[i]!.map(subjectsOf), mode, replyBytes })),
    );
  }

  /** Runs a command in every host. */
  all<T>(cmd: string, args?: unknown, timeoutMs?: number): Promise<T[]> {
    return Promise.all(this.hosts.map((h) => h.call<T>(cmd, args, timeoutMs)));
  }

  /** The fleet's counts summed over the hosts (earliest first, latest last times). */
  async stats(): Promise<FleetStats> {
    const all = await this.all<FleetStats>('fleet.stats');
    const sum = (k: keyof FleetStats) => all.reduce((a, s) => a + (s[k] as number), 0);
    const firsts = (k: 'firstDeliveredAt' | 'firstRepliedAt') => Math.min(...all.map((s) => s[k] || Infinity));
    const replied: Record<string, number> = {};
    for (const s of all) for (const [m, n] of Object.entries(s.replied)) replied[m] = (replied[m] ?? 0) + n;
    const failureKinds: Record<string, { count: number; first: string }> = {};
    for (const s of all) {
      for (const [k, v] of Object.entries(s.failureKinds ?? {})) {
        const f = (failureKinds[k] ??= { count: 0, first: v.first });
        f.count += v.count;
      }
    }
    return {
      delivered: sum('delivered'),
      expired: sum('expired'),
      repliedTotal: sum('repliedTotal'),
      replied,
      duplicates: sum('duplicates'),
      failures: sum('failures'),
      failureKinds,
      orderViolations: sum('orderViolations'),
      firstDeliveredAt: Number.isFinite(firsts('firstDeliveredAt')) ? firsts('firstDeliveredAt') : 0,
      lastDeliveredAt: Math.max(...all.map((s) => s.lastDeliveredAt)),
      firstRepliedAt: Number.isFinite(firsts('firstRepliedAt')) ? firsts('firstRepliedAt') : 0,
      lastRepliedAt: Math.max(...all.map((s) => s.lastRepliedAt)),
      rss: sum('rss'),
      journalCommits: sum('journalCommits'),
      journalCommitMs: sum('journalCommitMs'),
      journalSyncs: sum('journalSyncs'),
      journalSyncMs: sum('journalSyncMs'),
      cpuUs: sum('cpuUs'),
    };
  }

  /** Resident memory of all hosts together, in bytes. */
  rss(): number {
    return this.hosts.reduce((a, h) => a + h.memory().rss, 0);
  }

  /** Stops every host. */
  async stop(): Promise<void> {
    await Promise.all(this.hosts.map((h) => h.stop(30_000)));
  }
}
