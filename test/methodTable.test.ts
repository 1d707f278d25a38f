/**
 * Behaviour decided by the method table's rows, not by method names (issue 13
 * item 2), checked on real nodes with signature and ACL checks on: the
 * mature steward's error report and hello (REQErrorLog, REQHello) get the
 * same built-in ACL allowance to central as ErrorLog and SayHello, and
 * central counts a REQErrorLog in `steward_error_messages_received_total`
 * like an ErrorLog. A TextLogging from the ship is refused by the same ACL:
 * the allowance is the rows', not a hole.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import Database from 'better-sqlite3';

import {
  cleanupHarness,
  freePort,
  makeTempDir,
  readFileOr,
  startNatsServer,
  startNode,
  stewardBin,
  tailLines,
  waitFor,
  type NatsServerHandle,
  type NodeHandle,
} from './helpers/index.js';

after(cleanupHarness);

/** The sum of the series of `name` with label `fromNode` on a `/metrics` page. */
async function errorMessagesReceived(url: string, fromNode: string): Promise<number> {
  const text = await (await fetch(url)).text();
  let total = 0;
  for (const line of text.split('\n'))
    if (line.startsWith('steward_error_messages_received_total{') && line.includes(`fromNode="${fromNode}"`))
      total += Number(line.split(' ').at(-1));
  return total;
}

describe('method table: row properties decide, both generations alike', { timeout: 240_000 }, () => {
  const tag = randomUUID().slice(0, 6);
  const centralName = `mtc${tag}`;
  const shipName = `mts${tag}`;
  let server: NatsServerHandle;
  let central: NodeHandle;
  let ship: NodeHandle;
  let metricsUrl: string;
  const secure = ['--centralNodeName', centralName, '--enableSignatureCheck', '--enableAclCheck', '--keysPushInterval', '1'];
  const errorLog = () => readFileOr(central.dataFile('errorLog.log'));
  const keys = (...args: string[]) =>
    execFileSync(process.execPath, [stewardBin, 'keys', ...args, '--nodeFolder', central.folder], { encoding: 'utf8' });

  before(async () => {
    server = await startNatsServer();
    const dir = await makeTempDir('steward-methodtable-');
    const port = await freePort();
    metricsUrl = `http://127.0.0.1:${port}/metrics`;
    // No ACL is set: the default policy lets central call everything and the ships only the built-in allowances.
    central = await startNode({
      name: centralName,
      folder: join(dir, centralName),
      brokerHostPort: server.hostPort,
      args: [...secure, '--centralErrorLogger', '--sayHelloInterval', '1', '--promHostAndPort', `127.0.0.1:${port}`],
    });
    // One SayHello, at start (it offers the key): later ones would overwrite what the REQHello records.
    ship = await startNode({
      name: shipName,
      folder: join(dir, shipName),
      brokerHostPort: server.hostPort,
      args: [...secure, '--sayHelloInterval', '3600'],
    });
    let fingerprint: string | undefined;
    await waitFor(() => (fingerprint = new RegExp(`^${shipName}\\s+pending\\s+(SHA256:[0-9a-f]+)`, 'm').exec(keys('list'))?.[1]), {
      timeoutMs: 60_000,
      message: () => `the ship's key is not pending at central:\n${keys('list')}`,
    });
    assert.match(keys('allow', shipName, fingerprint!), /allowed/);
    // The ship trusts central's ACKs once it adopted a key set that holds its own approved key.
    const adopted = () =>
      ship
        .log()
        .split('\n')
        .filter((l) => l.includes('adopted key set version'))
        .at(-1)
        ?.split('trusted=')[1] ?? '';
    await waitFor(() => adopted().includes(shipName), {
      timeoutMs: 60_000,
      message: () => `the ship adopts the key set:\n${tailLines(ship.log(), 20)}`,
    });
  });

  it('REQErrorLog from a ship reaches the error logger without an ACL rule, and is counted as an error message received', async () => {
    const before = await errorMessagesReceived(metricsUrl, shipName);
    const text = `${tag} mature error report`;
    await ship.inmsg(JSON.stringify([{ toNode: centralName, method: 'REQErrorLog', methodArgs: [text] }]) + '\n');
    await waitFor(() => errorLog().includes(`${shipName}: ${text}`), {
      timeoutMs: 60_000,
      message: () =>
        `REQErrorLog not written; central log:\n${tailLines(central.log(), 20)}\nship log:\n${tailLines(ship.log(), 20)}\nerrorLog:\n${errorLog()}`,
    });
    await waitFor(async () => (await errorMessagesReceived(metricsUrl, shipName)) > before, {
      timeoutMs: 30_000,
      message: 'steward_error_messages_received_total did not count the REQErrorLog',
    });
  });

  it('REQHello from a ship is recorded at central without an ACL rule', async () => {
    const text = `${tag} mature hello`;
    await ship.inmsg(JSON.stringify([{ toNode: centralName, method: 'REQHello', methodArgs: [text] }]) + '\n');
    const db = new Database(join(central.folder, 'state', 'journal.db'), { readonly: true });
    try {
      await waitFor(
        () => (db.prepare('SELECT info FROM nodes WHERE name = ?').get(shipName) as { info?: string } | undefined)?.info === text,
        { timeoutMs: 60_000, message: () => `REQHello not recorded; central log:\n${tailLines(central.log(), 20)}` },
      );
    } finally {
      db.close();
    }
    assert.doesNotMatch(central.log(), new RegExp(`refused REQHello from ${shipName}`));
  });

  it('a TextLogging from the ship is still refused by the ACL at central', async () => {
    const text = `${tag} not allowed`;
    await ship.inmsg(JSON.stringify([{ toNode: centralName, method: 'TextLogging', data: [text] }]) + '\n');
    await waitFor(() => new RegExp(`refused TextLogging from ${shipName} .*acl`).test(central.log()), {
      timeoutMs: 60_000,
      message: () => `no ACL refusal at central; central log:\n${tailLines(central.log(), 20)}`,
    });
    assert.ok(!readFileOr(central.dataFile(shipName, `${centralName}.EventACK.TextLogging.log`)).includes(text));
  });
});
