/**
 * A command's process tree and how to stop it: the process group plus every
 * descendant found through `/proc` parent links (a child that called `setsid`
 * has left the group but is still ours to stop), SIGTERM first, SIGKILL after
 * a grace period.
 *
 * Linux only: the tree walk reads `/proc/<pid>/stat`.
 */
import { readdirSync, readFileSync } from 'node:fs';

/**
 * How long to wait for the main process to be reaped after SIGKILL. SIGKILL
 * cannot be ignored, but a process stuck in uninterruptible sleep (a hung NFS
 * mount) dies only when the kernel call returns; we do not wait for that.
 */
const REAP_AFTER_KILL_MS = 5000;
const KILL_POLL_MS = 50;

/**
 * Sends `signal` to the process group `pid` and to every descendant of `pid`
 * (found through `/proc` parent links) that left the group, e.g. with
 * `setsid`. The tree is listed before anything is signalled, because a killed
 * parent's children are re-parented and can no longer be found from `pid`.
 * Members of the group that are not descendants (orphans re-parented after
 * their parent died) are included too.
 *
 * Returns the pids that were signalled. Processes that exited meanwhile
 * (ESRCH), zombies, and processes this user may not signal (EPERM) are left
 * out; signalling continues past them.
 *
 * @throws RangeError when `pid` is not an integer above 1 or is this process,
 * since `kill(-1)` and `kill(0)` would reach far more than one tree.
 */
export function killProcessTree(pid: number, signal: NodeJS.Signals): number[] {
  assertKillablePid(pid);
  return signalTree(pid, signal, true).map((p) => p.pid);
}

/** One line of `/proc/<pid>/stat`, the fields used here. */
interface ProcInfo {
  pid: number;
  ppid: number;
  pgrp: number;
  /** One-letter state: R, S, D, Z (zombie), X (dead), ... */
  state: string;
  /** Start time in clock ticks since boot; with the pid it names one process even if the pid is reused. */
  startTime: string;
}

/** Reads `/proc/<pid>/stat`; `undefined` if the process is gone. */
function readProcInfo(pid: number): ProcInfo | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // The command name is in parentheses and may itself contain spaces and
  // parentheses, so the fixed fields start after the last ')'.
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  const [state, ppid, pgrp] = fields;
  const startTime = fields[19];
  if (state === undefined || ppid === undefined || pgrp === undefined || startTime === undefined) {
    return undefined;
  }
  return { pid, ppid: Number(ppid), pgrp: Number(pgrp), state, startTime };
}

/**
 * Every live process of the tree rooted at `pid` (`pid` included), every
 * member of process group `pid`, and their descendants; `undefined` if
 * `/proc` cannot be read.
 */
function listProcessTree(pid: number): ProcInfo[] | undefined {
  let names: string[];
  try {
    names = readdirSync('/proc');
  } catch {
    return undefined;
  }
  const children = new Map<number, ProcInfo[]>();
  const tree = new Map<number, ProcInfo>();
  for (const name of names) {
    if (!/^\d+$/.test(name)) continue;
    const info = readProcInfo(Number(name));
    if (info === undefined) continue;
    const siblings = children.get(info.ppid);
    if (siblings === undefined) children.set(info.ppid, [info]);
    else siblings.push(info);
    if (info.pid === pid || info.pgrp === pid) tree.set(info.pid, info);
  }
  // Parent links form a forest, so this walk ends.
  const queue = [...tree.values()];
  for (let next = queue.pop(); next !== undefined; next = queue.pop()) {
    for (const child of children.get(next.pid) ?? []) {
      if (tree.has(child.pid)) continue;
      tree.set(child.pid, child);
      queue.push(child);
    }
  }
  return [...tree.values()].filter(isAlive);
}

function assertKillablePid(pid: number): void {
  if (!Number.isInteger(pid) || pid <= 1 || pid === process.pid) {
    throw new RangeError(`pid must be an integer above 1 and not this process, got ${pid}`);
  }
}

function isAlive(info: ProcInfo): boolean {
  return info.state !== 'Z' && info.state !== 'X';
}

/** The process `info` describes is still running: not dead, not a zombie, its pid not reused. */
function stillRunning(info: ProcInfo): boolean {
  const now = readProcInfo(info.pid);
  return now !== undefined && now.startTime === info.startTime && isAlive(now);
}

/** Returns true if the signal was delivered, false if the target is gone or not ours. */
function sendSignal(target: number, signal: NodeJS.Signals): boolean {
  try {
    process.kill(target, signal);
    return true;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ESRCH' || code === 'EPERM') return false;
    throw err;
  }
}

/**
 * Signals the tree of `pid` (when `byPid`) and every process of `known` that
 * is still running. Returns the processes signalled.
 */
function signalTree(pid: number, signal: NodeJS.Signals, byPid: boolean, known: ProcInfo[] = []): ProcInfo[] {
  const listing = byPid ? listProcessTree(pid) : [];
  const tree = listing ?? [];
  const listed = new Set(tree.map((p) => p.pid));
  for (const p of known) {
    if (!listed.has(p.pid) && stillRunning(p)) tree.push(p);
  }
  // One signal to the group reaches all its members at once, including any
  // forked after the listing. The rest get their own signal; group members do
  // not get a second one (many programs take a second SIGTERM as "force").
  const groupSignalled = byPid && sendSignal(-pid, signal);
  const signalled: ProcInfo[] = [];
  for (const p of tree) {
    if ((p.pgrp === pid && groupSignalled) || sendSignal(p.pid, signal)) signalled.push(p);
  }
  if (listing === undefined && !groupSignalled && sendSignal(pid, signal)) {
    // Without /proc the pid itself is all we know of.
    signalled.push({ pid, ppid: 0, pgrp: 0, state: 'R', startTime: '' });
  }
  return signalled;
}

export type Exit = { code: number | null; signal: string | null };

/** The main process of a command, as far as killing its tree is concerned. */
export interface RootProcess {
  pid: number;
  /** Resolves when Node has reaped the process. */
  exited: Promise<Exit>;
  /** Set when `exited` resolved; from then on the pid may be reused by an unrelated process. */
  exit: Exit | undefined;
}

/**
 * SIGTERM to the tree, wait until it is gone or `graceMs` passed, SIGKILL to
 * whatever is left, then wait (bounded) for the main process to be reaped.
 * Resolves with the exit of the main process, or `undefined` if it was not seen.
 */
export async function killTree(root: RootProcess, graceMs: number): Promise<Exit | undefined> {
  // Called before the reap, or at most PIPE_CLOSE_GRACE_MS after it: far too
  // soon for the kernel to hand the pid out again, so it still names our group.
  const terminated = signalTree(root.pid, 'SIGTERM', true);
  const deadline = performance.now() + graceMs;
  while (performance.now() < deadline) {
    if (terminated.every((p) => !stillRunning(p))) break;
    await delay(Math.min(KILL_POLL_MS, Math.max(0, deadline - performance.now())));
  }
  // Re-list, so processes forked during the grace are found too. The grace can
  // be long, though: once the main process is reaped, its pid names our group
  // only while a member we saw is still in it (Linux does not reuse the pid
  // of a live group). Otherwise only the processes already seen are killed,
  // found by identity since their parents may have died and left them orphans.
  const pidIsOurs = root.exit === undefined || terminated.some((p) => stillRunning(p) && readProcInfo(p.pid)?.pgrp === root.pid);
  signalTree(root.pid, 'SIGKILL', pidIsOurs, terminated);
  if (root.exit !== undefined) return root.exit;
  return raceWithTimer([root.exited], REAP_AFTER_KILL_MS);
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** The first of `promises` to settle, or `undefined` after `ms`; the timer is cleared either way. */
export async function raceWithTimer<T>(promises: Promise<T>[], ms: number): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<undefined>((resolve) => {
    timer = setTimeout(() => resolve(undefined), ms);
  });
  try {
    return await Promise.race([...promises, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
