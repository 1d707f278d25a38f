/**
 * REQCopySrc / REQCopyDst between real nodes: a 20 MB file is copied in
 * SHA-256 checked chunks while the receiving node is killed (SIGKILL) and
 * restarted in the middle; the copy resumes, is verified and installed with
 * the source's mode, and the report reaches the node that asked.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { chmod, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';

import {
  cleanupHarness,
  makeTempDir,
  outboxRows,
  readFileOr,
  startNatsServer,
  startNode,
  waitFor,
  type NatsServerHandle,
  type NodeHandle,
} from './helpers/index.js';

after(cleanupHarness);

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
/** Copies, not signatures or ACLs, are tested here: both off, explicitly (the defaults may change). */
const checksOff = ['--enableSignatureCheck', 'false', '--enableAclCheck', 'false'];

describe('REQCopySrc / REQCopyDst', () => {
  let broker: NatsServerHandle;
  let central: NodeHandle;
  let ship1: NodeHandle;

  before(async () => {
    broker = await startNatsServer();
    const root = await makeTempDir('steward-copy-');
    [central, ship1] = await Promise.all([
      startNode({
        name: 'central',
        folder: join(root, 'central'),
        brokerHostPort: broker.hostPort,
        args: [...checksOff, '--centralErrorLogger'],
      }),
      startNode({ name: 'ship1', folder: join(root, 'ship1'), brokerHostPort: broker.hostPort, args: checksOff }),
    ]);
  });

  it('copies 20 MB with the receiver killed and restarted mid-way: resumes, verifies, keeps the mode', async () => {
    const bytes = randomBytes(20 * 1024 * 1024);
    const src = join(central.folder, 'big.bin');
    await writeFile(src, bytes);
    await chmod(src, 0o640);
    await central.inmsg(
      JSON.stringify([
        {
          toNode: 'central',
          method: 'REQCopySrc',
          methodArgs: ['./big.bin', 'ship1', 'incoming/big-copy.bin', '250000', '180', '0750'],
          fileName: 'copies.log',
        },
      ]) + '\n',
    );
    const dir = join(ship1.folder, 'incoming');
    const partSize = () => {
      try {
        const part = readdirSync(dir).find((n) => n.endsWith('.part'));
        return part ? statSync(join(dir, part)).size : 0;
      } catch {
        return 0;
      }
    };
    // Kill the receiver once a few MB have arrived, well before the end.
    await waitFor(() => partSize() >= 3 * 1024 * 1024, {
      timeoutMs: 60_000,
      intervalMs: 20,
      message: () => `the copy did not start arriving; ship1 log:\n${ship1.log().slice(-3000)}`,
    });
    await ship1.kill9();
    const atKill = partSize();
    assert.ok(atKill < bytes.length, `killed mid-way (${atKill} bytes written)`);
    assert.equal(existsSync(join(dir, 'big-copy.bin')), false);
    // Restart only once central has felt the loss: a message to ship1 failed an attempt
    // (no responders or no ACK) and waits to be resent, so the copy must really resume.
    await waitFor(
      () =>
        outboxRows(central).some(
          (r) =>
            r.subject.startsWith('ship1.') && !['delivered', 'expired'].includes(r.state) && (r.state === 'retryWait' || r.attempts >= 2),
        ),
      {
        timeoutMs: 60_000,
        intervalMs: 20,
        message: () => `central never retried towards the dead ship1; central log:\n${central.log().slice(-3000)}`,
      },
    );
    await ship1.restart();

    const copied = join(dir, 'big-copy.bin');
    await waitFor(() => existsSync(copied), {
      timeoutMs: 180_000,
      message: () => `the copy did not finish; ship1 log:\n${ship1.log().slice(-3000)}\ncentral log:\n${central.log().slice(-2000)}`,
    });
    assert.equal(sha(readFileSync(copied)), sha(bytes), 'same content');
    assert.equal(statSync(copied).mode & 0o777, 0o640, 'the source mode');
    assert.equal(statSync(dir).mode & 0o777, 0o750, 'folders made with folderPerm');
    assert.deepEqual(
      readdirSync(dir).filter((n) => n !== 'big-copy.bin'),
      [],
      'no partial file left',
    );
    const report = central.dataFile('ship1', 'copies.log');
    await waitFor(() => readFileOr(report).includes(`sha256 ${sha(bytes)} verified`), {
      timeoutMs: 60_000,
      message: () => `no report at central: ${readFileOr(report)}`,
    });
    // The chunk in flight at the kill was resent (or resumed from ship1's journal), not started over.
    assert.match(`${central.log()}\n${ship1.log()}`, /resending \(attempt|resuming|duplicate answered/);
  });

  it('a small copy to a relative path works; a missing source is answered with the failure', async () => {
    const src = join(central.folder, 'small.bin');
    await writeFile(src, randomBytes(300_000));
    await central.inmsg(
      JSON.stringify([{ toNode: 'central', method: 'REQCopySrc', methodArgs: ['./small.bin', 'ship1', 'missing-src.bin'] }]) + '\n',
    );
    await central.inmsg(
      JSON.stringify([
        { toNode: 'central', method: 'REQCopySrc', methodArgs: ['./no-such-file', 'ship1', 'x.bin'], fileName: 'nofile.log' },
      ]) + '\n',
    );
    await waitFor(() => existsSync(join(ship1.folder, 'missing-src.bin')), { timeoutMs: 60_000, message: 'small copy' });
    const nofile = central.dataFile('central', 'nofile.log');
    await waitFor(() => readFileOr(nofile).includes('steward: REQCopySrc failed: cannot copy'), {
      timeoutMs: 30_000,
      message: () => `no failure reply: ${readFileOr(nofile)}`,
    });
    assert.equal(existsSync(join(ship1.folder, 'x.bin')), false);
  });
});
