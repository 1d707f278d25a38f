/**
 * The default node lets no one in (issue 12, hole 2). A node started with
 * no security flags at all:
 * - starts its local broker with a generated user and password, kept mode
 *   0600 where only the node's user can read them, so a client without them
 *   (another user of the machine) cannot connect;
 * - checks signatures and the ACL: an unsigned command from a client that
 *   does reach the broker is refused.
 * And a node that turns signature checks off on a broker without
 * authentication says, at start, what that means.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { chmodSync, existsSync, readFileSync, statSync } from 'node:fs';
import { createConnection } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';

import { connect } from '@nats-io/transport-node';

import {
  cleanupHarness,
  makeTempDir,
  startNatsServer,
  startNode,
  waitFor,
  type NatsServerHandle,
  type NodeHandle,
} from './helpers/index.js';

after(cleanupHarness);

/** Whether something accepts connections on 127.0.0.1:`port`. */
function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = createConnection({ host: '127.0.0.1', port });
    sock.once('connect', () => {
      sock.destroy();
      resolve(true);
    });
    sock.once('error', () => resolve(false));
  });
}

/** An unsigned CLICommand that would create `file` on `node`. */
function unsignedCommand(node: string, file: string): string {
  return JSON.stringify({
    id: randomUUID(),
    fromNode: 'central',
    toNode: node,
    method: 'CLICommand',
    commandOrEvent: 'CommandACK',
    data: ['bash', '-c', `touch ${file}`],
    createdAt: Date.now(),
    timeout: 10,
    retries: 0,
    methodTimeout: 10,
  });
}

describe('the default node lets no one in', { timeout: 300_000 }, () => {
  let dir: string;
  let node: NodeHandle;
  let credsFile: string;

  before(async () => {
    // The default broker address is fixed (127.0.0.1:4222): wait for another run's local broker to go away.
    await waitFor(async () => !(await listening(4222)), {
      timeoutMs: 300_000,
      intervalMs: 1000,
      message: 'port 4222 stays taken by another broker: this test needs the default broker address free',
    });
    dir = await makeTempDir('steward-default-');
    credsFile = join(dir, 'config', 'steward', 'local-broker.json');
    // The folder of the node's user: reachable by the other user, so only the file's own mode protects it.
    chmodSync(dir, 0o755);
    // No --brokerAddress and no security flag: the defaults, with the local broker the node starts itself.
    node = await startNode({
      name: 'central',
      folder: join(dir, 'central'),
      securityDefaults: true,
      env: { XDG_CONFIG_HOME: join(dir, 'config') },
    });
  });

  // SIGTERM, not the harness's SIGKILL: the node stops the local broker it started, so port 4222 is free again.
  after(async () => {
    await node?.stop();
  });

  it('the local broker requires the generated credentials, kept 0600 in the documented place', async () => {
    assert.match(node.log(), /started local nats-server on 127\.0\.0\.1:4222/);
    assert.ok(existsSync(credsFile), `no credentials at ${credsFile}`);
    assert.equal(statSync(credsFile).mode & 0o777, 0o600);
    // A client without them is refused by the broker.
    await assert.rejects(connect({ servers: '127.0.0.1:4222', reconnect: false }), /Authorization|authorization|auth/i);
    // Another user of the machine cannot read them.
    const other = spawnSync('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', 'cat', credsFile], { encoding: 'utf8' });
    assert.notEqual(other.status, 0, 'uid 65534 read the broker credentials');
    assert.match(other.stderr, /Permission denied/);
  });

  it('a client that has the credentials still cannot run an unsigned command: signature checks are on by default', async () => {
    const creds = JSON.parse(readFileSync(credsFile, 'utf8')) as { user: string; password: string };
    const nc = await connect({ servers: '127.0.0.1:4222', user: creds.user, pass: creds.password });
    try {
      const file = join(dir, 'pwned-default');
      const ack = JSON.parse(
        (await nc.request('central.CommandACK.CLICommand', unsignedCommand('central', file), { timeout: 30_000 })).string(),
      ) as {
        status: string;
        error?: string;
      };
      assert.equal(ack.status, 'rejected');
      assert.match(ack.error ?? '', /unsigned/);
      assert.equal(existsSync(file), false);
    } finally {
      await nc.close();
    }
  });

  it('a second node of the same user on the machine finds the credentials and joins the local broker', async () => {
    const ship = await startNode({
      name: 'ship1',
      folder: join(dir, 'ship1'),
      securityDefaults: true,
      env: { XDG_CONFIG_HOME: join(dir, 'config') },
    });
    assert.match(ship.log(), /user \\?"steward\\?" of the local broker/);
    await ship.stop();
  });
});

describe('a node without signature checks on an open broker says what that means', { timeout: 120_000 }, () => {
  let server: NatsServerHandle;

  before(async () => {
    server = await startNatsServer();
  });

  it('logs a WARN at start', async () => {
    const dir = await makeTempDir('steward-open-');
    const node = await startNode({ name: 'opennode', folder: join(dir, 'opennode'), brokerHostPort: server.hostPort });
    await waitFor(() => /WARN .*requires no authentication and signature checks are off/.test(node.log()), {
      timeoutMs: 30_000,
      message: () => `no WARN line; log:\n${node.log()}`,
    });
  });
});
