/**
 * What the inspector page shows, as plain JSON: the supervision tree (node →
 * supervisors → processes → message actors), totals, and the recent
 * failures and supervision events. Built from the root actor's snapshot,
 * walked recursively, plus the message actors the live model knows from the
 * event stream (they are not XState children of their process).
 *
 * Sized for big nodes: message actors are summarised per process (count by
 * state) and only the first few are listed; processes beyond a cap are
 * counted, not listed. The page pages through the rest (see
 * {@link pageActors}).
 */
import type { AnyActorRef } from 'xstate';
import { isSupervisorSnapshot } from '../observability/processList.js';
import type { ActorEntry, FailureEntry, LiveModel, ProcessHealth, SupervisionEntry } from './liveModel.js';

/** Which machine drawing fits an actor. */
export type MachineName = 'supervisor' | 'delivery' | 'execution';

/** One box of the tree. */
export interface TreeNode {
  /** Unique path, e.g. `root/publishers/g03/ship1.EventACK.TextLogging`. */
  path: string;
  /** The actor id (child id; the node name for the root). */
  id: string;
  kind: 'node' | 'supervisor' | 'process';
  /** Supervisors: their machine state; processes: running, restarting, stopped or error. */
  state: string;
  machine?: MachineName;
  health?: ProcessHealth;
  children?: TreeNode[];
  /** Child processes left out (cap or filter). */
  hiddenChildren?: number;
  /** The message actors of a publisher or subscriber. */
  messages?: MessageGroup;
  /** Supervisors: the message actors of every process below, counted (listed or not). */
  aggregate?: Omit<MessageGroup, 'items'>;
}

/** The message actors of one process: totals and the first few. */
export interface MessageGroup {
  /** In flight (not finished). */
  active: number;
  /** In flight and recently finished, by state. */
  byState: Record<string, number>;
  /** Listed: in flight first (oldest first), then the recently finished (newest first). */
  items: ActorEntry[];
  /** In flight and lingering, listed or not. */
  total: number;
}

/** The whole page's data. */
export interface InspectorView {
  node: string;
  version: string;
  startedAt: number;
  now: number;
  /** The live model's revision this view was built at. */
  rev: number;
  brokerConnected: boolean;
  brokerServer?: string;
  totals: LiveModel['totals'];
  inflight: { delivery: number; execution: number };
  tree: TreeNode;
  recent: ActorEntry[];
  failures: FailureEntry[];
  supervision: SupervisionEntry[];
  /** The filter the view was built with. */
  filter: string;
}

/** Options of {@link buildView}. */
export interface ViewOptions {
  node: string;
  version: string;
  startedAt: number;
  brokerConnected: boolean;
  brokerServer?: string;
  root: AnyActorRef | undefined;
  live: LiveModel;
  /**
   * Only processes whose path, or one of whose messages' id, subject or peer, contains this text.
   * @defaultValue '' (all)
   */
  filter?: string;
  /**
   * Message actors listed per process.
   * @defaultValue 8
   */
  perProcess?: number;
  /**
   * Processes listed per supervisor (those with messages in flight first).
   * @defaultValue 100
   */
  maxProcesses?: number;
  /**
   * Entries of the recent lists.
   * @defaultValue 30
   */
  recent?: number;
}

const processPattern = /^root\/(publishers|subscribers)\//;

function stateCounts(items: ActorEntry[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const a of items) out[a.state] = (out[a.state] ?? 0) + 1;
  return out;
}

function matches(filter: string, path: string, items: ActorEntry[] | undefined): boolean {
  if (!filter) return true;
  const f = filter.toLowerCase();
  if (path.toLowerCase().includes(f)) return true;
  return (items ?? []).some(
    (a) => a.id.toLowerCase().includes(f) || a.subject.toLowerCase().includes(f) || a.peer.toLowerCase().includes(f),
  );
}

/** Message actors by process path: in flight (oldest first), then lingering finished ones (newest first). */
export function groupActors(live: LiveModel): Map<string, ActorEntry[]> {
  const groups = new Map<string, ActorEntry[]>();
  const active = [...live.activeActors()].sort((a, b) => a.startedAt - b.startedAt);
  const seen = new Set<string>();
  for (const a of active) {
    seen.add(`${a.kind}:${a.id}`);
    (groups.get(a.process) ?? groups.set(a.process, []).get(a.process)!).push(a);
  }
  for (const a of live.lingering().reverse()) {
    if (seen.has(`${a.kind}:${a.id}`)) continue;
    (groups.get(a.process) ?? groups.set(a.process, []).get(a.process)!).push(a);
  }
  return groups;
}

/** Builds the page's data; see the module doc. */
export function buildView(o: ViewOptions): InspectorView {
  const perProcess = o.perProcess ?? 8;
  const maxProcesses = o.maxProcesses ?? 100;
  const filter = (o.filter ?? '').trim();
  const groups = groupActors(o.live);
  const health = o.live.processHealth();

  const group = (path: string): MessageGroup | undefined => {
    const items = groups.get(path);
    if (!items && !processPattern.test(path)) return undefined;
    const list = items ?? [];
    return {
      active: list.filter((a) => a.finishedAt === undefined).length,
      byState: stateCounts(list),
      items: list.slice(0, perProcess),
      total: list.length,
    };
  };

  const walk = (ref: AnyActorRef, path: string, id: string): TreeNode => {
    const snap = ref.getSnapshot() as { status?: string; value?: unknown } | undefined;
    const h = health.get(path);
    if (!isSupervisorSnapshot(snap)) {
      const node: TreeNode = { path, id, kind: 'process', state: snap?.status === 'active' ? 'running' : (snap?.status ?? 'unknown') };
      const messages = group(path);
      if (messages) node.messages = messages;
      if (h) node.health = h;
      return node;
    }
    const node: TreeNode = {
      path,
      id,
      kind: path === 'root' ? 'node' : 'supervisor',
      state: typeof snap.value === 'string' ? snap.value : JSON.stringify(snap.value),
      machine: 'supervisor',
    };
    if (h) node.health = h;
    const actors = snap.children ?? {};
    let children: TreeNode[] = [];
    const listed = new Set<string>();
    for (const [childId, record] of snap.context.children as Map<string, { status?: string }>) {
      const childPath = `${path}/${childId}`;
      listed.add(childPath);
      const ref = actors[childId];
      if (ref && record.status === 'running') children.push(walk(ref, childPath, childId));
      else {
        const stub: TreeNode = { path: childPath, id: childId, kind: 'process', state: 'restarting' };
        const ch = health.get(childPath);
        if (ch) stub.health = ch;
        const messages = group(childPath);
        if (messages) stub.messages = messages;
        children.push(stub);
      }
    }
    // Processes that stopped (an idle publisher) while their messages still linger on the page.
    for (const [p, items] of groups) {
      const parent = p.slice(0, p.lastIndexOf('/'));
      if (parent !== path || listed.has(p)) continue;
      const id = p.slice(parent.length + 1);
      children.push({
        path: p,
        id,
        kind: 'process',
        state: 'stopped',
        messages: group(p) ?? { active: 0, byState: stateCounts(items), items: [], total: 0 },
      });
    }
    // Publisher groups without publishers are an implementation detail (see publisherGroups.ts): not shown.
    if (path === 'root/publishers')
      children = children.filter((c) => c.kind !== 'supervisor' || c.children?.length || c.hiddenChildren || c.health);
    const before = children.length;
    // Under a filter, a supervisor stays only when something below it matches (the publisher groups).
    children = children.filter((c) =>
      c.kind === 'process' ? matches(filter, c.path, groups.get(c.path)) : !filter || Boolean(c.children?.length),
    );
    let hidden = before - children.length;
    if (children.length > maxProcesses) {
      // Busy processes first, then by name, so the cap drops the idle ones.
      children.sort((a, b) => (b.messages?.active ?? 0) - (a.messages?.active ?? 0) || a.id.localeCompare(b.id));
      hidden += children.length - maxProcesses;
      children = children.slice(0, maxProcesses);
    }
    node.children = children;
    if (hidden > 0) node.hiddenChildren = hidden;
    const below = [...groups].filter(([p]) => p.startsWith(path + '/')).flatMap(([, items]) => items);
    if (below.length) {
      node.aggregate = { active: below.filter((a) => a.finishedAt === undefined).length, byState: stateCounts(below), total: below.length };
    }
    return node;
  };

  const tree: TreeNode = o.root
    ? walk(o.root, 'root', o.node)
    : { path: 'root', id: o.node, kind: 'node', state: 'starting', children: [] };
  tree.id = o.node;
  const recentCount = o.recent ?? 30;
  const view: InspectorView = {
    node: o.node,
    version: o.version,
    startedAt: o.startedAt,
    now: Date.now(),
    rev: o.live.rev,
    brokerConnected: o.brokerConnected,
    totals: { ...o.live.totals },
    inflight: { delivery: o.live.activeCount('delivery'), execution: o.live.activeCount('execution') },
    tree,
    recent: o.live.recent(recentCount),
    failures: o.live.failures(recentCount),
    supervision: o.live.supervision(recentCount),
    filter,
  };
  if (o.brokerServer) view.brokerServer = o.brokerServer;
  return view;
}

/** One page of the message actors of a process, optionally of one state. */
export function pageActors(
  live: LiveModel,
  process: string,
  offset: number,
  limit: number,
  state?: string,
): { process: string; total: number; offset: number; items: ActorEntry[] } {
  const all = (groupActors(live).get(process) ?? []).filter((a) => !state || a.state === state);
  const start = Math.max(0, Math.min(offset, all.length));
  return { process, total: all.length, offset: start, items: all.slice(start, start + Math.max(1, Math.min(limit, 500))) };
}
