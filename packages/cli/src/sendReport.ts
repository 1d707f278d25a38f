/**
 * What `steward send` prints while it waits: each node's answer as it
 * arrives, a live `N/M replied` line on a terminal, a summary at the end
 * ("Finished processing 20/20 nodes: 19 ok, 0 failed, 1 expired"), and the
 * exit code the outcomes add up to.
 */
import { outcomeOf, type AcceptedMessage, type SendOutcome, type SendResult } from '@steward/node/client';
import { ExitCode } from './exitCodes.js';

/** Where and how to print. */
export interface ReportOptions {
  /** One JSON object per line instead of text. */
  json: boolean;
  /** How many messages the run sends. */
  total: number;
  /** Prefix output with the node's name and print a summary (fan-out, or several messages). */
  multi: boolean;
  /** Say "nodes" in the summary (one message per node) rather than "messages". */
  perNode: boolean;
  /** Draw the live progress line (stderr is a terminal and stdout too). */
  live: boolean;
  out: NodeJS.WritableStream;
  err: NodeJS.WritableStream;
}

/**
 * The exit code of a run: 0 when every message is ok; when none is ok and
 * all failed alike, 1 (failed on the node) or 3 (expired or no reply);
 * otherwise 5 (mixed outcomes).
 */
export function exitCodeFor(outcomes: readonly SendOutcome[]): number {
  if (outcomes.every((o) => o === 'ok')) return ExitCode.Ok;
  if (!outcomes.includes('ok')) {
    if (outcomes.every((o) => o === 'failed')) return ExitCode.Failed;
    if (outcomes.every((o) => o === 'expired' || o === 'noReply')) return ExitCode.Unreachable;
  }
  return ExitCode.Partial;
}

/** One line saying why a message did not succeed. */
export function describeFailure(r: SendResult): string {
  const hasExit = r.exitCode !== undefined && r.exitCode !== null;
  const exit = hasExit ? ` (exit code ${r.exitCode})` : '';
  // A command's error repeats its argv and exit code ("bash -c ...: exit code 3"): the exit code says it all.
  const error = r.error && !(hasExit && r.error.endsWith(`exit code ${r.exitCode}`)) ? `: ${r.error}` : '';
  switch (outcomeOf(r.status)) {
    case 'expired':
      return r.error ?? 'delivery expired';
    case 'noReply':
      return r.error ?? 'no reply';
    default:
      return `${r.method} ${r.status}${exit}${error}`;
  }
}

/** Prints one run; see the module doc. */
export class SendReport {
  readonly results: SendResult[] = [];
  private readonly started = Date.now();
  /** The progress line on screen, if any. */
  private progressShown: string | undefined;
  private lastState = '';

  constructor(private readonly o: ReportOptions) {}

  /** Messages the node accepted, for `--no-wait`: their ids. */
  accepted(messages: readonly AcceptedMessage[]): void {
    for (const m of messages) {
      if (this.o.json) this.line(this.o.out, JSON.stringify({ type: 'accepted', ...m }));
      else this.line(this.o.out, this.o.multi ? `${m.id} ${m.toNode}` : m.id);
    }
  }

  /** A warning from the node or from reading the input. */
  warn(text: string): void {
    this.clearProgress();
    this.o.err.write(`steward: warning: ${text}\n`);
    this.drawProgress();
  }

  /** A delivery state change (only shown on the live line). */
  progress(p: { toNode: string; state: string; attempts: number }): void {
    this.lastState = `${p.toNode}: ${p.state}, attempt ${p.attempts}`;
    this.drawProgress();
  }

  /** A message finished: print its answer. */
  result(r: SendResult): void {
    this.results.push(r);
    const o = this.o;
    this.clearProgress();
    if (o.json) {
      this.line(o.out, JSON.stringify({ type: 'result', ...r, ok: outcomeOf(r.status) === 'ok' }));
    } else if (!o.multi) {
      if (r.output) o.out.write(r.output);
      if (outcomeOf(r.status) !== 'ok') o.err.write(`steward: ${r.toNode}: ${describeFailure(r)}\n`);
    } else {
      if (r.output) {
        const text = r.output.endsWith('\n') ? r.output.slice(0, -1) : r.output;
        o.out.write(
          text
            .split('\n')
            .map((l) => `${r.toNode}: ${l}\n`)
            .join(''),
        );
      }
      if (outcomeOf(r.status) !== 'ok') o.out.write(`${r.toNode}: steward: ${describeFailure(r)}\n`);
    }
    this.drawProgress();
  }

  /**
   * Prints the summary (several messages, or always with --json) and returns
   * the exit code. With `interrupted`, says what is still under way.
   */
  finish(opts: { interrupted?: boolean; pending?: readonly { id: string; toNode: string }[] } = {}): number {
    this.clearProgress();
    const counts = { ok: 0, failed: 0, expired: 0, noReply: 0 };
    for (const r of this.results) counts[outcomeOf(r.status)]++;
    const code = opts.interrupted ? ExitCode.Interrupted : exitCodeFor(this.results.map((r) => outcomeOf(r.status)));
    const seconds = ((Date.now() - this.started) / 1000).toFixed(1);
    const o = this.o;
    if (o.json) {
      this.line(
        o.out,
        JSON.stringify({
          type: 'summary',
          total: o.total,
          finished: this.results.length,
          ...counts,
          exitCode: code,
          seconds: Number(seconds),
          ...(opts.interrupted ? { interrupted: true, pending: opts.pending ?? [] } : {}),
        }),
      );
      return code;
    }
    const pending = opts.pending ?? [];
    if (o.multi || opts.interrupted) {
      const unit = o.perNode ? 'nodes' : 'messages';
      const noReply = counts.noReply ? `, ${counts.noReply} no reply` : '';
      o.out.write(
        `Finished processing ${this.results.length}/${o.total} ${unit}: ${counts.ok} ok, ${counts.failed} failed, ${counts.expired} expired${noReply} in ${seconds} s\n`,
      );
      const bad = this.results.filter((r) => outcomeOf(r.status) !== 'ok');
      if (bad.length > 0 && o.multi) {
        o.out.write('Not ok:\n');
        for (const r of bad) o.out.write(`  ${r.toNode}: ${describeFailure(r)} [id ${r.id}]\n`);
      }
    }
    if (opts.interrupted && pending.length > 0) {
      o.err.write(
        `steward: interrupted; ${pending.length} message(s) accepted and still being delivered by the node; ` +
          `follow them with steward status <id> or steward jobs:\n`,
      );
      for (const p of pending) o.err.write(`  ${p.toNode} ${p.id}\n`);
    }
    return code;
  }

  private line(stream: NodeJS.WritableStream, text: string): void {
    stream.write(text + '\n');
  }

  private drawProgress(): void {
    if (!this.o.live || this.o.json) return;
    const done = this.results.length;
    if (done >= this.o.total) return;
    const detail = this.o.total === 1 && this.lastState ? ` (${this.lastState})` : '';
    const text = `${done}/${this.o.total} replied${detail}`;
    if (this.progressShown === text) return;
    this.o.err.write(`\r\x1b[K${text}`);
    this.progressShown = text;
  }

  private clearProgress(): void {
    if (this.progressShown === undefined) return;
    this.o.err.write('\r\x1b[K');
    this.progressShown = undefined;
  }
}
