/**
 * Attack: another local user reads what a node wrote (issue 12, hole 8).
 * Command outputs (`data/`), the journal and the audit log (command lines)
 * were created 0644 in 0755 folders. A real node runs a TextLogging and a
 * CLICommand; then `nobody` (uid 65534, via setpriv) tries to read the audit
 * log and the outputs. A file the test itself puts in the node folder, mode
 * 0644, is readable by `nobody`: the control that proves the path there is
 * open and that the refusal comes from the node's modes.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { chmodSync, existsSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';

import { cleanupHarness, makeTempDir, readFileOr, startNatsServer, startNode, waitFor, type NatsServerHandle } from './helpers/index.js';

after(cleanupHarness);

const NOBODY = 65534;

/** Runs `cat file` as uid/gid `id` with no supplementary groups: what another local user can read. */
function catAs(id: number, file: string): { ok: boolean; out: string } {
  const r = spawnSync('setpriv', [`--reuid=${id}`, `--regid=${id}`, '--clear-groups', 'cat', file], { encoding: 'utf8' });
  if (r.error) throw r.error;
  return { ok: r.status === 0, out: r.stdout };
}

const mode = (p: string) => statSync(p).mode & 0o7777;
const octal = (m: number) => m.toString(8).padStart(4, '0');

/** Every `.log` file under `folder`, recursively. */
function logFiles(folder: string): string[] {
  if (!existsSync(folder)) return [];
  return readdirSync(folder, { recursive: true, encoding: 'utf8' })
    .map((f) => join(folder, f))
    .filter((f) => f.endsWith('.log'));
}

/** A temporary folder every user may enter, so only the node's own modes can keep `nobody` out. */
async function openTempDir(prefix: string): Promise<string> {
  const dir = await makeTempDir(prefix);
  chmodSync(dir, 0o755);
  return dir;
}

const plainSecurity = ['--enableSignatureCheck', 'false', '--enableAclCheck', 'false'];

describe('attack: another local user reads the node files (hole 8)', { timeout: 240_000 }, () => {
  let server: NatsServerHandle;
  before(async () => {
    server = await startNatsServer();
  });

  /** Starts `name` in a fresh open folder, sends it a TextLogging and a CLICommand through inmsg.txt, and waits for both outputs. */
  async function nodeWithOutputs(name: string, extraArgs: string[] = []) {
    const dir = await openTempDir('steward-attackfiles-');
    const folder = join(dir, name);
    const node = await startNode({ name, folder, brokerHostPort: server.hostPort, args: [...plainSecurity, ...extraArgs] });
    chmodSync(folder, 0o755);
    await node.inmsg(
      JSON.stringify([
        { toNode: name, method: 'TextLogging', commandOrEvent: 'EventACK', data: ['secret-text-line'] },
        { toNode: name, method: 'CLICommand', commandOrEvent: 'CommandACK', data: ['bash', '-c', 'echo secret-output; umask'] },
      ]) + '\n',
    );
    const outputs = await waitFor(
      () => {
        const files = logFiles(join(folder, 'data'));
        const text = files.find((f) => readFileOr(f).includes('secret-text-line'));
        const out = files.find((f) => readFileOr(f).includes('secret-output'));
        return text && out && { text, out };
      },
      { timeoutMs: 60_000, message: () => `both outputs written; log:\n${node.log()}` },
    );
    // The outcome lines of the audit log are written just after the delivery ends.
    const audit = join(folder, 'state', 'audit.log');
    await waitFor(() => readFileOr(audit).includes('"delivered"'), { timeoutMs: 30_000, message: 'audit outcome lines' });
    // A file the test puts there itself: nobody can read it, so the path to the node folder is open.
    const control = join(folder, 'control.txt');
    writeFileSync(control, 'control\n', { mode: 0o644 });
    chmodSync(control, 0o644);
    return { node, folder, audit, control, ...outputs };
  }

  it('outputs, journal and audit log are owner-only; nobody cannot read them; commands keep the operator umask', async () => {
    const name = `af${randomUUID().slice(0, 6)}`;
    const { folder, audit, control, text, out } = await nodeWithOutputs(name);
    assert.ok(catAs(NOBODY, control).ok, 'control: nobody reads a 0644 file in the node folder');

    const state = join(folder, 'state');
    const data = join(folder, 'data');
    const expect = (p: string, m: number) => assert.equal(octal(mode(p)), octal(m), `${p} mode`);
    expect(state, 0o700);
    expect(data, 0o700);
    for (const f of [text, out]) expect(join(f, '..'), 0o700);
    expect(join(state, 'journal.db'), 0o600);
    expect(join(state, 'journal.db-wal'), 0o600);
    expect(audit, 0o600);
    expect(text, 0o600);
    expect(out, 0o600);
    assert.equal(mode(folder), 0o755, 'the node folder itself keeps its mode');
    assert.equal(mode(control), 0o644, 'a file the operator put there keeps its mode');

    for (const f of [audit, text, out, join(state, 'journal.db')]) {
      const r = catAs(NOBODY, f);
      assert.equal(r.ok, false, `nobody read ${f}`);
      assert.doesNotMatch(r.out, /secret/, 'no content leaked');
    }
    assert.equal(spawnSync('setpriv', [`--reuid=${NOBODY}`, `--regid=${NOBODY}`, '--clear-groups', 'ls', data]).status !== 0, true);

    // The command ran with the umask the node was started with, not the node's 077.
    const started = spawnSync('sh', ['-c', 'umask'], { encoding: 'utf8' }).stdout.trim();
    assert.match(readFileOr(out), new RegExp(`secret-output\\n${started}`), 'the command keeps the operator umask');
  });

  it('--fileGroup: folders 2750 and files 0640 in that group; a member reads, another user does not', async () => {
    const name = `ag${randomUUID().slice(0, 6)}`;
    // nogroup (65534) is nobody's primary group on Debian.
    const { folder, audit, control, text, out } = await nodeWithOutputs(name, ['--fileGroup', 'nogroup']);
    assert.ok(catAs(NOBODY, control).ok, 'control');
    const expect = (p: string, m: number) => {
      assert.equal(octal(mode(p)), octal(m), `${p} mode`);
      assert.equal(statSync(p).gid, NOBODY, `${p} group`);
    };
    expect(join(folder, 'state'), 0o2750);
    expect(join(folder, 'data'), 0o2750);
    expect(join(folder, 'state', 'journal.db'), 0o640);
    expect(audit, 0o640);
    expect(text, 0o640);
    expect(out, 0o640);
    assert.match(catAs(NOBODY, audit).out, /secret-output/, 'a member of the group reads the audit log');
    assert.match(catAs(NOBODY, out).out, /secret-output/, 'and the outputs');
    for (const f of [audit, out]) assert.equal(catAs(65533, f).ok, false, `a user outside the group read ${f}`);
  });

  it('--fileGroup naming no group stops the start with a clear message', async () => {
    const name = `an${randomUUID().slice(0, 6)}`;
    const dir = await openTempDir('steward-attackfiles-');
    await assert.rejects(
      startNode({
        name,
        folder: join(dir, name),
        brokerHostPort: server.hostPort,
        args: [...plainSecurity, '--fileGroup', 'no-such-group-x'],
      }),
      /--fileGroup "no-such-group-x": no such group/,
    );
  });

  it('a node folder left by an older version (state/ 0755, audit.log 0644, journal 0644) is tightened at start', async () => {
    const name = `ao${randomUUID().slice(0, 6)}`;
    const { node, folder, audit, text } = await nodeWithOutputs(name);
    await node.stop();
    const state = join(folder, 'state');
    const journal = join(state, 'journal.db');
    // What an older version left: everything world-readable.
    for (const d of [state, join(folder, 'data'), join(text, '..')]) chmodSync(d, 0o755);
    for (const f of [journal, audit, text]) chmodSync(f, 0o644);
    assert.ok(catAs(NOBODY, audit).ok, 'before the restart nobody reads the audit log (the old hole)');

    await node.restart();
    assert.equal(mode(state), 0o700);
    assert.equal(mode(join(folder, 'data')), 0o700);
    assert.equal(mode(journal), 0o600);
    assert.equal(mode(audit), 0o600);
    assert.equal(mode(folder), 0o755, 'the node folder itself keeps its mode');
    const line = node
      .log()
      .split('\n')
      .find((l) => l.includes('tightened file modes left by an older version'));
    assert.ok(line, 'one INFO line says what was tightened');
    assert.match(line, /INFO/);
    assert.match(line, /state\/ 0755→0700/);
    assert.match(line, /state\/audit\.log 0644→0600/);
    assert.match(line, /state\/journal\.db 0644→0600/);
    assert.match(line, /data\/ 0755→0700/);
    for (const f of [audit, text]) assert.equal(catAs(NOBODY, f).ok, false, `nobody read ${f} after the restart`);
  });
});
