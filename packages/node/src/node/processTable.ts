/**
 * The node's own processes as the REQOpProcess* methods see them: the
 * actors of the supervision tree, named by path (`subscribers/REQCliCommand`,
 * `publishers/<group>/<subject>`, `inputs/readFolder`). Listing walks the tree's
 * snapshots; starting and stopping send `START_CHILD` / `STOP_CHILD` to the
 * supervisor that owns the process, so supervision stays the only place
 * where processes are made. @internal
 */
import type { AnyActorRef } from 'xstate';
import type { ChildSpec } from '@steward/core';

/** One process of the tree. */
export interface ProcessEntry {
  /** `supervisor/child`, e.g. `subscribers/REQHttpGet`; nested supervisors add levels. */
  path: string;
  /** `restarting` while the supervisor's backoff runs. */
  status: 'running' | 'restarting';
  /** Restarts inside the supervisor's restart window. */
  restarts: number;
}

/** What REQOpProcessList/Start/Stop can do. */
export interface ProcessTable {
  list(): ProcessEntry[];
  /** Starts the process at `path`; returns what happened, in words. @throws Error when it cannot. */
  start(path: string): string;
  /** Stops the process at `path`; returns what happened, in words. @throws Error when it cannot. */
  stop(path: string): string;
}

/** Options of {@link SupervisorProcessTable}. */
export interface SupervisorProcessTableOptions {
  /** The root supervisor, once it exists. */
  root: () => AnyActorRef | undefined;
  /** The child spec to start at `path` (`supervisor/id`), or undefined when that is not a startable process. */
  startable: (path: string) => { supervisor: string; spec: ChildSpec } | undefined;
  /** Paths that must not be stopped (the REQOpProcess subscribers themselves). */
  keep: ReadonlySet<string>;
}

interface SupervisorSnapshotLike {
  context?: { children?: unknown };
  children?: Record<string, AnyActorRef | undefined>;
}

/** The process table of a node's supervision tree. */
export class SupervisorProcessTable implements ProcessTable {
  constructor(private readonly opts: SupervisorProcessTableOptions) {}

  list(): ProcessEntry[] {
    const out: ProcessEntry[] = [];
    const root = this.opts.root();
    if (root) walk(root, '', out);
    return out;
  }

  start(path: string): string {
    const found = this.opts.startable(path);
    if (!found) throw new Error(`"${path}" is not a process that can be started (e.g. subscribers/<method> or inputs/readFolder)`);
    const sup = this.supervisor(found.supervisor);
    const running = this.list().some((p) => p.path === path);
    sup.send({ type: 'START_CHILD', spec: found.spec });
    return running ? `${path} is already running` : `${path} started`;
  }

  stop(path: string): string {
    if (this.opts.keep.has(path)) throw new Error(`${path} is needed to start processes again; it is not stopped`);
    const slash = path.lastIndexOf('/');
    if (slash <= 0) throw new Error(`"${path}" is not a process path (supervisor/process, e.g. subscribers/REQHttpGet)`);
    if (!this.list().some((p) => p.path === path)) throw new Error(`${path} is not running`);
    this.supervisor(path.slice(0, slash)).send({ type: 'STOP_CHILD', id: path.slice(slash + 1) });
    return `${path} stopped`;
  }

  private supervisor(path: string): AnyActorRef {
    const ref = actorAt(this.opts.root(), path.split('/'));
    if (!ref) throw new Error(`no supervisor "${path}"`);
    return ref;
  }
}

/** The running actor at `path` (a child id per level) below `ref`, if there is one. */
export function actorAt(ref: AnyActorRef | undefined, path: readonly string[]): AnyActorRef | undefined {
  for (const id of path) ref = (ref?.getSnapshot() as SupervisorSnapshotLike | undefined)?.children?.[id];
  return ref;
}

function walk(ref: AnyActorRef, prefix: string, out: ProcessEntry[]): void {
  const snap = ref.getSnapshot() as SupervisorSnapshotLike;
  const records = snap.context?.children;
  if (!(records instanceof Map)) return;
  for (const [id, rec] of records as Map<string, { status: 'running' | 'restarting'; restarts: number[] }>) {
    const path = prefix ? `${prefix}/${id}` : id;
    out.push({ path, status: rec.status, restarts: rec.restarts.length });
    const child = snap.children?.[id];
    if (child) walk(child, path, out);
  }
}
