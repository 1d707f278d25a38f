/**
 * File modes of what a node writes. Command outputs (`data/`), the journal
 * (`state/journal.db` and its WAL) and the audit log (command lines) are
 * readable by the node's user only: folders 0700, files 0600. With
 * `--fileGroup` one group may read them too: folders 2750 (the setgid bit
 * makes new files and folders inherit the group), files 0640.
 *
 * The process umask does the work: set at node start, every later mkdir,
 * open and SQLite file respects it, whichever module writes. What an older
 * version left behind with looser modes (the state and data folders, the
 * journal, the audit log, `inmsg.rejected.txt`) is tightened once at start.
 * The node folder itself, and the files the operator put there, keep their
 * modes. Commands the node runs get the umask the node was started with
 * ({@link withOperatorUmask}): the files they make are the operator's.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, chownSync, lstatSync, mkdirSync, readFileSync, type Stats } from 'node:fs';
import { dirname, relative, resolve, sep } from 'node:path';
import type { NodeConfig } from '../node/config.js';
import { ConfigError } from '../errors.js';
import { rejectedFileName } from '../inputs/inmsgFile.js';
import type { Logger } from '../observability/logger.js';

/** The modes a node gives what it writes. */
export interface FileModePolicy {
  /** The process umask: 0o077, or 0o027 with a group. */
  umask: number;
  /** Mode of the node's folders (state, data): 0o700, or 0o2750 with a group. */
  dirMode: number;
  /** Mode of the node's files (journal, audit log): 0o600, or 0o640 with a group. */
  fileMode: number;
  /** The group that may read, when `--fileGroup` is set. */
  gid?: number;
}

/** The policy for owner-only modes, or for a reading group `gid`. */
export function fileModePolicy(gid?: number): FileModePolicy {
  if (gid === undefined) return { umask: 0o077, dirMode: 0o700, fileMode: 0o600 };
  return { umask: 0o027, dirMode: 0o2750, fileMode: 0o640, gid };
}

/**
 * The group id `spec` names: a number, or a group name looked up with
 * `getent` (so LDAP and other NSS groups work), or in /etc/group where
 * `getent` is missing.
 *
 * @throws {@link ConfigError} when no such group exists.
 */
export function resolveFileGroup(spec: string): number {
  if (/^\d+$/.test(spec)) {
    const gid = Number(spec);
    // 2^32-1 is (gid_t)-1, which chown reads as "leave the group alone".
    if (gid < 0xffffffff) return gid;
    throw new ConfigError(`--fileGroup ${spec} is not a group id`);
  }
  if (!/^[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}\$?$/.test(spec)) throw new ConfigError(`--fileGroup "${spec}" is not a group name or id`);
  const r = spawnSync('getent', ['group', spec], { encoding: 'utf8', timeout: 10_000 });
  const line = r.error === undefined ? (r.status === 0 ? r.stdout : undefined) : etcGroupLine(spec);
  const gid = line?.split(':')[2]?.trim();
  if (gid !== undefined && /^\d+$/.test(gid)) return Number(gid);
  throw new ConfigError(`--fileGroup "${spec}": no such group (check getent group ${spec})`);
}

/** The /etc/group line of group `name`, for systems without getent. */
function etcGroupLine(name: string): string | undefined {
  try {
    return readFileSync('/etc/group', 'utf8')
      .split('\n')
      .find((l) => l.startsWith(`${name}:`));
  } catch {
    return undefined;
  }
}

/** The umask the process had before the first {@link applyFileModes}: the operator's. */
let operatorUmask: number | undefined;

/**
 * Runs `spawn` (a synchronous call that starts a child process) under the
 * umask the node was started with, so the files a command creates get the
 * modes its operator expects, not the node's owner-only ones. Before
 * {@link applyFileModes} ran it only calls `spawn`.
 */
export function withOperatorUmask<T>(spawn: () => T): T {
  if (operatorUmask === undefined) return spawn();
  // fork() copies the umask at this instant; the node's own umask is back before any other JS runs.
  const mine = process.umask(operatorUmask);
  try {
    return spawn();
  } finally {
    process.umask(mine);
  }
}

/** `path` is strictly inside `folder`. */
function isInside(path: string, folder: string): boolean {
  return path.startsWith(folder.endsWith(sep) ? folder : folder + sep);
}

function lstatOrUndefined(path: string): Stats | undefined {
  try {
    return lstatSync(path);
  } catch {
    return undefined;
  }
}

const octal = (mode: number) => (mode & 0o7777).toString(8).padStart(4, '0');

/**
 * Sets the process umask of `policy` and tightens what an older version of
 * the node left with looser modes. Call it first in the node's start, before
 * anything is written. Logs one INFO line naming what it changed.
 *
 * @returns the policy in force.
 * @throws {@link ConfigError} when `--fileGroup` names no group, or the
 *   node may not give its folders to that group.
 */
export function applyFileModes(config: NodeConfig, log: Logger): FileModePolicy {
  const policy = fileModePolicy(config.fileGroup ? resolveFileGroup(config.fileGroup) : undefined);
  const previous = process.umask(policy.umask);
  // A second node in the same process (tests) must not take the first one's umask for the operator's.
  operatorUmask ??= previous;
  const uid = process.getuid?.();
  const node = resolve(config.nodeFolder);
  const changed: string[] = [];
  const name = (p: string) => (isInside(p, node) ? relative(node, p) : p);

  /** Gives `path` exactly `mode` and the policy's group, if it is ours and differs. */
  const fix = (path: string, st: Stats, mode: number): void => {
    const wrongGroup = policy.gid !== undefined && st.gid !== policy.gid;
    if ((st.mode & 0o7777) === mode && !wrongGroup) return;
    try {
      // The group first: chown clears the setgid bit that chmod then sets.
      if (wrongGroup) chownSync(path, -1, policy.gid!);
      chmodSync(path, mode);
    } catch (err) {
      throw new ConfigError(
        `cannot set the mode of ${path} to ${octal(mode)}${wrongGroup ? ` and its group to ${config.fileGroup}` : ''}: ${(err as Error).message}`,
        { cause: err },
      );
    }
    changed.push(
      `${name(path)}${st.isDirectory() ? '/' : ''} ${octal(st.mode)}→${octal(mode)}${wrongGroup ? ` group ${st.gid}→${policy.gid}` : ''}`,
    );
  };

  const folders = new Set([dirname(resolve(config.journalPath)), dirname(resolve(config.auditPath)), resolve(config.dataFolder)]);
  for (const folder of folders) {
    const existed = lstatOrUndefined(folder) !== undefined;
    // Made now, so a group policy's setgid bit is on the folder before the first file lands in it.
    mkdirSync(folder, { recursive: true, mode: policy.dirMode & 0o777 });
    const st = lstatOrUndefined(folder);
    // A symlinked folder leads somewhere the operator chose; its target is theirs.
    if (!st?.isDirectory() || st.uid !== uid) continue;
    if (existed && !isInside(folder, node)) {
      // An operator's own folder outside the node folder (--dataFolder /srv/x): told, not changed.
      if (st.mode & 0o777 & ~policy.dirMode)
        log.warn(
          `${folder} is mode ${octal(st.mode)}: other users can read what the node writes there (chmod ${octal(policy.dirMode)} it)`,
        );
      continue;
    }
    fix(folder, st, policy.dirMode);
  }

  const journal = resolve(config.journalPath);
  const files = [journal, `${journal}-wal`, `${journal}-shm`, resolve(config.auditPath), resolve(node, rejectedFileName)];
  for (const file of files) {
    const st = lstatOrUndefined(file);
    // Only the node's own regular files: never through a symlink, never a file linked elsewhere too.
    if (!st?.isFile() || st.uid !== uid || st.nlink !== 1) continue;
    fix(file, st, policy.fileMode);
  }
  if (changed.length > 0) log.info(`tightened file modes left by an older version: ${changed.join(', ')}`);
  return policy;
}
