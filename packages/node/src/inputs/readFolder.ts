/**
 * The read folder (`--readFolder`, default `<nodeFolder>/readfolder`): every
 * file put in it is read as messages and then removed. `.yaml` and `.yml`
 * files are YAML (one or more documents, each a message or a list of
 * messages); every other file is JSON, read like inmsg.txt (several values,
 * `#` comment lines). Names starting with `.` are ignored, so a writer can
 * write `.x.json` and rename it to `x.json` when complete.
 *
 * The no-loss rules are inmsg.txt's: the valid messages of a file are
 * journaled with a key made of the file's name, inode, modification time and
 * the entry's position, and only then is the file removed. A crash in
 * between leaves the file, which is read again at start; its entries are
 * recognised and not sent twice. Invalid entries are kept, with the reason,
 * in `<readFolder>/rejected/`; a file that cannot be read at all is moved
 * there whole.
 *
 * A symbolic link is followed only to a regular file inside the node folder
 * (or the read folder); any other link, and anything that is not a regular
 * file, is moved to `rejected/` unread (the link itself, never its target).
 */
import { watch, type FSWatcher, type Stats } from 'node:fs';
import { appendFile, lstat, mkdir, readdir, readFile, realpath, rename, stat, unlink } from 'node:fs/promises';
import { extname, join } from 'node:path';
import { parseInmsg, parseMessageSpec, ValidationError } from '@steward/core';
import { FailureKind } from '../node/errorKernel.js';
import { isWithin } from '../methods/writePath.js';
import { CoalescingRunner } from './coalescingRunner.js';
import { maxInputFileBytes } from './inmsgEntries.js';
import type { NodeServices, SpecSubmission } from '../node/services.js';

/** The folder, inside the read folder, where rejected files and entries are kept. */
export const readFolderRejected = 'rejected';

const pollMs = 1000;
const settleMs = 100;
/** An empty file younger than this may still be being written: it is left alone. */
const emptyGraceMs = 5000;

/** A file found in the folder: its name there, the path read (a link's target) and its state when found. */
interface Found {
  name: string;
  path: string;
  file: string;
  st: Stats;
}

/** One entry of a file: its value and text, or why it could not be read. */
interface FileEntry {
  where: string;
  value?: unknown;
  text: string;
  reason?: string;
}

/** @internal */
export class ReadFolderWatcher {
  private watcher?: FSWatcher;
  private poll?: NodeJS.Timeout;
  private stopped = false;
  private readonly runner: CoalescingRunner;
  private readonly folder: string;
  private realFolder = '';
  private realNodeFolder = '';

  constructor(
    private readonly s: NodeServices,
    private readonly fail: (err: unknown) => void,
  ) {
    this.runner = new CoalescingRunner(() => this.scan(), fail);
    this.folder = s.config.readFolder;
  }

  /** Reads what is already there (leftovers of a crash included), then watches. */
  async start(): Promise<void> {
    await mkdir(join(this.folder, readFolderRejected), { recursive: true });
    const st = await lstat(this.folder);
    if (!st.isDirectory()) throw new Error(`read folder ${this.folder} is not a folder`);
    this.realFolder = await realpath(this.folder);
    this.realNodeFolder = await realpath(this.s.config.nodeFolder);
    this.watcher = watch(this.folder, () => this.check());
    this.watcher.on('error', (err) => this.fail(err));
    // fs.watch misses events on some file systems: poll as well.
    this.poll = setInterval(() => this.check(), pollMs);
    await this.scan();
  }

  /** Stops watching. */
  stop(): void {
    this.stopped = true;
    this.runner.stop();
    this.watcher?.close();
    clearInterval(this.poll);
  }

  private check(): void {
    this.runner.trigger();
  }

  private async scan(): Promise<void> {
    const names = (await readdir(this.folder)).filter((n) => !n.startsWith('.') && n !== readFolderRejected).sort();
    const found: Found[] = [];
    for (const name of names) {
      if (this.stopped) return;
      const f = await this.find(name);
      if (f) found.push(f);
    }
    if (found.length === 0) return;
    // Let writers that are still writing finish: one wait for all the files found.
    await new Promise((r) => setTimeout(r, settleMs));
    let changing = false;
    for (const f of found) {
      if (this.stopped) return;
      const now = await stat(f.file).catch(() => undefined);
      if (!now) continue;
      if (now.size !== f.st.size || now.mtimeMs !== f.st.mtimeMs) {
        changing = true;
        continue;
      }
      // An empty file may be one about to be written: the poll looks again.
      if (now.size === 0 && Date.now() - now.mtimeMs < emptyGraceMs) continue;
      await this.take(f.name, f.path, f.file, now);
    }
    // Still being written: look again once this scan is over (after another wait).
    if (changing) this.check();
  }

  /** A file of the folder that may be read (the target, for a link), with its size and time now; the rest is set aside. */
  private async find(name: string): Promise<Found | undefined> {
    const path = join(this.folder, name);
    const link = await lstat(path).catch(() => undefined);
    if (!link || link.isDirectory()) return undefined;
    let file = path;
    if (link.isSymbolicLink()) {
      const target = await realpath(path).catch(() => undefined);
      const inside = target !== undefined && (isWithin(this.realNodeFolder, target) || isWithin(this.realFolder, target));
      if (!inside || !(await stat(target).catch(() => undefined))?.isFile()) {
        await this.rejectFile(
          name,
          `a symbolic link to ${target ?? 'nothing'}: only links to regular files inside the node folder are read`,
        );
        return undefined;
      }
      file = target;
    } else if (!link.isFile()) {
      await this.rejectFile(name, 'not a regular file');
      return undefined;
    }
    const st = await stat(file).catch(() => undefined);
    if (st && st.size > maxInputFileBytes) {
      await this.rejectFile(name, `larger than ${maxInputFileBytes} bytes (${st.size}): split it into smaller files`);
      return undefined;
    }
    return st ? { name, path, file, st } : undefined;
  }

  /** Journals the messages of a settled file, sets its bad entries aside, and removes it. */
  private async take(name: string, path: string, file: string, st: Stats): Promise<void> {
    const content = await readFile(file, 'utf8');
    const entries = await this.parse(name, content);
    const valid: SpecSubmission[] = [];
    const rejected: FileEntry[] = [];
    const keyBase = `readfolder:${name}:${st.ino}:${Math.round(st.mtimeMs)}:${st.size}`;
    entries.forEach((e, i) => {
      if (e.reason !== undefined) {
        rejected.push(e);
        return;
      }
      try {
        const { spec, warnings } = parseMessageSpec(e.value);
        for (const w of warnings) this.s.log.warn(`read folder ${name} ${e.where}: ${w}`);
        valid.push({ spec, sourceKey: `${keyBase}:${i}`, source: 'readfolder' });
      } catch (err) {
        rejected.push({ ...e, reason: err instanceof ValidationError ? err.message : String(err) });
      }
    });
    // Journal first: the file is removed only once every valid message is durable.
    const results = await this.s.submit(valid);
    results.forEach((r, i) => {
      if (!r.duplicate) this.s.log.info(`accepted from read folder file ${name}`, { id: r.id, method: valid[i]!.spec.method });
    });
    if (rejected.length > 0) {
      const time = new Date().toISOString();
      const block = rejected
        .map((r) => `# ${time} ${name} ${r.where}: ${(r.reason ?? '').replace(/\n/g, ' ')}\n${r.text.trim()}\n`)
        .join('');
      await appendFile(join(this.folder, readFolderRejected, `${name}.rejected.txt`), block);
      for (const r of rejected)
        this.s.errors.report({
          kind: FailureKind.BadInput,
          text: `read folder file ${name} ${r.where} rejected: ${r.reason ?? ''}; kept in ${readFolderRejected}/${name}.rejected.txt`,
        });
    }
    await unlink(path);
  }

  /** The entries of a file, by its extension. */
  private async parse(name: string, content: string): Promise<FileEntry[]> {
    const ext = extname(name).toLowerCase();
    if (ext === '.yaml' || ext === '.yml') {
      // Loaded at the first YAML file: the parser is a large module most nodes never need.
      const yaml = await import('yaml');
      // yaml's Node.js build is CommonJS: loaded from the CLI's bundle, its exports come as `default` only.
      const { parseAllDocuments } = 'parseAllDocuments' in yaml ? yaml : (yaml as unknown as { default: typeof yaml }).default;
      const out: FileEntry[] = [];
      parseAllDocuments(content).forEach((doc, d) => {
        const where = `document ${d + 1}`;
        if (doc.errors.length > 0) {
          out.push({ where, text: doc.toString(), reason: `not valid YAML: ${doc.errors[0]!.message.split('\n')[0]}` });
          return;
        }
        try {
          // Throws on an alias bomb ("Excessive alias count"); JSON.stringify then throws on an alias that
          // contains itself. Either is this document's fault: it is set aside, the others are read.
          const value = doc.toJS() as unknown;
          if (value === null || value === undefined) return;
          const list = Array.isArray(value) ? value : [value];
          const texts = list.map((v) => JSON.stringify(v));
          list.forEach((v, e) => out.push({ where: `${where}, entry ${e + 1}`, value: v, text: texts[e]! }));
        } catch (err) {
          out.push({ where, text: doc.toString(), reason: `not usable as messages: ${(err as Error).message.split('\n')[0]}` });
        }
      });
      return out;
    }
    const { entries, failures } = parseInmsg(content.replace(/^#.*$/gm, ''));
    return [
      ...failures.map((f) => ({ where: `value ${f.valueIndex + 1} (line ${f.line})`, text: f.text, reason: f.reason })),
      ...entries.map((e) => ({
        where: `value ${e.valueIndex + 1}, entry ${e.entryIndex + 1} (line ${e.line})`,
        value: e.value,
        text: e.text,
      })),
    ];
  }

  /** Moves a file (or link) that cannot be read into rejected/, with the reason beside it. */
  private async rejectFile(name: string, reason: string): Promise<void> {
    const kept = `${Date.now()}-${name}`;
    await rename(join(this.folder, name), join(this.folder, readFolderRejected, kept));
    await appendFile(join(this.folder, readFolderRejected, `${kept}.reason.txt`), `${new Date().toISOString()} ${name}: ${reason}\n`);
    this.s.errors.report({
      kind: FailureKind.BadInput,
      text: `read folder file ${name} rejected unread: ${reason}; moved to ${readFolderRejected}/${kept}`,
    });
  }
}
