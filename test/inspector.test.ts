/**
 * The inspector page in a real browser: Debian's Chromium, headless, driven
 * by playwright-core (which never downloads a browser of its own). A node
 * (`central`, with `--inspect` and a token) sends a message to `ship1`,
 * which is not running yet; the page shows the node's tree, the message's
 * delivery actor retrying, then, once ship1 starts, `delivered`, with its
 * state machine drawn and its timeline. With STEWARD_UPDATE_SCREENSHOTS=1 the
 * screenshots go to `docs/inspector*.png`, where the manual shows them.
 *
 * Chromium is installed with apt-get when it is missing and this runs as
 * root; where that is impossible the test is skipped with a loud message.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';

import {
  cleanupHarness,
  freePort,
  makeTempDir,
  readLines,
  repoRoot,
  startNatsServer,
  startNode,
  tailLines,
  waitFor,
  type NatsServerHandle,
  type NodeHandle,
} from './helpers/index.js';

const chromiumPath = '/usr/bin/chromium';
const chromiumArgs = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
];
const token = 'inspector-test-token';
/** This test is about the page, not about signatures or ACLs: both off, explicitly (the defaults may change). */
const checksOff = ['--enableSignatureCheck', 'false', '--enableAclCheck', 'false'];

/** Installs Debian's chromium when missing and possible; the reason it is missing otherwise. */
function ensureChromium(): string | undefined {
  if (existsSync(chromiumPath)) return undefined;
  if (process.getuid?.() !== 0) return `${chromiumPath} is missing and this is not root: run "apt-get install -y chromium"`;
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  const install = () => spawnSync('apt-get', ['install', '-y', '-qq', 'chromium'], { env, encoding: 'utf8', timeout: 600_000 });
  let r = install();
  if (r.status !== 0) {
    spawnSync('apt-get', ['update', '-qq'], { env, timeout: 300_000 });
    r = install();
  }
  return existsSync(chromiumPath) ? undefined : `apt-get install chromium failed: ${(r.stderr || r.error?.message || '').slice(-500)}`;
}

/** The part of playwright-core this test uses. */
type Playwright = typeof import('playwright-core');

async function loadPlaywright(): Promise<Playwright | string> {
  try {
    return await import('playwright-core');
  } catch (err) {
    return `playwright-core is not installed (npm ci installs it): ${(err as Error).message}`;
  }
}

function skipLoudly(t: { skip: (msg: string) => void }, why: string): void {
  const line = '!'.repeat(78);
  console.error(`\n${line}\n!! inspector browser test SKIPPED: ${why}\n${line}\n`);
  t.skip(why);
}

// The committed screenshots in docs/ are refreshed only on request, so test runs leave the tree clean.
const shotDir =
  process.env.STEWARD_UPDATE_SCREENSHOTS === '1' ? join(repoRoot, 'docs') : join(tmpdir(), `steward-inspector-shots-${process.pid}`);

describe('inspector page in a real browser', () => {
  let nats: NatsServerHandle;
  let root: string;
  let central: NodeHandle;
  let url: string;

  before(async () => {
    nats = await startNatsServer();
    root = await makeTempDir('steward-inspector-');
    const port = await freePort();
    url = `http://127.0.0.1:${port}/`;
    central = await startNode({
      name: 'central',
      folder: join(root, 'central'),
      brokerHostPort: nats.hostPort,
      args: [...checksOff, '--centralErrorLogger', '--inspect', `127.0.0.1:${port}`, '--inspectToken', token],
    });
  });

  after(cleanupHarness);

  it('refuses requests without the token and serves the page and API with it', { timeout: 30_000 }, async () => {
    assert.equal((await fetch(`${url}api/view`)).status, 401);
    assert.equal((await fetch(url)).status, 401);
    const view = await fetch(`${url}api/view`, { headers: { authorization: `Bearer ${token}` } });
    assert.equal(view.status, 200);
    const body = (await view.json()) as { node: string; tree: { kind: string; children: { id: string }[] } };
    assert.equal(body.node, 'central');
    assert.equal(body.tree.kind, 'node');
    assert.deepEqual(
      ['inputs', 'publishers', 'subscribers'].filter((id) => body.tree.children.some((c) => c.id === id)),
      ['inputs', 'publishers', 'subscribers'],
    );
    const page = await fetch(`${url}?token=${token}`, { redirect: 'manual' });
    assert.equal(page.status, 303, 'the token is traded for a cookie');
    assert.match(page.headers.get('set-cookie') ?? '', /HttpOnly/);
    const post = await fetch(`${url}api/view`, { method: 'POST', headers: { authorization: `Bearer ${token}` } });
    assert.equal(post.status, 405, 'read-only');
  });

  it('shows the tree, a message actor retrying, then delivered, with its machine and timeline', { timeout: 240_000 }, async (t) => {
    const missing = ensureChromium();
    if (missing) return skipLoudly(t, missing);
    const pw = await loadPlaywright();
    if (typeof pw === 'string') return skipLoudly(t, pw);

    const browser = await pw.chromium.launch({ executablePath: chromiumPath, args: chromiumArgs, timeout: 60_000 });
    try {
      const page = await browser.newPage({ viewport: { width: 1440, height: 1000 } });
      const pageErrors: string[] = [];
      page.on('pageerror', (e) => pageErrors.push(e.message));
      page.on('console', (m) => {
        if (m.type() === 'error') pageErrors.push(m.text());
      });
      page.setDefaultTimeout(60_000);
      await page.goto(`${url}?token=${token}`);

      // The node's tree: the node, its supervisors and processes, all live.
      await page.locator('.row[data-kind="node"]', { hasText: 'central' }).waitFor();
      await page.locator('.row[data-path="root/publishers"][data-state="supervising"]').waitFor();
      await page.locator('.row[data-path="root/inputs/inmsgFile"][data-state="running"]').waitFor();
      assert.match((await page.locator('#broker').textContent()) ?? '', /NATS connected/);

      // A message to ship1, which is not running yet: its delivery actor retries. One to a node that
      // never comes expires, and shows up among the errors.
      await central.inmsg(
        JSON.stringify([
          { toNode: 'ship1', method: 'TextLogging', commandOrEvent: 'EventACK', data: ['hello\n'], timeout: 2, retries: 60 },
          { toNode: 'ghost', method: 'TextLogging', commandOrEvent: 'EventACK', data: ['lost\n'], timeout: 1, retries: 0 },
        ]) + '\n',
      );
      await page.locator('#failures tr', { hasText: 'delivery to ghost expired' }).waitFor();
      await page.locator('#recent tr', { hasText: 'ghost' }).locator('.badge', { hasText: 'expired' }).waitFor();
      const auditFile = join(central.folder, 'state', 'audit.log');
      const id = await waitFor(
        () =>
          readLines(auditFile)
            .map((l) => JSON.parse(l) as { event: string; message?: { id: string; toNode: string } })
            .find((e) => e.event === 'accepted' && e.message?.toNode === 'ship1')?.message?.id,
        { timeoutMs: 30_000, message: () => `central did not accept the message; central log:\n${tailLines(central.log(), 10)}` },
      );
      const row = page.locator(`.row[data-kind="message"][data-id="${id}"]`);
      await row.waitFor();
      // Named by the short id steward watch and jobs show, and status takes: the id's last 8 characters.
      assert.equal(await row.locator('.name').textContent(), `…${id.slice(-8)}`);
      await waitFor(async () => ['awaitingAck', 'retryWait', 'sending'].includes((await row.getAttribute('data-state')) ?? ''), {
        timeoutMs: 30_000,
        message: 'the message actor did not show a sending state',
      });
      await row.click();
      await page.locator(`#detail[data-selected="${id}"] svg.machine[data-machine="delivery"]`).waitFor();
      await page.locator('#detail g.state.current').waitFor();
      // It has been refused at least once by now: the timeline shows the retry.
      await page.locator('#detail tr[data-state="retryWait"]').first().waitFor();

      // ship1 comes up: the same actor reaches delivered.
      await startNode({ name: 'ship1', folder: join(root, 'ship1'), brokerHostPort: nats.hostPort, args: checksOff });
      await page.locator(`.row[data-kind="message"][data-id="${id}"][data-state="delivered"]`).waitFor({ timeout: 90_000 });
      await page.locator('#detail g.state.current[data-state="delivered"]').waitFor();
      await page.locator('#detail tr[data-state="delivered"]').waitFor();
      const rows = await page.locator('#detail table.timeline tr[data-state]').all();
      const timeline = await Promise.all(rows.map((r) => r.getAttribute('data-state')));
      for (const s of ['queued', 'sending', 'awaitingAck', 'retryWait', 'delivered'])
        assert.ok(timeline.includes(s), `timeline has ${s}: ${timeline.join(' ')}`);
      assert.equal(timeline.at(-1), 'delivered');
      assert.ok(Number(await page.locator('#stats .stat', { hasText: 'delivered' }).locator('b').textContent()) >= 1);
      assert.equal(Number(await page.locator('#stats .stat', { hasText: 'expired' }).locator('b').textContent()), 1);
      assert.deepEqual(pageErrors, [], 'no errors in the page');

      await mkdir(shotDir, { recursive: true });
      await page.screenshot({ path: join(shotDir, 'inspector.png'), fullPage: true });

      // A supervisor: its machine, its children and the messages below it, counted.
      await page.locator('.row[data-path="root/publishers"]').click();
      await page
        .locator(
          '#detail[data-selected="root/publishers"] svg.machine[data-machine="supervisor"] g.state.current[data-state="supervising"]',
        )
        .waitFor();
      assert.match((await page.locator('#detail dl.kv').textContent()) ?? '', /1 expired/);
      await page.screenshot({ path: join(shotDir, 'inspector-supervisor.png') });
    } finally {
      await browser.close();
    }
  });

  it('shows a process that keeps failing: its restarts, their reasons and the errors', { timeout: 120_000 }, async (t) => {
    const missing = ensureChromium();
    if (missing) return skipLoudly(t, missing);
    const pw = await loadPlaywright();
    if (typeof pw === 'string') return skipLoudly(t, pw);
    // A directory where inmsg.txt should be: the watcher fails at each start and is restarted with backoff.
    const folder = join(root, 'badnode');
    await mkdir(join(folder, 'inmsg.txt'), { recursive: true });
    const port = await freePort();
    await startNode({
      name: 'badnode',
      folder,
      brokerHostPort: nats.hostPort,
      args: [...checksOff, '--inspect', `127.0.0.1:${port}`, '--restartIntensity', '100'],
    });
    // No --inspectToken: the node generated one, readable by its own user only.
    const generated = readFileSync(join(folder, 'state', 'inspect.token'), 'utf8').trim();
    const browser = await pw.chromium.launch({ executablePath: chromiumPath, args: chromiumArgs, timeout: 60_000 });
    try {
      const page = await browser.newPage({ viewport: { width: 1440, height: 1000 } });
      page.setDefaultTimeout(60_000);
      await page.goto(`http://127.0.0.1:${port}/?token=${generated}`);
      const row = page.locator('.row[data-path="root/inputs/inmsgFile"]');
      await row.waitFor();
      await waitFor(async () => Number(/↻ (\d+)/.exec((await row.textContent()) ?? '')?.[1] ?? 0) >= 4, {
        timeoutMs: 60_000,
        message: 'the inmsgFile process did not show 4 restarts',
      });
      await row.click();
      await page.locator('#detail[data-selected="root/inputs/inmsgFile"] tr', { hasText: 'is not a regular file' }).first().waitFor();
      await page.locator('#supervision tr', { hasText: 'inputs/inmsgFile' }).first().waitFor();
      await page.locator('#failures tr', { hasText: 'actorCrashed' }).first().waitFor();
      assert.ok(Number(await page.locator('#stats .stat', { hasText: 'restarts' }).locator('b').textContent()) >= 4);
      await page.screenshot({ path: join(shotDir, 'inspector-restarts.png') });
    } finally {
      await browser.close();
    }
  });
});
