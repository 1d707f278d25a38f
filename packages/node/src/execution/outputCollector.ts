/**
 * A command's output as it is read: both streams interleaved in one text and
 * kept apart, capped in bytes, and passed on to a listener as it comes.
 */
import type { Readable } from 'node:stream';

/** Told each piece of output as it is read (see RunCommandOptions.onOutput). */
export type OutputListener = (chunk: string, stream: 'stdout' | 'stderr') => void;

/** Reads `stream` into `output`; resolves when the stream closed. Never rejects. */
export function collect(stream: Readable, name: 'stdout' | 'stderr', output: OutputCollector): Promise<void> {
  // Decoding in the stream keeps a multi-byte character split across two
  // chunks intact.
  stream.setEncoding('utf8');
  stream.on('data', (chunk: string) => output.push(chunk, name));
  // A read error ends the stream like EOF; the output so far is kept.
  stream.on('error', () => undefined);
  return new Promise((resolve) => stream.once('close', resolve));
}

/** Output of one command, capped at `maxBytes` (UTF-8) across both streams. */
/** @internal */
export class OutputCollector {
  output = '';
  stdout = '';
  stderr = '';
  truncated = false;
  private bytes = 0;
  private listener: OutputListener | undefined;

  constructor(
    private readonly maxBytes: number,
    onOutput: OutputListener | undefined,
  ) {
    this.listener = onOutput;
  }

  push(chunk: string, stream: 'stdout' | 'stderr'): void {
    // Past the cap the rest is read and dropped: not reading would fill the
    // pipe and block the command, which must keep running.
    if (this.truncated) return;
    const size = Buffer.byteLength(chunk);
    if (this.bytes + size <= this.maxBytes) {
      this.bytes += size;
      this.append(chunk, stream);
      return;
    }
    const bytes = Buffer.from(chunk, 'utf8');
    let cut = this.maxBytes - this.bytes;
    // Back up to a character boundary (UTF-8 continuation bytes are 10xxxxxx).
    while (cut > 0 && ((bytes[cut] ?? 0) & 0xc0) === 0x80) cut--;
    this.truncated = true;
    this.bytes += cut;
    const kept = bytes.subarray(0, cut).toString('utf8');
    const last = kept === '' ? this.output.at(-1) : kept.at(-1);
    const needsNewline = last !== undefined && last !== '\n';
    const marker = `${needsNewline ? '\n' : ''}[steward: output truncated at ${this.maxBytes} bytes]\n`;
    this.append(kept + marker, stream);
  }

  private append(text: string, stream: 'stdout' | 'stderr'): void {
    if (text === '') return;
    this.output += text;
    if (stream === 'stdout') this.stdout += text;
    else this.stderr += text;
    if (this.listener === undefined) return;
    try {
      this.listener(text, stream);
    } catch (err) {
      // A faulty listener must not crash the node or lose the result; report
      // it once, loudly, and stop calling it.
      this.listener = undefined;
      process.emitWarning(`onOutput threw, output is no longer passed to it: ${errorMessage(err)}`, {
        type: 'CommandRunnerWarning',
        detail: err instanceof Error ? err.stack : undefined,
      });
    }
  }
}

function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
