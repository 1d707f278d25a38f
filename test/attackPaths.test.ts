/**
 * Attacks on where a node writes (issue 12, holes 5 and 10a), against real
 * nodes. Signature and ACL checks are off on purpose, so these tests prove
 * the path rule alone: whoever may send a copy or a reply must still not be
 * able to write into the receiving node's control paths (read folder,
 * inmsg.txt, state/), not even through a link inside an allowed root, nor
 * append through a hard link planted in the data folder by another local user.
 *
 * The ship's read folder is put under its allowed write root on purpose, and
 * named after the sender, so a reply's `<directory>/<fromNode>/` would land
 * in it: the allowed roots say yes, the control-path rule must say no.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { existsSync, linkSync, readdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';

import {
  cleanupHarness,
  inboxRows,
  makeTempDir,
  outboxRows,
  startNatsServer,
  startNode,
  tailLines,
  waitFor,
  type NatsServerHandle,
  type NodeHandle,
} from './helpers/index.js';

after(cleanupHarness);

interface Msg {
  id: string;
  method: string;
  fromNode: string;
  data: string[];
  fileName?: string;
}
interface Result {
  status: string;
  error?: string;
}

const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

describe('attack: files written into a node’s control paths (holes 5 and 10a)', { timeout: 600_000 }, () => {
  const tag = randomUUID().slice(0, 6);
  const centralName = `apc${tag}`;
  const shipName = `aps${tag}`;
  let server: NatsServerHandle;
  let central: NodeHandle;
  let ship: NodeHandle;
  let root: string;
  /** The ship's only allowed write root. */
  let drop: string;
  /** The ship's read folder: inside `drop`, and named after the sender. */
  let readFolder: string;
  /** Exists only if a planted message ever ran on the ship. */
  let pwned: string;
  let evil: string;

  const common = ['--centralNodeName', centralName, '--enableSignatureCheck', 'false', '--enableAclCheck', 'false'];

  /** The ship's inbox rows of `method` whose first data (or file name) mentions `needle`, once finished. */
  const finished = (method: string, needle: string) =>
    inboxRows<Msg, Result>(ship).filter(
      (r) =>
        r.message.method === method &&
        (r.message.data[0]?.includes(needle) || r.message.fileName === needle) &&
        ['succeeded', 'failed', 'rejected'].includes(r.state),
    );
  const shipLogs = () => `ship log:\n${tailLines(ship.log(), 30)}`;

  /** Has central copy its `./<src>` to `dst` on the ship, through inmsg.txt. */
  const copy = (src: string, dst: string) =>
    central.inmsg(
      JSON.stringify([{ toNode: centralName, method: 'REQCopySrc', methodArgs: [`./${src}`, shipName, dst], fileName: `${src}.log` }]) +
        '\n',
    );

  /** Waits until the REQCopyDst messages (one chunk, the commit) of the copy to `dst` have run on the ship. */
  const copyRows = (dst: string) =>
    waitFor(
      () => {
        const got = finished('REQCopyDst', `"path":${JSON.stringify(dst)}`);
        // One chunk and the commit.
        return got.length >= 2 && got;
      },
      { timeoutMs: 90_000, message: () => `the copy to ${dst} was not processed on the ship; ${shipLogs()}` },
    );
  /** The errors of the copy to `dst` (each REQCopyDst message must have failed). */
  const copyErrors = async (dst: string): Promise<string[]> =>
    (await copyRows(dst)).map((r) => (r.state === 'failed' ? (r.result?.error ?? '(no error)') : `unexpected state ${r.state}`));

  before(async () => {
    server = await startNatsServer();
    root = await makeTempDir('steward-attack-paths-');
    drop = join(root, 'drop');
    readFolder = join(drop, centralName);
    pwned = join(root, 'pwned');
    await mkdir(join(root, 'outside'), { recursive: true });
    evil = JSON.stringify([{ toNode: shipName, method: 'CLICommand', data: ['bash', '-c', `touch ${pwned}`] }]);
    [central, ship] = await Promise.all([
      startNode({
        name: centralName,
        folder: join(root, centralName),
        brokerHostPort: server.hostPort,
        args: [...common, '--centralErrorLogger'],
      }),
      startNode({
        name: shipName,
        folder: join(root, shipName),
        brokerHostPort: server.hostPort,
        args: [...common, '--readFolder', readFolder, '--allowedWriteRoots', drop],
      }),
    ]);
    writeFileSync(join(central.folder, 'evil.json'), evil);
    writeFileSync(join(central.folder, 'plain.txt'), 'plain\n');
  });

  it('a legitimate copy into the allowed root still works (the refusals below are the rule, not a broken copy)', async () => {
    await copy('plain.txt', join(drop, 'incoming', 'plain.txt'));
    assert.deepEqual(
      (await copyRows(join(drop, 'incoming', 'plain.txt'))).map((r) => r.state),
      ['succeeded', 'succeeded'],
    );
    assert.equal(readFileSync(join(drop, 'incoming', 'plain.txt'), 'utf8'), 'plain\n');
  });

  it('refuses a copy of a message file into the read folder, directly and through a link inside the root', async () => {
    // A link inside the allowed root that leads to the read folder, as a careless operator might leave it.
    symlinkSync(readFolder, join(drop, 'alias'));
    const direct = join(readFolder, 'evil.json');
    const linked = join(drop, 'alias', 'evil2.json');
    await copy('evil.json', direct);
    await copy('evil.json', linked);
    const refusal = new RegExp(`refused: \\S*evil2?\\.json is inside the node's control folder ${escape(readFolder)} \\(read folder\\)`);
    for (const dst of [direct, linked]) {
      const errors = await copyErrors(dst);
      for (const e of errors) assert.match(e, refusal, `copy to ${dst}: chunk and commit refused, naming the path`);
    }
    // Nothing landed in the read folder (not even a partial file), nothing was sent from it.
    assert.deepEqual(
      readdirSync(readFolder).filter((n) => n !== 'rejected'),
      [],
    );
    assert.deepEqual(readdirSync(join(readFolder, 'rejected')), []);
    assert.equal(existsSync(pwned), false, 'the planted message never ran');
    assert.equal(
      outboxRows<Msg, Result>(ship).filter((r) => r.message.method === 'CLICommand').length,
      0,
      'the ship sent no message of its own',
    );
  });

  it('refuses a copy into state/keys/ and over inmsg.txt (relative to the node folder)', async () => {
    await copy('evil.json', 'state/keys/evil.key');
    await copy('evil.json', 'inmsg.txt');
    for (const e of await copyErrors('state/keys/evil.key'))
      assert.match(e, /refused: \S*state\/keys\/evil\.key is inside the node's control folder \S*state\/keys \(keys\)/);
    for (const e of await copyErrors('inmsg.txt'))
      assert.match(e, /refused: \S*inmsg\.txt is one of the node's control files \S*inmsg\.\* /);
    assert.equal(existsSync(join(ship.folder, 'state', 'keys', 'evil.key')), false);
    assert.equal(
      readdirSync(join(ship.folder, 'state', 'keys')).some((n) => n.includes('steward-copy')),
      false,
      'no partial file in state/keys',
    );
    assert.equal(readFileSync(join(ship.folder, 'inmsg.txt'), 'utf8'), '', 'inmsg.txt untouched');
    assert.equal(existsSync(pwned), false);
  });

  it('refuses a REQToFile reply whose <directory>/<fromNode>/ is the read folder', async () => {
    await central.inmsg(
      JSON.stringify([{ toNode: shipName, method: 'REQToFile', data: [evil], directory: drop, fileName: 'evil3.json' }]) + '\n',
    );
    const [row] = await waitFor(() => finished('REQToFile', 'evil3.json').length > 0 && finished('REQToFile', 'evil3.json'), {
      timeoutMs: 60_000,
      message: () => `REQToFile not processed on the ship; ${shipLogs()}`,
    });
    assert.equal(row!.state, 'failed');
    assert.match(
      row!.result?.error ?? '',
      new RegExp(`refused: \\S*evil3\\.json is inside the node's control folder ${escape(readFolder)} \\(read folder\\)`),
    );
    assert.equal(existsSync(join(readFolder, 'evil3.json')), false);
    assert.deepEqual(
      readdirSync(readFolder).filter((n) => n !== 'rejected' && !n.startsWith('.')),
      [],
    );
    assert.equal(existsSync(pwned), false);
  });

  it('refuses to append through a hard link another local user planted in the data folder (hole 10a)', async () => {
    const victim = join(root, 'outside', 'victim.txt');
    writeFileSync(victim, 'original\n');
    await mkdir(ship.dataFile(centralName), { recursive: true });
    const planted = ship.dataFile(centralName, 'hl.log');
    linkSync(victim, planted);
    await central.inmsg(JSON.stringify([{ toNode: shipName, method: 'TextLogging', data: ['injected\n'], fileName: 'hl.log' }]) + '\n');
    const [row] = await waitFor(() => finished('TextLogging', 'hl.log').length > 0 && finished('TextLogging', 'hl.log'), {
      timeoutMs: 60_000,
      message: () => `TextLogging not processed on the ship; ${shipLogs()}`,
    });
    assert.equal(row!.state, 'failed');
    assert.match(row!.result?.error ?? '', new RegExp(`refused: ${escape(planted)} has 2 hard links`));
    assert.equal(readFileSync(victim, 'utf8'), 'original\n', 'the file outside the data folder is unchanged');
  });

  it('REQToFile over a planted hard link replaces the link, never writes into its target', async () => {
    const victim = join(root, 'outside', 'victim2.txt');
    writeFileSync(victim, 'original\n');
    await mkdir(ship.dataFile(centralName), { recursive: true });
    const planted = ship.dataFile(centralName, 'tf.txt');
    linkSync(victim, planted);
    await central.inmsg(JSON.stringify([{ toNode: shipName, method: 'REQToFile', data: ['replaced\n'], fileName: 'tf.txt' }]) + '\n');
    const [row] = await waitFor(() => finished('REQToFile', 'tf.txt').length > 0 && finished('REQToFile', 'tf.txt'), {
      timeoutMs: 60_000,
      message: () => `REQToFile not processed on the ship; ${shipLogs()}`,
    });
    assert.equal(row!.state, 'succeeded', row!.result?.error);
    assert.equal(readFileSync(planted, 'utf8'), 'replaced\n');
    assert.equal(statSync(planted).nlink, 1, 'the data file is a file of its own now');
    assert.equal(readFileSync(victim, 'utf8'), 'original\n', 'the linked file is unchanged');
  });
});
