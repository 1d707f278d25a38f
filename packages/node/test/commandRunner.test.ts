/**
 * Tests of runCommand and killProcessTree with real processes. Which process
 * is alive is checked independently of the code under test, by reading /proc.
 *
 * Every process started here inherits a marker variable, so `after` can find
 * and SIGKILL any leftover, even one that was orphaned or called setsid.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { chmodSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { waitFor as pollUntil, type Falsy } from '../../../test/helpers/waitFor.js';
import { CommandNotFoundError, CommandStartError } from '../src/errors.js';
import { runCommand, type RunCommandOptions } from '../src/execution/commandRunner.js';
import { killProcessTree } from '../src/execution/processTree.js';

const MARKER_NAME = 'STEWARD_COMMAND_RUNNER_TEST';
const marker = `${MARKER_NAME}=${randomUUID()}`;
// Set in our own environment, so it reaches children started with the
// default env (process.env) as well as with `{ ...process.env }`.
process.env[MARKER_NAME] = marker.slice(MARKER_NAME.length + 1);

/** Long enough for a slow shared machine; only reached when something is broken. */
const DEADLINE_MS = 20_000;
const TEST_TIMEOUT_MS = 60_000;

interface Proc {
  pid: number;
  ppid: number;
  pgrp: number;
  session: number;
  state: string;
  startTime: string;
  comm: string;
}

function readProc(pid: number): Proc | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  const close = text.lastIndexOf(')');
  const fields = text.slice(close + 2).split(' ');
  return {
    pid,
    comm: text.slice(text.indexOf('(') + 1, close),
    state: fields[0] ?? '?',
    ppid: Number(fields[1]),
    pgrp: Number(fields[2]),
    session: Number(fields[3]),
    startTime: fields[19] ?? '',
  };
}

function allProcs(): Proc[] {
  return readdirSync('/proc')
    .filter((name) => /^\d+$/.test(name))
    .map((name) => readProc(Number(name)))
    .filter((p): p is Proc => p !== undefined);
}

function descendantsOf(pid: number): Proc[] {
  const procs = allProcs();
  const found: Proc[] = [];
  const queue = [pid];
  for (let next = queue.pop(); next !== undefined; next = queue.pop()) {
    for (const p of procs) {
      if (p.ppid === next) {
        found.push(p);
        queue.push(p.pid);
      }
    }
  }
  return found;
}

/** The same process (pid not reused) exists and is not a zombie. */
function isRunning(p: Proc): boolean {
  const now = readProc(p.pid);
  return now !== undefined && now.startTime === p.startTime && now.state !== 'Z' && now.state !== 'X';
}

function cmdline(pid: number): string | undefined {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8');
  } catch {
    return undefined;
  }
}

/** A direct child of this test process running exactly `argv`. */
function ownChild(argv: string[]): Proc | undefined {
  const wanted = `${argv.join('\0')}\0`;
  return allProcs().find((p) => p.ppid === process.pid && cmdline(p.pid) === wanted);
}

function ignoresSigterm(pid: number): boolean {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const mask = /^SigIgn:\s*([0-9a-f]+)$/m.exec(status)?.[1];
    // Bit n-1 stands for signal n; SIGTERM is 15.
    return mask !== undefined && (BigInt(`0x${mask}`) & (1n << 14n)) !== 0n;
  } catch {
    return false;
  }
}

/** Every process started by these tests that still runs (found by the inherited marker). */
function markedProcesses(): Proc[] {
  return allProcs().filter((p) => {
    if (p.pid === process.pid || p.state === 'Z') return false;
    try {
      return readFileSync(`/proc/${p.pid}/environ`, 'utf8').split('\0').includes(marker);
    } catch {
      return false;
    }
  });
}

/** The test kit's waitFor with this file's deadline, `what` naming the awaited condition. */
function waitFor<T>(what: string, probe: () => T): Promise<Exclude<T, Falsy>> {
  return pollUntil(probe, { timeoutMs: DEADLINE_MS, intervalMs: 25, message: `waiting for ${what}` });
}

/** Rejects if `promise` has not settled within `ms`, so a hang fails with a clear message. */
async function within<T>(ms: number, what: string, promise: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not settle within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

function describeProcs(procs: Proc[]): string {
  return procs.map((p) => `${p.pid}(${p.comm})`).join(', ');
}

let tmp = '';

before(() => {
  tmp = mkdtempSync(join(tmpdir(), 'steward-command-runner-'));
});

after(() => {
  const leftovers = markedProcesses();
  for (const p of leftovers) {
    try {
      process.kill(p.pid, 'SIGKILL');
    } catch {
      // Exited meanwhile.
    }
  }
  rmSync(tmp, { recursive: true, force: true });
});

function run(opts: RunCommandOptions) {
  return within(DEADLINE_MS + 10_000, `runCommand(${JSON.stringify(opts.argv)})`, runCommand(opts));
}

describe('runCommand', { timeout: TEST_TIMEOUT_MS }, () => {
  it('collects stdout, stderr and the exit code', async () => {
    const result = await run({ argv: ['bash', '-c', 'echo a; echo b >&2; exit 3'] });
    assert.equal(result.exitCode, 3);
    assert.equal(result.signal, null);
    assert.equal(result.stdout, 'a\n');
    assert.equal(result.stderr, 'b\n');
    // The two pipes are read independently; without a handshake (next test)
    // their relative order is not fixed.
    assert.deepEqual(result.output.split('\n').sort(), ['', 'a', 'b']);
    assert.equal(result.killed, false);
    assert.equal(result.timedOut, false);
    assert.equal(result.truncated, false);
    assert.ok(result.durationMs >= 0);
  });

  it('interleaves stdout and stderr in arrival order and streams them to onOutput', async () => {
    // The command writes the next line only after the test saw the previous
    // one (it waits for a file the test creates), so the order is certain.
    const gate = mkdtempSync(join(tmp, 'gate-'));
    const script = 'echo a; until [ -e "$1/1" ]; do sleep 0.02; done; echo b >&2; until [ -e "$1/2" ]; do sleep 0.02; done; echo c';
    const seen: [string, string][] = [];
    const result = await run({
      argv: ['bash', '-c', script, 'bash', gate],
      timeoutMs: DEADLINE_MS,
      onOutput: (chunk, stream) => {
        seen.push([chunk, stream]);
        if (chunk.includes('a')) writeFileSync(join(gate, '1'), '');
        if (chunk.includes('b')) writeFileSync(join(gate, '2'), '');
      },
    });
    assert.equal(result.timedOut, false);
    assert.equal(result.output, 'a\nb\nc\n');
    assert.equal(result.stdout, 'a\nc\n');
    assert.equal(result.stderr, 'b\n');
    assert.deepEqual(seen, [
      ['a\n', 'stdout'],
      ['b\n', 'stderr'],
      ['c\n', 'stdout'],
    ]);
  });

  it('passes argv to the program without a shell', async () => {
    const result = await run({ argv: ['echo', '$HOME;ls', '*'] });
    assert.equal(result.stdout, '$HOME;ls *\n');
    assert.equal(result.exitCode, 0);
  });

  it('keeps PATH by default and passes a given environment', async () => {
    assert.ok(process.env.PATH, 'the test needs PATH');
    const inherited = await run({ argv: ['bash', '-c', 'printf %s "$PATH"'] });
    assert.equal(inherited.stdout, process.env.PATH);

    const given = await run({
      argv: ['printenv', 'STEWARD_EXTRA'],
      env: { ...process.env, STEWARD_EXTRA: 'x y' },
    });
    assert.equal(given.stdout, 'x y\n');
  });

  it('runs in the given working directory', async () => {
    const result = await run({ argv: ['pwd'], cwd: tmp });
    assert.equal(result.stdout.trim(), tmp);
  });

  it('rejects with CommandNotFoundError for a missing program', async () => {
    const err = await runCommand({ argv: ['steward-no-such-command-9f2c'] }).then(
      () => assert.fail('expected a rejection'),
      (e: unknown) => e,
    );
    assert.ok(err instanceof CommandNotFoundError, `got ${String(err)}`);
    assert.ok(err instanceof Error);
    assert.equal(err.name, 'CommandNotFoundError');
    assert.match(err.message, /steward-no-such-command-9f2c/);
    assert.equal((err.cause as NodeJS.ErrnoException).code, 'ENOENT');
  });

  it('rejects with CommandStartError for a file that is not executable', async () => {
    const file = join(tmp, 'not-executable.sh');
    writeFileSync(file, '#!/bin/sh\necho hi\n');
    chmodSync(file, 0o644);
    const err = await runCommand({ argv: [file] }).then(
      () => assert.fail('expected a rejection'),
      (e: unknown) => e,
    );
    assert.ok(err instanceof CommandStartError, `got ${String(err)}`);
    assert.ok(!(err instanceof CommandNotFoundError));
    assert.equal(err.name, 'CommandStartError');
    assert.equal((err.cause as NodeJS.ErrnoException).code, 'EACCES');
  });

  it('rejects with CommandStartError, not CommandNotFoundError, for a missing working directory', async () => {
    await assert.rejects(
      runCommand({ argv: ['true'], cwd: join(tmp, 'no-such-dir') }),
      (err: unknown) => err instanceof CommandStartError && /working directory/.test(err.message),
    );
  });

  it('rejects invalid options instead of throwing', async () => {
    let pending: Promise<unknown> | undefined;
    assert.doesNotThrow(() => {
      pending = runCommand({ argv: [] });
    });
    await assert.rejects(pending as Promise<unknown>, TypeError);
    await assert.rejects(runCommand({ argv: ['true'], timeoutMs: -1 }), RangeError);
    await assert.rejects(runCommand(undefined as unknown as RunCommandOptions), TypeError);
  });

  it('does not start anything when the signal is already aborted', async () => {
    const file = join(tmp, 'should-not-exist');
    const result = await run({ argv: ['touch', file], signal: AbortSignal.abort() });
    assert.equal(result.killed, true);
    assert.equal(result.exitCode, null);
    assert.equal(existsSync(file), false);
  });

  it('kills the whole process tree on abort, including a child that called setsid', async () => {
    const argv = ['bash', '-c', 'sleep 300 & sleep 300 & setsid sleep 300 & wait'];
    const abort = new AbortController();
    // A grace longer than the test's deadline: SIGTERM alone must reach every
    // process, the SIGKILL fallback must not be what makes this test pass.
    const running = run({ argv, signal: abort.signal, killGraceMs: 120_000 });

    const bash = await waitFor('the bash process', () => ownChild(argv));
    const sleeps = await waitFor('three sleeps under bash', () => {
      const found = descendantsOf(bash.pid).filter((p) => p.comm === 'sleep');
      return found.length === 3 && found;
    });
    assert.equal(
      sleeps.filter((p) => p.session !== bash.session).length,
      1,
      'one sleep must have left the session, or the test proves nothing',
    );

    abort.abort();
    const result = await running;
    assert.equal(result.killed, true);
    assert.equal(result.timedOut, false);
    assert.equal(result.exitCode, null);
    assert.equal(result.signal, 'SIGTERM');

    const tree = [bash, ...sleeps];
    await waitFor(`the tree to be gone (alive: ${describeProcs(tree.filter(isRunning))})`, () => tree.every((p) => !isRunning(p)));
  });

  it('kills the tree when timeoutMs passes and reports timedOut', async () => {
    const result = await run({ argv: ['bash', '-c', 'echo started; sleep 300'], timeoutMs: 300 });
    assert.equal(result.timedOut, true);
    assert.equal(result.killed, true);
    assert.equal(result.exitCode, null);
    assert.ok(result.signal === 'SIGTERM', `signal ${result.signal}`);
    assert.ok(result.durationMs >= 250, `durationMs ${result.durationMs}`);
  });

  it('sends SIGKILL after the grace when the process ignores SIGTERM', async () => {
    const argv = ['bash', '-c', 'trap "" TERM; sleep 300'];
    const abort = new AbortController();
    const running = run({ argv, signal: abort.signal, killGraceMs: 200 });

    // bash may exec the last command itself, so the process tree is either
    // bash -> sleep or just sleep; either way the sleep inherited the ignored
    // SIGTERM, and once it runs with it ignored the abort is meaningful.
    const tree = await waitFor('a sleep that ignores SIGTERM', () => {
      const top = ownChild(argv) ?? ownChild(['sleep', '300']);
      if (top === undefined) return undefined;
      const procs = [top, ...descendantsOf(top.pid)];
      return procs.some((p) => p.comm === 'sleep' && ignoresSigterm(p.pid)) && procs;
    });

    abort.abort();
    const result = await running;
    assert.equal(result.killed, true);
    assert.equal(result.signal, 'SIGKILL');
    await waitFor('bash and sleep to be gone', () => tree.every((p) => !isRunning(p)));
  });

  it('truncates output beyond maxOutputBytes while the command keeps running', async () => {
    const done = join(tmp, 'truncation-done');
    // 1 MB is far more than a pipe buffer: if the runner stopped reading, the
    // command would block and never reach `touch`.
    const script = 'head -c 1000000 /dev/zero | tr "\\0" x; echo; echo tail-marker; touch "$1"';
    const result = await run({ argv: ['bash', '-c', script, 'bash', done], maxOutputBytes: 1000 });
    assert.equal(result.exitCode, 0);
    assert.equal(result.killed, false);
    assert.equal(result.truncated, true);
    assert.ok(result.stdout.startsWith(`${'x'.repeat(1000)}\n[steward: output truncated`), result.stdout.slice(990));
    assert.equal(result.output, result.stdout);
    assert.ok(!result.output.includes('tail-marker'));
    assert.ok(result.output.length < 1100, `output has ${result.output.length} chars`);
    assert.ok(existsSync(done), 'the command must have run to its end');
  });

  it('counts stdout and stderr together and never splits a UTF-8 character', async () => {
    const both = await run({ argv: ['bash', '-c', 'printf aaaa; printf bbbb >&2'], maxOutputBytes: 6 });
    assert.equal(both.truncated, true);
    const kept = (both.stdout + both.stderr).replace(/\n?\[steward: output truncated[^\n]*\n/, '');
    assert.equal(kept.length, 6);

    const utf8 = await run({ argv: ['printf', 'ééé'], maxOutputBytes: 3 });
    assert.equal(utf8.truncated, true);
    assert.ok(utf8.stdout.startsWith('é\n[steward: output truncated'), JSON.stringify(utf8.stdout));
    assert.ok(!utf8.stdout.includes('\uFFFD'));

    const exact = await run({ argv: ['printf', 'abc'], maxOutputBytes: 3 });
    assert.equal(exact.truncated, false);
    assert.equal(exact.stdout, 'abc');
  });

  it('resolves soon after the exit even when a background grandchild keeps stdout open', async () => {
    const result = await within(
      15_000,
      'runCommand with a grandchild holding stdout',
      runCommand({ argv: ['bash', '-c', 'sleep 30 & echo "done $!"'] }),
    );
    assert.equal(result.exitCode, 0);
    assert.equal(result.killed, false);
    const match = /^done (\d+)\n$/.exec(result.stdout);
    assert.ok(match?.[1], `stdout ${JSON.stringify(result.stdout)}`);
    // A normal exit does not kill what the command left running on purpose.
    const grandchild = readProc(Number(match[1]));
    assert.ok(grandchild !== undefined && grandchild.comm === 'sleep', 'the grandchild should still run');
    process.kill(grandchild.pid, 'SIGKILL');
  });

  it('on abort after the exit, kills the background process still holding the pipes', async () => {
    const gate = join(tmp, 'drain-gate');
    const argv = ['bash', '-c', 'sleep 300 & until [ -e "$1" ]; do sleep 0.02; done', 'bash', gate];
    const abort = new AbortController();
    const running = run({ argv, signal: abort.signal });

    const bash = await waitFor('the bash process', () => ownChild(argv));
    const sleep = await waitFor('the background sleep', () =>
      descendantsOf(bash.pid).find((p) => p.comm === 'sleep' && p.pgrp === bash.pid),
    );
    writeFileSync(gate, '');
    // Abort inside the ~2 s the runner waits for the pipes after the exit.
    await waitFor('bash to exit', () => !isRunning(bash));
    abort.abort();

    const result = await running;
    assert.equal(result.exitCode, 0);
    assert.equal(result.killed, true);
    await waitFor('the background sleep to be gone', () => !isRunning(sleep));
  });

  it('keeps running when onOutput throws, and reports it as a warning', async () => {
    const warnings: Error[] = [];
    const onWarning = (w: Error) => warnings.push(w);
    process.on('warning', onWarning);
    try {
      let calls = 0;
      const result = await run({
        argv: ['bash', '-c', 'echo one; sleep 0.1; echo two'],
        onOutput: () => {
          calls++;
          throw new Error('listener broke');
        },
      });
      assert.equal(result.exitCode, 0);
      assert.equal(result.stdout, 'one\ntwo\n');
      assert.equal(calls, 1);
      await waitFor('the warning', () => warnings.some((w) => /listener broke/.test(w.message)));
    } finally {
      process.off('warning', onWarning);
    }
  });
});

describe('killProcessTree', { timeout: TEST_TIMEOUT_MS }, () => {
  it('signals the group and descendants that left it', async () => {
    const child = spawn('bash', ['-c', 'sleep 300 & setsid sleep 300 & wait'], { detached: true, stdio: 'ignore' });
    const exited = new Promise((resolve) => child.once('exit', resolve));
    const pid = child.pid;
    assert.ok(pid !== undefined);
    const bash = await waitFor('bash', () => readProc(pid));
    const sleeps = await waitFor('two sleeps', () => {
      const found = descendantsOf(pid).filter((p) => p.comm === 'sleep');
      return found.length === 2 && found;
    });

    const signalled = killProcessTree(pid, 'SIGKILL');
    assert.deepEqual([...signalled].sort(), [pid, ...sleeps.map((p) => p.pid)].sort());
    await exited;
    await waitFor('the tree to be gone', () => [bash, ...sleeps].every((p) => !isRunning(p)));
  });

  it('refuses pids that would reach more than one tree', () => {
    for (const pid of [0, 1, -1, -42, 1.5, Number.NaN, process.pid]) {
      assert.throws(() => killProcessTree(pid, 'SIGTERM'), RangeError, `pid ${pid}`);
    }
  });

  it('returns nothing for a process that is gone', async () => {
    const child = spawn('true', [], { detached: true, stdio: 'ignore' });
    const pid = child.pid;
    assert.ok(pid !== undefined);
    await new Promise((resolve) => child.once('exit', resolve));
    assert.deepEqual(killProcessTree(pid, 'SIGTERM'), []);
  });
});
