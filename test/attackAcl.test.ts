/**
 * Attack on ACL command patterns (issue 12, hole 7), against real nodes:
 * central and a ship with signature and ACL checks on, keys approved, and
 * one rule letting central run `cat <logs>/*` on the ship. Before the fix
 * the glob matched the joined command line, so `cat <logs>/../<ship>/state/keys/node.key`
 * and `cat <logs>/x.log <that key>` both printed the ship's private key to
 * central. Now `*` stays inside one argument and one path component, no
 * wildcard matches a `..` component, and both are refused with a `rejected`
 * ACK; `cat <logs>/x.log` still runs.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';

import {
  folderSocketEnv,
  cleanupHarness,
  makeTempDir,
  startNatsServer,
  startNode,
  stewardBin,
  waitFor,
  type NatsServerHandle,
  type NodeHandle,
} from './helpers/index.js';

after(cleanupHarness);

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `steward <args>` in `cwd` (async: `steward send` waits for the node). */
function steward(args: string[], cwd: string, timeoutMs = 120_000): Promise<Run> {
  const env: NodeJS.ProcessEnv = { ...process.env, ...folderSocketEnv };
  delete env['NODE_TEST_CONTEXT'];
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [stewardBin, ...args], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

const show = (r: Run) => `exit ${r.code}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`;

/** Every file under `dir`, with its text. */
function allFiles(dir: string): { path: string; text: string }[] {
  const out: { path: string; text: string }[] = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    const st = statSync(p, { throwIfNoEntry: false });
    if (st?.isDirectory()) out.push(...allFiles(p));
    else if (st?.isFile()) out.push({ path: p, text: readFileSync(p).toString('latin1') });
  }
  return out;
}

describe('attack on ACL globs: a pattern for one folder reads a file outside it', { timeout: 300_000 }, () => {
  const tag = randomUUID().slice(0, 6);
  const centralName = `ac${tag}`;
  const shipName = `as${tag}`;
  let server: NatsServerHandle;
  let central: NodeHandle;
  let ship: NodeHandle;
  let logs: string;
  /** The ship's private key: the secret the attacks try to read. */
  let keyFile: string;
  /** A line of the key's base64 body: it must never reach central. */
  let secretLine: string;
  const common = [
    '--centralNodeName',
    centralName,
    '--enableSignatureCheck',
    '--enableAclCheck',
    '--sayHelloInterval',
    '1',
    '--keysPushInterval',
    '1',
  ];

  const keys = (...args: string[]) => {
    const r = spawnSync(process.execPath, [stewardBin, 'keys', ...args, '--nodeFolder', central.folder], { encoding: 'utf8' });
    return { code: r.status, stdout: r.stdout, stderr: r.stderr };
  };
  const adopted = (n: NodeHandle) => {
    const lines = n
      .log()
      .split('\n')
      .filter((l) => l.includes('adopted key set version'));
    return lines.length ? (lines[lines.length - 1]!.split('trusted=')[1] ?? '') : '';
  };
  /** `steward send` from central's folder: the operator's way to run a command on the ship and get its ACK. */
  const send = (...argv: string[]) => steward(['send', '--toNode', shipName, '--method', 'CLICommand', '--', ...argv], central.folder);
  /** Asserts the secret is nowhere central could show it: the send's output, central's files, its log. */
  const assertSecretNotAtCentral = (r?: Run) => {
    if (r) assert.ok(!r.stdout.includes(secretLine) && !r.stderr.includes(secretLine), `the key reached the operator:\n${show(r)}`);
    for (const f of allFiles(central.folder)) assert.ok(!f.text.includes(secretLine), `the ship's private key is in ${f.path}`);
  };

  before(async () => {
    server = await startNatsServer();
    const dir = await makeTempDir('steward-attack-acl-');
    logs = join(dir, 'logs');
    await mkdir(logs);
    writeFileSync(join(logs, 'x.log'), `log line ${tag}\n`);
    await mkdir(join(dir, centralName, 'state'), { recursive: true });
    writeFileSync(
      join(dir, 'acl.json'),
      JSON.stringify({ rules: [{ to: shipName, from: centralName, method: 'CLICommand', commands: [`cat ${logs}/*`] }] }),
    );
    const acl = await steward(['acl', 'set', join(dir, 'acl.json'), '--nodeFolder', join(dir, centralName)], dir);
    assert.equal(acl.code, 0, show(acl));
    central = await startNode({
      name: centralName,
      folder: join(dir, centralName),
      brokerHostPort: server.hostPort,
      args: [...common, '--centralErrorLogger'],
      env: folderSocketEnv,
    });
    ship = await startNode({
      name: shipName,
      folder: join(dir, shipName),
      brokerHostPort: server.hostPort,
      args: common,
      env: folderSocketEnv,
    });
    keyFile = join(ship.folder, 'state', 'keys', 'node.key');
    secretLine = readFileSync(keyFile, 'utf8').split('\n')[1]!;
    assert.ok(secretLine.length > 20, 'the key file has a base64 body line');
    // The operator approves the ship's key by the fingerprint `keys list` shows.
    let fingerprint: string | undefined;
    await waitFor(() => (fingerprint = new RegExp(`^${shipName}\\s+pending\\s+(SHA256:[0-9a-f]+)`, 'm').exec(keys('list').stdout)?.[1]), {
      timeoutMs: 60_000,
      message: 'ship key pending at central',
    });
    const allow = keys('allow', shipName, fingerprint!);
    assert.equal(allow.code, 0, `${allow.stdout}${allow.stderr}`);
    await waitFor(() => adopted(ship).split(',').includes(shipName) && adopted(ship).split(',').includes(centralName), {
      timeoutMs: 60_000,
      message: 'ship adopts the set with both keys',
    });
  });

  it('control: cat <logs>/x.log is allowed and its output comes back', async () => {
    const r = await send('cat', join(logs, 'x.log'));
    assert.equal(r.code, 0, show(r));
    assert.match(r.stdout, new RegExp(`log line ${tag}`), show(r));
  });

  it('cat <logs>/../<ship>/state/keys/node.key is rejected: * never matches a .. component', async () => {
    const path = `${logs}/../${shipName}/state/keys/node.key`;
    assert.equal(readFileSync(path, 'utf8').split('\n')[1], secretLine, 'the path does lead to the key');
    const r = await send('cat', path);
    assert.notEqual(r.code, 0, show(r));
    // The ACK is the positive sign that the ship processed and refused it: its reason names the command.
    assert.match(`${r.stdout}${r.stderr}`, /rejected/, show(r));
    assert.ok(`${r.stdout}${r.stderr}`.includes(`but not the command "cat ${path}"`), show(r));
    assertSecretNotAtCentral(r);
  });

  it('cat <logs>/x.log <the key> is rejected: * never spans a second argument', async () => {
    const r = await send('cat', join(logs, 'x.log'), keyFile);
    assert.notEqual(r.code, 0, show(r));
    assert.match(`${r.stdout}${r.stderr}`, /rejected/, show(r));
    assert.ok(`${r.stdout}${r.stderr}`.includes(`but not the command "cat ${join(logs, 'x.log')} ${keyFile}"`), show(r));
    assertSecretNotAtCentral(r);
  });

  it('cat <logs>/sub/../../<the key> is rejected too (a wildcard never crosses /)', async () => {
    const r = await send('cat', `${logs}/x/../../${shipName}/state/keys/node.key`);
    assert.notEqual(r.code, 0, show(r));
    assert.match(`${r.stdout}${r.stderr}`, /rejected/, show(r));
    assertSecretNotAtCentral(r);
  });
});
