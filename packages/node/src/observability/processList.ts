/**
 * The processes of a node's actor tree as metrics and the inspector see
 * them: every process below the root, by path, and whether it runs.
 */
import type { AnyActorRef } from 'xstate';

/** A process found in the actor tree: its path and whether it runs (or waits for its restart). */
export interface ProcessStatus {
  path: string;
  running: boolean;
}

interface SupervisorSnapshotLike {
  value?: unknown;
  status?: string;
  context?: { name?: unknown; children?: unknown };
  children?: Record<string, AnyActorRef | undefined>;
}

/** Whether an actor snapshot is one of a supervisor (see `supervisorMachine`). */
export function isSupervisorSnapshot(snap: unknown): snap is SupervisorSnapshotLike & { context: { children: Map<string, unknown> } } {
  const s = snap as SupervisorSnapshotLike | undefined;
  return typeof s?.context?.name === 'string' && s.context.children instanceof Map;
}

/**
 * Every process below `root` (supervisors excluded), by path
 * (`root/publishers/<group>/<subject>`); a process waiting for its restart is
 * listed as not running.
 */
export function listProcesses(root: AnyActorRef | undefined): ProcessStatus[] {
  const out: ProcessStatus[] = [];
  const walk = (ref: AnyActorRef, path: string) => {
    const snap = ref.getSnapshot() as unknown;
    if (!isSupervisorSnapshot(snap)) {
      out.push({ path, running: (snap as { status?: string }).status === 'active' });
      return;
    }
    const actors = snap.children ?? {};
    for (const [id, record] of snap.context.children as Map<string, { status?: string }>) {
      const child = actors[id];
      if (child && record.status === 'running') walk(child, `${path}/${id}`);
      else out.push({ path: `${path}/${id}`, running: false });
    }
  };
  if (root) walk(root, 'root');
  return out;
}
