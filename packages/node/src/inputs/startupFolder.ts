/**
 * Start-up messages: the files of `<nodeFolder>/startup/`, in the
 * `inmsg.txt` format, are sent each time the node starts (say hello with
 * facts, start a tail). Unlike `inmsg.txt`, a file is not consumed: it is
 * read again, and its messages sent again with new ids, at the next start.
 *
 * - Files are read in name order (byte order of the names); only `*.txt` and
 *   `*.json` files are read, names starting with `.` are skipped.
 * - Entries are validated like `inmsg.txt`'s: a bad one is kept in
 *   `inmsg.rejected.txt` with the file and line and reported; the others
 *   still go.
 * - The valid messages of every file are journaled in one transaction,
 *   each with the key `startup:<start time>:<file>:<value>:<entry>`: a
 *   restart of this process within one start (a journal error, say) sends
 *   nothing twice, and a node killed during it has sent all or none.
 * - The messages go out signed by this node, so whoever can write these files
 *   can make the node send anything it may send. Like ssh with its
 *   authorized_keys, the node reads a file only when it and the folder
 *   belong to the node's user (or root) and are not writable by group or
 *   others; a symbolic link, a FIFO or anything but a regular file is not
 *   read. What is refused is reported and the rest still goes.
 */
import { constants, type Stats } from 'node:fs';
import { open, readdir, stat } from 'node:fs/promises';
import { extname, join } from 'node:path';
import { StewardError } from '@steward/core';
import { FailureKind } from '../node/errorKernel.js';
import type { NodeServices, SpecSubmission } from '../node/services.js';
import { keepRejected, readInmsgText, type RejectedEntry } from './inmsgEntries.js';

/** The folder, in the node folder, whose files are sent at each start. */
export const startupFolderName = 'startup';
/** The file name endings read; other files are skipped (with a log line). */
export const startupExtensions: readonly string[] = ['.txt', '.json'];
/** Largest start-up file read. */
export const maxStartupFileBytes = 8 * 1024 * 1024;

/** One start of the node, shared by the restarts of the start-up process within it. @internal */
export interface StartupRun {
  /** The start's time in epoch milliseconds, as text: part of every message's idempotency key. */
  readonly key: string;
  /** Set once every file was read and its messages journaled: a restart of the process then does nothing. */
  done: boolean;
}

/** A start-up file is not read (the message says why); the other files still are. Only used inside this module. */
class StartupFileRefusedError extends StewardError {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'StartupFileRefusedError';
  }
}

/** @internal */
export class StartupFolder {
  constructor(
    private readonly s: NodeServices,
    private readonly run: StartupRun,
  ) {}

  /** Reads the folder and journals its messages; resolves once they are durable. */
  async start(): Promise<void> {
    if (this.run.done) return;
    const s = this.s;
    const folder = join(s.config.nodeFolder, startupFolderName);
    let dir: Stats;
    try {
      dir = await stat(folder);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return void (this.run.done = true);
      throw err;
    }
    const refusal = dir.isDirectory() ? unsafeBecause(dir) : 'it is not a folder';
    if (refusal !== undefined) {
      this.run.done = true;
      s.errors.report({ kind: FailureKind.BadInput, text: `${startupFolderName}/ not read, no start-up message sent: ${refusal}` });
      return;
    }
    const valid: SpecSubmission[] = [];
    const rejected: { label: string; entries: RejectedEntry[] }[] = [];
    let files = 0;
    for (const name of (await readdir(folder)).filter((n) => !n.startsWith('.')).sort()) {
      const label = `${startupFolderName}/${name}`;
      if (!startupExtensions.includes(extname(name))) {
        s.log.info(`${label} skipped: only ${startupExtensions.map((e) => `*${e}`).join(' and ')} files are read`);
        continue;
      }
      let text: string;
      try {
        text = await readOwnFile(join(folder, name));
      } catch (err) {
        if (!(err instanceof StartupFileRefusedError)) throw err;
        s.errors.report({ kind: FailureKind.BadInput, text: `${label} not read: ${err.message}` });
        continue;
      }
      files++;
      const r = readInmsgText(s, text, { label, keyPrefix: `startup:${this.run.key}:${name}`, source: label });
      valid.push(...r.valid);
      if (r.rejected.length > 0) rejected.push({ label, entries: r.rejected });
    }
    // One transaction for every file: a node killed here has sent all of them or none.
    const results = await s.submit(valid);
    results.forEach((r, i) => {
      if (!r.duplicate) s.log.info(`accepted from ${valid[i]!.source}`, { id: r.id });
    });
    for (const r of rejected) await keepRejected(s, r.label, r.entries);
    this.run.done = true;
    if (files > 0) {
      const bad = rejected.reduce((n, r) => n + r.entries.length, 0);
      s.log.info(`start-up messages: ${valid.length} sent from ${files} file(s) in ${startupFolderName}/${bad ? `, ${bad} rejected` : ''}`);
    }
  }

  /** Nothing runs after the start. */
  stop(): void {}
}

/** Why a file or folder could be changed by someone other than the node's user: owner and mode. */
function unsafeBecause(st: Stats): string | undefined {
  const me = process.geteuid?.();
  if (me !== undefined && st.uid !== me && st.uid !== 0)
    return `it belongs to uid ${st.uid}, not to the node's user (uid ${me}) or root; chown it`;
  if ((st.mode & 0o022) !== 0) {
    const who = [st.mode & 0o002 ? 'other users' : '', st.mode & 0o020 ? 'its group' : ''].filter(Boolean).join(' and ');
    return `it is writable by ${who} (mode ${(st.mode & 0o777).toString(8).padStart(4, '0')}); chmod go-w it`;
  }
  return undefined;
}

/**
 * Reads a regular file that only the node's user (or root) can change. The
 * checks are made on the opened file, so it cannot be swapped between check
 * and read; a link is not followed and a FIFO does not block.
 *
 * @throws {@link StartupFileRefusedError} saying why it is not read.
 */
async function readOwnFile(path: string): Promise<string> {
  let fh;
  try {
    fh = await open(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ELOOP') throw new StartupFileRefusedError('it is a symbolic link; links are not followed (copy the file here)');
    if (code === 'ENOENT') throw new StartupFileRefusedError('it disappeared while the folder was read');
    if (code === 'EACCES') throw new StartupFileRefusedError('permission denied');
    throw err;
  }
  try {
    const st = await fh.stat();
    if (!st.isFile()) throw new StartupFileRefusedError('it is not a regular file');
    const unsafe = unsafeBecause(st);
    if (unsafe !== undefined) throw new StartupFileRefusedError(unsafe);
    if (st.size > maxStartupFileBytes) throw new StartupFileRefusedError(`it is larger than ${maxStartupFileBytes} bytes`);
    return await fh.readFile('utf8');
  } finally {
    await fh.close();
  }
}
