/**
 * Attack: a flood of forged messages amplified into ErrorLogs (issue 12,
 * hole 9). Each refused message used to become one ErrorLog to central:
 * 3,000 forged messages became 3,000 reports in both journals and in
 * central's error log. A rogue raw NATS client floods a ship in secure mode;
 * the ship must count every refusal at once but report them in aggregate:
 * the first at once, the rest as one summary with the count.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createPrivateKey, generateKeyPairSync, randomUUID, sign } from 'node:crypto';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';

import { connect, type NatsConnection } from '@nats-io/transport-node';

import {
  cleanupHarness,
  freePort,
  makeTempDir,
  queryJournal,
  readFileOr,
  startNatsServer,
  startNode,
  stewardBin,
  waitFor,
  type NatsServerHandle,
  type NodeHandle,
} from './helpers/index.js';

after(cleanupHarness);

const FLOOD = 3000;
/** Refusal window of the error kernel (10 s), plus slack for a slow machine. */
const SUMMARY_DEADLINE_MS = 90_000;

/** Canonical JSON as the nodes sign it (sorted keys, no spaces), as an attacker would write it. */
function canonical(v: unknown): string {
  if (v === null || typeof v !== 'object') return JSON.stringify(v);
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  const o = v as Record<string, unknown>;
  return `{${Object.keys(o)
    .filter((k) => o[k] !== undefined)
    .sort()
    .map((k) => `${JSON.stringify(k)}:${canonical(o[k])}`)
    .join(',')}}`;
}

/** The first lines of `lines`, for a failure message that stays readable when there are thousands. */
const head = (lines: string[]) => lines.slice(0, 12).join('\n') + (lines.length > 12 ? `\n… ${lines.length - 12} more` : '');

/** The sum of the counts in "refused N more messages" summaries, and the number of reports of their own, among `lines`. */
function reported(lines: string[]): { total: number; summaries: number; single: number } {
  let total = 0;
  let summaries = 0;
  for (const l of lines) {
    const m = /refused ([\d,]+) more (?:\w+ )?messages/.exec(l);
    if (m) {
      summaries++;
      total += Number(m[1]!.replace(/,/g, ''));
    } else total++;
  }
  return { total, summaries, single: lines.length - summaries };
}

describe('attack: a flood of forged messages is not amplified (hole 9)', { timeout: 400_000 }, () => {
  const tag = randomUUID().slice(0, 6);
  const centralName = `flc${tag}`;
  const shipName = `fls${tag}`;
  const subject = `${shipName}.CommandACK.CLICommand`;
  let server: NatsServerHandle;
  let central: NodeHandle;
  let ship: NodeHandle;
  let nc: NatsConnection;
  let metricsUrl: string;
  const common = [
    '--centralNodeName',
    centralName,
    '--enableSignatureCheck',
    '--sayHelloInterval',
    '1',
    '--keysPushInterval',
    '1',
    '--socketPath',
    'off',
  ];
  const { privateKey } = generateKeyPairSync('ed25519');
  const rogueKey = createPrivateKey(privateKey.export({ format: 'pem', type: 'pkcs8' }));

  const keys = (...args: string[]) =>
    execFileSync(process.execPath, [stewardBin, 'keys', ...args, '--nodeFolder', central.folder], { encoding: 'utf8' });

  /**
   * Approves the ship's key at central as an operator would: with the key
   * checked on the ship (`keys show`) when `keys allow` takes one, else the
   * pending key (older syntax).
   */
  const approveShip = () => {
    const key = execFileSync(process.execPath, [stewardBin, 'keys', 'show', '--nodeFolder', ship.folder], { encoding: 'utf8' }).trim();
    try {
      return keys('allow', shipName, key);
    } catch {
      return keys('allow', shipName);
    }
  };

  /** Lines of central's error log about this ship's refusals with reason `code`. */
  const centralReports = (code: string) =>
    readFileOr(join(central.folder, 'data', 'errorLog.log'))
      .split('\n')
      .filter((l) => l.includes(` ${shipName}: `) && l.includes(code));

  const refusedCount = async () => {
    const text = await (await fetch(metricsUrl)).text();
    const m = /^steward_failures_total\{[^}]*kind="rejected"[^}]*\} (\d+)/m.exec(text);
    return m ? Number(m[1]) : 0;
  };

  /** A CommandACK CLICommand to the ship, signed with a key nobody approved. */
  const forged = (fromNode: string) => {
    const m: Record<string, unknown> = {
      id: randomUUID(),
      fromNode,
      toNode: shipName,
      method: 'CLICommand',
      commandOrEvent: 'CommandACK',
      data: ['bash', '-c', 'id'],
      createdAt: Date.now(),
      timeout: 10,
      retries: 0,
      methodTimeout: 10,
      expiresAt: Date.now() + 600_000,
    };
    return JSON.stringify({ ...m, signature: sign(null, Buffer.from(canonical(m)), rogueKey).toString('base64') });
  };

  before(async () => {
    server = await startNatsServer();
    const dir = await makeTempDir('steward-attackflood-');
    central = await startNode({
      name: centralName,
      folder: join(dir, centralName),
      brokerHostPort: server.hostPort,
      args: [...common, '--enableAclCheck', 'false', '--centralErrorLogger'],
    });
    const port = await freePort();
    metricsUrl = `http://127.0.0.1:${port}/metrics`;
    ship = await startNode({
      name: shipName,
      folder: join(dir, shipName),
      brokerHostPort: server.hostPort,
      args: [...common, '--enableAclCheck', '--promHostAndPort', `127.0.0.1:${port}`],
    });
    await waitFor(() => keys('list').includes(shipName), { timeoutMs: 60_000, message: 'ship key pending at central' });
    assert.match(approveShip(), /allowed/);
    // The ship trusts central's key and its own once it adopted a set naming both.
    await waitFor(
      () =>
        ship
          .log()
          .split('\n')
          .some((l) => l.includes('adopted key set version') && l.includes(shipName)),
      { timeoutMs: 60_000, message: 'ship adopts the set with its own key' },
    );
    nc = await connect({ servers: server.url });
  });

  after(async () => {
    await nc?.close();
  });

  it(`${FLOOD} forged messages in central's name become a handful of ErrorLogs carrying the count`, async () => {
    const before = await refusedCount();
    for (let i = 0; i < FLOOD; i++) nc.publish(subject, forged(centralName));
    await nc.flush();
    // Every refusal is counted at once.
    let counted = before;
    await waitFor(async () => (counted = await refusedCount()) >= before + FLOOD, {
      timeoutMs: 120_000,
      message: () => `the ship counted ${counted - before} of ${FLOOD} refusals`,
    });
    // The summary comes when the window ends; central has then heard of every one of them.
    await waitFor(() => reported(centralReports('badSignature')).total >= FLOOD, {
      timeoutMs: SUMMARY_DEADLINE_MS,
      message: () => `central's error log accounts for all ${FLOOD} refusals:\n${head(centralReports('badSignature'))}`,
    });
    const lines = centralReports('badSignature');
    const r = reported(lines);
    assert.equal(r.total, FLOOD, `the counts add up:\n${head(lines)}`);
    assert.ok(lines.length <= 5, `at most a handful of ErrorLogs, got ${lines.length}:\n${head(lines)}`);
    assert.ok(r.summaries >= 1);
    assert.match(
      lines.join('\n'),
      new RegExp(`refused [\\d,]+ more CLICommand messages from ${centralName} \\(code badSignature\\) in the last \\d+ s; first: `),
    );

    // Its metrics say so too: every refusal counted, a handful of ErrorLogs queued.
    const metrics = await (await fetch(metricsUrl)).text();
    const sent = /^steward_error_messages_sent_total\{[^}]*kind="rejected"[^}]*\} (\d+)/m.exec(metrics);
    assert.ok(sent && Number(sent[1]) <= 5, `steward_error_messages_sent_total{kind="rejected"}: ${sent?.[1]}`);
    // The ship's journal holds a handful of ErrorLogs, not thousands.
    const outbox = queryJournal<{ n: number }>(
      ship,
      'SELECT count(*) AS n FROM outbox WHERE subject = ?',
      `${centralName}.EventACK.ErrorLog`,
    );
    assert.ok(outbox[0]!.n <= 5, `ship outbox ErrorLogs: ${outbox[0]!.n}`);
    // And its own log one line per report, not one per message.
    const logLines = ship
      .log()
      .split('\n')
      .filter((l) => l.includes(`from ${centralName}`) && l.includes('badSignature'));
    assert.ok(logLines.length <= 5, `ship log lines about the flood: ${logLines.length}`);
  });

  it(`${FLOOD} forged messages under ${FLOOD} invented sender names share one summary`, async () => {
    const before = await refusedCount();
    for (let i = 0; i < FLOOD; i++) nc.publish(subject, forged(`inv${tag}x${i}`));
    await nc.flush();
    let counted = before;
    await waitFor(async () => (counted = await refusedCount()) >= before + FLOOD, {
      timeoutMs: 120_000,
      message: () => `the ship counted ${counted - before} of ${FLOOD} refusals`,
    });
    await waitFor(() => reported(centralReports('untrusted')).total >= FLOOD, {
      timeoutMs: SUMMARY_DEADLINE_MS,
      message: () => `central's error log accounts for all ${FLOOD} refusals:\n${head(centralReports('untrusted'))}`,
    });
    const lines = centralReports('untrusted');
    assert.equal(reported(lines).total, FLOOD);
    // At most one report of its own per sender slot (10), one for the overflow, and its summary.
    assert.ok(lines.length <= 15, `ErrorLogs: ${lines.length}:\n${head(lines)}`);
    assert.match(lines.join('\n'), /refused [\d,]+ more messages from [\d,]+ other senders \(codes untrusted\)/);
    const outbox = queryJournal<{ n: number }>(
      ship,
      'SELECT count(*) AS n FROM outbox WHERE subject = ?',
      `${centralName}.EventACK.ErrorLog`,
    );
    assert.ok(outbox[0]!.n <= 25, `ship outbox ErrorLogs: ${outbox[0]!.n}`);
  });
});
