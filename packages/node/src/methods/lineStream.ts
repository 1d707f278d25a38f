/**
 * Turns a stream of text pieces into lines, each handed to `emit` with its
 * newline, in order. A line longer than 64 KiB is sent in pieces of that
 * size, so one reply always fits in a broker message.
 */
import type { WireMessage } from '@steward/core';

const maxLine = 64 * 1024;

/** Extra time the execution machine gives a stream past its methodTimeout to end by itself. */
export const streamGraceMs = 15_000;

/** The execution limit of a method that ends itself at methodTimeout. */
export function streamTimeLimit(m: WireMessage): number {
  return m.methodTimeout < 0 ? -1 : m.methodTimeout * 1000 + streamGraceMs;
}

/** A line splitter: `push` pieces, then `end` to flush the last partial line and wait for every emit. */
export function lineSplitter(emit: (line: string) => Promise<void>): { push(chunk: string): void; end(): Promise<void> } {
  let partial = '';
  let last: Promise<void> = Promise.resolve();
  const send = (line: string) => {
    last = emit(line);
    // Failures surface through `end`, which awaits the last emit; emits are chained in order.
    last.catch(() => undefined);
  };
  return {
    push(chunk) {
      partial += chunk;
      let nl = partial.indexOf('\n');
      while (nl >= 0) {
        send(partial.slice(0, nl + 1));
        partial = partial.slice(nl + 1);
        nl = partial.indexOf('\n');
      }
      while (partial.length > maxLine) {
        send(partial.slice(0, maxLine));
        partial = partial.slice(maxLine);
      }
    },
    async end() {
      if (partial !== '') send(partial);
      partial = '';
      await last;
    },
  };
}
