/**
 * Start-up messages (issue 14 item 5): the files of `<nodeFolder>/startup/`
 * are sent each time a real node starts. They are read in name order, only
 * `*.txt` and `*.json`, not consumed, and sent again with new ids at the next
 * start; a bad entry is kept in inmsg.rejected.txt with its file and line while
 * the others still go. And the attack: another local user who can write into
 * the folder, or a file in it, must not be able to make the node send (and
 * sign) messages of their own.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { chmodSync, chownSync, existsSync, mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';

import {
  cleanupHarness,
  makeTempDir,
  queryJournal,
  readFileOr,
  startNatsServer,
  startNode,
  waitFor,
  type NatsServerHandle,
  type NodeHandle,
} from './helpers/index.js';

after(cleanupHarness);

/** uid and gid of `nobody`: the other local user. */
const nobody = 65534;

/** Runs a shell command as uid/gid 65534 without groups, the way another local user would. */
function asNobody(script: string): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn('setpriv', [`--reuid=${nobody}`, `--regid=${nobody}`, '--clear-groups', 'sh', '-c', script], {
      cwd: '/',
      stdio: ['ignore', 'ignore', 'pipe'],
      env: { PATH: process.env.PATH ?? '' },
    });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stderr }));
  });
}

/** One message to the node itself that appends `word` to `file` (shell-quoted by JSON only: keep words simple). */
function appendMessage(file: string, word: string): Record<string, unknown> {
  return { toNode: 'local', method: 'CLICommand', commandOrEvent: 'CommandACK', data: ['bash', '-c', `echo ${word} >> ${file}`] };
}

/** Every security flag explicit: these nodes send to themselves, with checks off. */
const securityOff = ['--enableSignatureCheck', 'false', '--enableAclCheck', 'false'];

describe('startup/ messages', { timeout: 600_000 }, () => {
  const tag = randomUUID().slice(0, 6);
  let server: NatsServerHandle;
  let dir: string;

  before(async () => {
    server = await startNatsServer();
    dir = await makeTempDir('steward-startup-');
    // Like /srv/steward: other users may look in, as they may on most machines.
    chmodSync(dir, 0o755);
  });

  /** Lines of a file, without empty ones. */
  const lines = (file: string) => readFileOr(file, '').split('\n').filter(Boolean);
  /** How often `text` occurs in `s`. */
  const count = (s: string, text: string) => s.split(text).length - 1;

  it('sends the files at each start, in name order; a bad entry is reported with file and line and the others still go', async () => {
    const name = `su${tag}`;
    const folder = join(dir, name);
    const runs = join(dir, `${name}-runs.txt`);
    const startup = join(folder, 'startup');
    mkdirSync(startup, { recursive: true, mode: 0o755 });
    writeFileSync(join(startup, '10-first.json'), `# the first file\n${JSON.stringify([appendMessage(runs, 'first')])}\n`);
    // Line 2 holds a bad entry (unknown method), line 3 a good one: the good one still goes.
    writeFileSync(
      join(startup, '20-second.txt'),
      [
        '# the second file',
        `[${JSON.stringify({ ...appendMessage(runs, 'bad'), method: 'CLIComand' })},`,
        ` ${JSON.stringify(appendMessage(runs, 'second'))}]`,
        '',
      ].join('\n'),
    );
    // Neither is read: another extension, a hidden name.
    writeFileSync(join(startup, '30-notes.md'), JSON.stringify([appendMessage(runs, 'notes')]));
    writeFileSync(join(startup, '.40-hidden.json'), JSON.stringify([appendMessage(runs, 'hidden')]));

    const node: NodeHandle = await startNode({ name, folder, brokerHostPort: server.hostPort, args: securityOff });
    await waitFor(() => lines(runs).length >= 2, {
      timeoutMs: 60_000,
      message: () => `start-up messages did not run:\n${node.log().slice(-3000)}`,
    });
    assert.match(node.log(), /start-up messages: 2 sent from 2 file\(s\) in startup\/, 1 rejected/);
    assert.deepEqual(lines(runs), ['first', 'second']);
    const where = 'startup/20-second.txt value 1, entry 1 (line 2)';
    const rejectedFile = join(folder, 'inmsg.rejected.txt');
    assert.equal(
      count(readFileOr(rejectedFile, ''), `${where}: field "method": unknown method "CLIComand"`),
      1,
      readFileOr(rejectedFile, ''),
    );
    assert.match(readFileOr(rejectedFile, ''), /"method":"CLIComand"/, 'the rejected text is kept');
    assert.match(node.log(), new RegExp(`${where.replace(/[().]/g, '\\$&')} rejected: field "method"`));
    // Not consumed: the files are still there for the next start.
    assert.ok(existsSync(join(startup, '10-first.json')) && existsSync(join(startup, '20-second.txt')));

    await node.restart();
    await waitFor(() => lines(runs).length >= 4, {
      timeoutMs: 60_000,
      message: () => `start-up messages did not run again:\n${node.log().slice(-3000)}`,
    });
    assert.deepEqual(lines(runs), ['first', 'second', 'first', 'second']);
    // Each start sent its own messages, with new ids; the bad entry is reported again.
    const ids = queryJournal<{ id: string; source_key: string }>(
      node,
      `SELECT id, source_key FROM outbox WHERE source_key LIKE 'startup:%' ORDER BY seq`,
    );
    assert.equal(ids.length, 4, JSON.stringify(ids));
    assert.equal(new Set(ids.map((r) => r.id)).size, 4);
    assert.equal(new Set(ids.map((r) => r.source_key.split(':')[1])).size, 2, 'one start time per start');
    assert.match(ids[0]!.source_key, /^startup:\d+:10-first\.json:0:0$/);
    assert.match(ids[1]!.source_key, /^startup:\d+:20-second\.txt:0:1$/);
    assert.equal(count(readFileOr(rejectedFile, ''), where), 2);
    await node.stop();
  });

  it('ATTACK: another local user cannot make the node send messages through startup/', async () => {
    const name = `sa${tag}`;
    const folder = join(dir, name);
    const runs = join(dir, `${name}-runs.txt`);
    const pwned = join(dir, `${name}-pwned`);
    const startup = join(folder, 'startup');
    mkdirSync(folder, { recursive: true });
    chmodSync(folder, 0o755);
    mkdirSync(startup);
    // The operator's mistake: a folder anyone may write to, and one file anyone may write.
    chmodSync(startup, 0o777);
    writeFileSync(join(startup, '10-ok.json'), JSON.stringify([appendMessage(runs, 'ok')]));
    writeFileSync(join(startup, '30-shared.json'), JSON.stringify([appendMessage(runs, 'shared')]));
    chmodSync(join(startup, '30-shared.json'), 0o666);
    chmodSync(join(startup, '10-ok.json'), 0o644);

    // The attacker adds a file of their own and rewrites the one they may write.
    const evil = JSON.stringify([{ ...appendMessage(runs, 'evil'), data: ['bash', '-c', `touch ${pwned}`] }]);
    const planted = await asNobody(`echo '${evil}' > ${startup}/20-evil.json && echo '${evil}' > ${startup}/30-shared.json`);
    assert.equal(planted.code, 0, `the attacker could not write (the test needs it): ${planted.stderr}`);

    // 1. The folder itself is writable by others: nothing in it is read.
    const node: NodeHandle = await startNode({ name, folder, brokerHostPort: server.hostPort, args: securityOff });
    /** Outbox rows that carry the attacker's command: what `steward jobs` would show going out. */
    const attackerMessages = () =>
      queryJournal<{ n: number }>(node, `SELECT count(*) AS n FROM outbox WHERE message LIKE ?`, `%${name}-pwned%`)[0]!.n;
    // The folder was dealt with (refused, or read and summed up): its messages are journaled by now or never.
    await waitFor(() => /startup\/ not read|start-up messages:/.test(node.log()), {
      timeoutMs: 60_000,
      message: () => `the startup folder was never dealt with:\n${node.log().slice(-3000)}`,
    });
    assert.equal(attackerMessages(), 0, "the attacker's message was journaled: the node sends it, signed");
    assert.match(node.log(), /startup\/ not read, no start-up message sent: it is writable by other users and its group \(mode 0777\)/);

    // 2. The operator tightens the folder; the attacker's files are still in it.
    await node.stop();
    chmodSync(startup, 0o755);
    await node.restart();
    // The operator's own file goes: a positive sign that the folder was read.
    await waitFor(() => lines(runs).includes('ok'), {
      timeoutMs: 60_000,
      message: () => `10-ok.json did not run:\n${node.log().slice(-3000)}`,
    });
    // What an operator checks: the attacker's command never ran, and was never even journaled
    // (it would have been journaled with 10-ok.json, in one transaction).
    assert.deepEqual(lines(runs), ['ok']);
    assert.equal(existsSync(pwned), false, 'the attacker-planted command ran');
    assert.equal(attackerMessages(), 0, "the attacker's message is in the outbox");
    const log = node.log();
    assert.match(log, new RegExp(`startup/20-evil.json not read: it belongs to uid ${nobody}, not to the node's user`));
    assert.match(log, /startup\/30-shared.json not read: it is writable by other users and its group \(mode 0666\)/);
    assert.match(log, /start-up messages: 1 sent from 1 file\(s\) in startup\//);
    await node.stop();
  });

  it('a symbolic link or a file given away to another user is not read, even when its content is harmless', async () => {
    const name = `sl${tag}`;
    const folder = join(dir, name);
    const runs = join(dir, `${name}-runs.txt`);
    const startup = join(folder, 'startup');
    mkdirSync(startup, { recursive: true, mode: 0o755 });
    const target = join(dir, `${name}-target.json`);
    writeFileSync(target, JSON.stringify([appendMessage(runs, 'linked')]));
    symlinkSync(target, join(startup, '10-link.json'));
    writeFileSync(join(startup, '20-given.json'), JSON.stringify([appendMessage(runs, 'given')]));
    chownSync(join(startup, '20-given.json'), nobody, nobody);
    writeFileSync(join(startup, '30-own.json'), JSON.stringify([appendMessage(runs, 'own')]));

    const node: NodeHandle = await startNode({ name, folder, brokerHostPort: server.hostPort, args: securityOff });
    await waitFor(() => lines(runs).includes('own'), { timeoutMs: 60_000, message: () => node.log().slice(-3000) });
    assert.match(node.log(), /startup\/10-link.json not read: it is a symbolic link/);
    assert.match(node.log(), new RegExp(`startup/20-given.json not read: it belongs to uid ${nobody}`));
    assert.match(node.log(), /start-up messages: 1 sent from 1 file\(s\)/);
    assert.deepEqual(lines(runs), ['own']);
    await node.stop();
  });
});
