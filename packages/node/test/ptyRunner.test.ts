import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { waitFor } from '../../../test/helpers/waitFor.js';
import { runInPty } from '../src/methods/ptyRunner.js';

function running(tag: string): number {
  let n = 0;
  for (const pid of readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    try {
      if (readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(tag)) n++;
    } catch {
      // gone
    }
  }
  return n;
}

describe('runInPty', () => {
  it('runs in a terminal and returns the output with LF line ends', async () => {
    const r = await runInPty({ argv: ['bash', '-c', 'tty; echo done'], cwd: process.cwd(), env: process.env });
    assert.equal(r.exitCode, 0);
    assert.match(r.output, /^\/dev\/pts\/\d+\ndone\n$/);
  });

  it('kills the whole tree at the timeout', async () => {
    const tag = `pty-${randomUUID()}`;
    const r = await runInPty({
      argv: ['bash', '-c', `bash -c 'sleep 30; : ${tag}' & setsid bash -c 'sleep 31; : ${tag}' & echo started; wait`],
      cwd: process.cwd(),
      env: process.env,
      timeoutMs: 1000,
      killGraceMs: 500,
    });
    assert.equal(r.timedOut, true);
    assert.match(r.output, /started/);
    // Killed processes leave /proc once reaped: wait for that, not for a fixed time.
    await waitFor(() => running(tag) === 0, {
      timeoutMs: 10_000,
      intervalMs: 20,
      message: () => `${running(tag)} process(es) of the tree are left`,
    });
  });
});
