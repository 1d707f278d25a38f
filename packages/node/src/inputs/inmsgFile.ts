/**
 * The drop-in `inmsg.txt` input (the seed's contract). The node watches the
 * file in its folder; when it has content, the file is moved aside
 * (`inmsg.txt.<time>.processing`), an empty `inmsg.txt` is put back, and the
 * moved file is read: valid messages are journaled, invalid entries are
 * reported (file, value, entry, line, field, reason) and their text is kept in
 * `inmsg.rejected.txt`; only then is the moved file deleted. A crash in
 * between leaves the moved file, which is read again at start; each entry is
 * journaled with a key made of the file name and its position, so nothing is
 * sent twice and nothing is lost.
 */
import { watch, type FSWatcher } from 'node:fs';
import { mkdir, open, readdir, readFile, rename, stat, unlink } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { CoalescingRunner } from './coalescingRunner.js';
import { keepRejected, maxInputFileBytes, readInmsgText } from './inmsgEntries.js';
import { FailureKind } from '../node/errorKernel.js';
import type { NodeServices } from '../node/services.js';

export { rejectedFileName } from './inmsgEntries.js';

/** The input file's name, in the node folder. */
export const inmsgFileName = 'inmsg.txt';

const pollMs = 1000;
const settleMs = 50;

/** @internal */
export class InmsgWatcher {
  private watcher?: FSWatcher;
  private poll?: NodeJS.Timeout;
  private stopped = false;
  private readonly runner: CoalescingRunner;
  private readonly file: string;

  constructor(
    private readonly s: NodeServices,
    private readonly fail: (err: unknown) => void,
  ) {
    this.runner = new CoalescingRunner(() => this.takeFile(), fail);
    this.file = join(s.config.nodeFolder, inmsgFileName);
  }

  /** Reads leftovers of a previous run, then watches the file. */
  async start(): Promise<void> {
    const folder = this.s.config.nodeFolder;
    await mkdir(folder, { recursive: true });
    const st = await stat(this.file).catch(() => undefined);
    // A folder (or anything not a file) where inmsg.txt should be is a fault the supervisor must see.
    if (st && !st.isFile()) throw new Error(`${this.file} is not a regular file`);
    if (!st) await (await open(this.file, 'a')).close();
    const leftovers = (await readdir(folder)).filter((f) => f.startsWith(`${inmsgFileName}.`) && f.endsWith('.processing')).sort();
    for (const f of leftovers) await this.processFile(join(folder, f));
    this.watcher = watch(folder, (_event, name) => {
      if (name === null || name === inmsgFileName) this.check();
    });
    this.watcher.on('error', (err) => this.fail(err));
    // fs.watch misses events on some file systems (network mounts): poll as well.
    this.poll = setInterval(() => this.check(), pollMs);
    this.check();
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

  private async takeFile(): Promise<void> {
    const st = await stat(this.file).catch(() => undefined);
    if (st && !st.isFile()) throw new Error(`${this.file} is not a regular file`);
    if (!st || st.size === 0) return;
    // Let a writer that is still appending finish (cat >> writes in a few calls).
    let size = st.size;
    for (;;) {
      await new Promise((r) => setTimeout(r, settleMs));
      const now = (await stat(this.file)).size;
      if (now === size) break;
      size = now;
    }
    const moved = `${this.file}.${Date.now()}-${process.pid}.processing`;
    await rename(this.file, moved);
    // Put an empty inmsg.txt back; 'a' keeps anything a writer created meanwhile.
    await (await open(this.file, 'a')).close();
    await this.processFile(moved);
  }

  /** Journals every valid message of one moved file, keeps the rejected ones, then deletes it. */
  private async processFile(path: string): Promise<void> {
    const name = basename(path);
    const { size } = await stat(path);
    // A larger one is moved aside as `inmsg.txt.<time>.too-big` (see maxInputFileBytes).
    if (size > maxInputFileBytes) {
      // Kept whole, never read: nothing in it is lost, and the watcher goes on with the next file.
      const aside = path.replace(/\.processing$/, '.too-big');
      await rename(path, aside);
      this.s.errors.report({
        kind: FailureKind.BadInput,
        text:
          `${inmsgFileName} not read: ${size} bytes, larger than ${maxInputFileBytes}; kept as ${basename(aside)}: ` +
          `split it and append the parts to ${inmsgFileName} one at a time`,
      });
      return;
    }
    const raw = await readFile(path, 'utf8');
    const { valid, rejected } = readInmsgText(this.s, raw, { label: inmsgFileName, keyPrefix: `inmsg:${name}`, source: inmsgFileName });
    // Journal first: the file is only deleted once every valid message is durable.
    const results = await this.s.submit(valid);
    results.forEach((r, i) => {
      if (!r.duplicate)
        this.s.log.info(`accepted from ${inmsgFileName}`, {
          id: r.id,
          subject: `${valid[i]!.spec.toNode}.${valid[i]!.spec.commandOrEvent}.${valid[i]!.spec.method}`,
        });
    });
    await keepRejected(this.s, inmsgFileName, rejected);
    await unlink(path);
  }
}
