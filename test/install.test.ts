/**
 * Getting steward onto a machine: the npm package of `npm run pack` installed
 * into an empty prefix outside the repository, the offline bundle of
 * `npm run bundle` installed with no registry (in a network namespace without
 * network where the machine allows one), and the systemd unit of
 * `steward service install`.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  chmodSync,
  existsSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  realpathSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { userInfo } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';

import { cleanupHarness, makeTempDir, repoRoot, startNatsServer, stewardBin, waitFor } from './helpers/index.js';

after(cleanupHarness);

const version = (JSON.parse(readFileSync(join(repoRoot, 'packages', 'cli', 'package.json'), 'utf8')) as { version: string }).version;

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** The environment of every child: no STEWARD_* of the developer's session, sockets in node folders. */
function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, XDG_RUNTIME_DIR: '', npm_config_update_notifier: 'false', npm_config_fund: 'false' };
  for (const k of Object.keys(env)) if (k.startsWith('STEWARD_') || k === 'NODE_TEST_CONTEXT') delete env[k];
  return { ...env, ...extra };
}

/** Runs a program to its end and collects what it prints; killed after `timeoutMs`. */
function run(cmd: string, args: string[], opts: { cwd: string; env?: NodeJS.ProcessEnv; timeoutMs?: number }): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd: opts.cwd, env: opts.env ?? cleanEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 60_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

const show = (r: Run) => `exit ${r.code}\n--- stdout\n${r.stdout}\n--- stderr\n${r.stderr}`;
const lastLine = (s: string) => s.trim().split('\n').at(-1)!.trim();

/**
 * A local prebuild of better-sqlite3 made from the repository's own build (the
 * one `npm ci` compiled for this Node.js), in the form prebuild-install looks
 * for: the installed package takes it instead of compiling SQLite for two
 * minutes. node-pty has no such hook and is compiled (a few seconds).
 */
async function localPrebuilds(): Promise<Record<string, string>> {
  const mod = join(repoRoot, 'node_modules', 'better-sqlite3');
  const built = join(mod, 'build', 'Release', 'better_sqlite3.node');
  if (!existsSync(built)) return {};
  const dir = await makeTempDir('steward-prebuilds-');
  const stage = join(dir, 'stage');
  mkdirSync(join(stage, 'build', 'Release'), { recursive: true });
  writeFileSync(join(stage, 'build', 'Release', 'better_sqlite3.node'), readFileSync(built));
  const v = (JSON.parse(readFileSync(join(mod, 'package.json'), 'utf8')) as { version: string }).version;
  const name = `better-sqlite3-v${v}-node-v${process.versions.modules}-${process.platform}-${process.arch}.tar.gz`;
  const r = spawnSync('tar', ['-czf', join(dir, name), '-C', stage, 'build']);
  assert.equal(r.status, 0, 'tar of the local prebuild failed');
  return { npm_config_better_sqlite3_local_prebuilds: dir };
}

/** Whether this machine lets us run a command in a new network namespace (root, or unprivileged user namespaces). */
function canUnshareNetwork(): boolean {
  // The demo needs the loopback interface, which a new namespace has down.
  return spawnSync('unshare', ['-n', 'sh', '-c', 'ip link set lo up'], { stdio: 'ignore' }).status === 0;
}

/** Files and folders under `dir` that group or others may write. */
function writableByOthers(dir: string): string[] {
  const found: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    const st = lstatSync(p);
    if (!st.isSymbolicLink() && (st.mode & 0o022) !== 0) found.push(p);
    if (e.isDirectory()) found.push(...writableByOthers(p));
  }
  return found;
}

/** Starts `bin start ...` and resolves when the node logs that it is ready. */
async function startInstalledNode(bin: string, name: string, folder: string, broker: string): Promise<ChildProcess> {
  const args = ['start', '--node', name, '--nodeFolder', folder, '--brokerAddress', broker, '--enableSignatureCheck', 'false'];
  args.push('--enableAclCheck', 'false', '--promHostAndPort', 'off', '--sayHelloInterval', '0');
  const child = spawn(bin, args, { cwd: folder, env: cleanEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (log += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (log += d));
  await waitFor(() => log.includes(`node ${name} ready`) || child.exitCode !== null, {
    timeoutMs: 60_000,
    message: `installed node ${name} not ready:\n${log}`,
  });
  assert.equal(child.exitCode, null, `installed node ${name} exited:\n${log}`);
  return child;
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  await Promise.race([exited, new Promise((r) => setTimeout(r, 15_000))]);
  if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
}

describe('npm run pack', () => {
  it('builds one package that installs into an empty prefix outside the repository and runs start, send and demo', async () => {
    const out = await makeTempDir('steward-pack-');
    const packed = await run(process.execPath, [join(repoRoot, 'scripts', 'pack.mjs'), '--no-build', '--out', out], { cwd: repoRoot });
    assert.equal(packed.code, 0, show(packed));
    const tarball = lastLine(packed.stdout);
    assert.equal(tarball, join(out, `steward-${version}.tgz`), show(packed));
    assert.match(packed.stdout, /\d+(\.\d)? (kB|MB) packed/, 'the size is reported');

    const listing = spawnSync('tar', ['-tzf', tarball], { encoding: 'utf8' }).stdout.split('\n');
    for (const f of [
      'bin/steward.js',
      'dist/main.js',
      'node_modules/@steward/core/dist/index.js',
      'node_modules/@steward/node/dist/client.js',
    ])
      assert.ok(listing.includes(`package/${f}`), `${f} is in the package`);
    for (const f of ['node_modules/@steward/node/assets/inspector/index.html', 'README.md', 'LICENSE', 'npm-shrinkwrap.json'])
      assert.ok(listing.includes(`package/${f}`), `${f} is in the package`);
    assert.deepEqual(
      listing.filter((f) => f.endsWith('.map') || f.includes('/src/') || f.includes('/test/')),
      [],
      'no sources or maps',
    );
    const manifest = JSON.parse(spawnSync('tar', ['-xzOf', tarball, 'package/package.json'], { encoding: 'utf8' }).stdout) as Record<
      string,
      unknown
    >;
    assert.equal(manifest.name, 'steward');
    assert.deepEqual(manifest.bin, { steward: 'bin/steward.js' });
    assert.equal(manifest.license, 'MIT');
    assert.deepEqual(manifest.engines, { node: '>=20.19' });
    assert.deepEqual(manifest.bundleDependencies, ['@steward/core', '@steward/node']);
    assert.ok((manifest.dependencies as Record<string, string>)['better-sqlite3'], 'native modules stay ordinary dependencies');

    const prefix = await makeTempDir('steward-prefix-');
    const elsewhere = await makeTempDir('steward-elsewhere-');
    const installed = await run('npm', ['install', '-g', '--prefix', prefix, '--no-audit', '--no-fund', tarball], {
      cwd: elsewhere,
      // A lookup of an @steward/* name would fail here instead of installing a stranger's package.
      env: cleanEnv({ 'npm_config_@steward:registry': 'http://127.0.0.1:9/', ...(await localPrebuilds()) }),
      timeoutMs: 200_000,
    });
    assert.equal(installed.code, 0, show(installed));
    const bin = join(prefix, 'bin', 'steward');
    assert.ok(realpathSync(bin).startsWith(realpathSync(prefix)), 'the installed steward runs from the prefix, not from the repository');

    const v = await run(bin, ['--version'], { cwd: elsewhere });
    assert.equal(v.code, 0, show(v));
    assert.equal(v.stdout.trim(), version);
    const help = await run(bin, ['--help'], { cwd: elsewhere });
    assert.equal(help.code, 0, show(help));
    for (const c of ['start', 'send', 'demo', 'service']) assert.match(help.stdout, new RegExp(`steward ${c}`), show(help));

    // start and send of the installed package, against a broker of this test.
    const broker = await startNatsServer();
    const name = `inst${randomBytes(3).toString('hex')}`;
    const folder = await makeTempDir('steward-installed-node-');
    const node = await startInstalledNode(bin, name, folder, broker.hostPort);
    try {
      const sent = await run(
        bin,
        ['send', '--toNode', name, '--method', 'CLICommand', '--', 'echo', 'sent-through-the-installed-steward'],
        {
          cwd: folder,
        },
      );
      assert.equal(sent.code, 0, show(sent));
      assert.match(sent.stdout, /sent-through-the-installed-steward/, show(sent));
    } finally {
      await stop(node);
    }

    // README's quickstart, from an empty folder.
    const empty = await makeTempDir('steward-demo-cwd-');
    const demo = await run(bin, ['demo'], { cwd: empty, timeoutMs: 120_000 });
    assert.equal(demo.code, 0, show(demo));
    assert.match(demo.stdout, /CLICommand output from ship1/, show(demo));
    assert.match(demo.stdout, /the demo worked: both messages were delivered, ACKed and journaled/, show(demo));
  });
});

describe('npm run bundle', () => {
  it('writes an offline bundle that installs and runs with no registry and no network', async () => {
    const out = await makeTempDir('steward-bundle-out-');
    const built = await run(process.execPath, [join(repoRoot, 'scripts', 'bundle.mjs'), '--no-build', '--out', out], {
      cwd: repoRoot,
      timeoutMs: 200_000,
    });
    assert.equal(built.code, 0, show(built));
    const file = lastLine(built.stdout);
    assert.equal(file, join(out, `steward-${version}-linux-${process.arch}.tar.gz`), show(built));

    const unpacked = await makeTempDir('steward-bundle-unpacked-');
    assert.equal(spawnSync('tar', ['-xzf', file, '-C', unpacked]).status, 0);
    const top = join(unpacked, `steward-${version}-linux-${process.arch}`);
    for (const f of [
      'install.sh',
      'bin/steward',
      'bundle.json',
      'lib/steward/node_modules/better-sqlite3/build/Release/better_sqlite3.node',
    ])
      assert.ok(existsSync(join(top, f)), `${f} is in the bundle`);

    // Without a registry (and, where the machine allows it, without any network: a new network namespace).
    const offline = cleanEnv({ npm_config_registry: 'http://127.0.0.1:9/', npm_config_offline: 'true' });
    const netns = canUnshareNetwork();
    if (!netns)
      console.error(
        'install.test: no network namespace here (unshare -n refused); the bundle is installed with npm pointed at an unreachable registry only',
      );
    const offlineRun = (cmd: string, args: string[], cwd: string, timeoutMs = 60_000) =>
      netns
        ? run('unshare', ['-n', 'sh', '-c', 'ip link set lo up && exec "$0" "$@"', cmd, ...args], {
            cwd,
            env: offline,
            timeoutMs,
          })
        : run(cmd, args, { cwd, env: offline, timeoutMs });

    const prefix = await makeTempDir('steward-bundle-prefix-');
    // An operator with umask 000, and a bundle unpacked with a file anyone may write: the installed code must still be the installer's alone.
    chmodSync(join(top, 'lib', 'steward', 'dist', 'main.js'), 0o666);
    const inst = await offlineRun('/bin/sh', ['-c', 'umask 000; exec "$0" "$@"', join(top, 'install.sh'), '--prefix', prefix], unpacked);
    assert.equal(inst.code, 0, show(inst));
    assert.match(inst.stdout, new RegExp(`steward ${version.replace(/\./g, '\\.')} installed in ${prefix}`), show(inst));
    const bin = join(prefix, 'bin', 'steward');
    assert.ok(lstatSync(bin).isSymbolicLink(), 'bin/steward links into lib/steward');
    assert.deepEqual(writableByOthers(join(prefix, 'lib', 'steward')), [], 'installed files are writable by their owner only');

    const empty = await makeTempDir('steward-bundle-cwd-');
    const v = await offlineRun(bin, ['--version'], empty);
    assert.equal(v.code, 0, show(v));
    assert.equal(v.stdout.trim(), version);
    const help = await offlineRun(bin, ['--help'], empty);
    assert.equal(help.code, 0, show(help));
    assert.match(help.stdout, /steward start/, show(help));
    const inPlace = await offlineRun(join(top, 'bin', 'steward'), ['--version'], empty);
    assert.equal(inPlace.stdout.trim(), version, show(inPlace));
    const demo = await offlineRun(bin, ['demo'], empty, 120_000);
    assert.equal(demo.code, 0, show(demo));
    assert.match(demo.stdout, /CLICommand output from ship1/, show(demo));

    // No Node.js on PATH: install.sh says so and installs nothing.
    const noNode = await makeTempDir('steward-no-node-');
    for (const tool of ['dirname', 'sed']) {
      const found = ['/usr/bin', '/bin'].map((d) => join(d, tool)).find((p) => existsSync(p));
      if (found) symlinkSync(found, join(noNode, tool));
    }
    const prefix2 = join(noNode, 'prefix');
    const refused = await run('/bin/sh', [join(top, 'install.sh'), '--prefix', prefix2], {
      cwd: unpacked,
      env: cleanEnv({ PATH: noNode }),
    });
    assert.equal(refused.code, 1, show(refused));
    assert.match(refused.stderr, /Node\.js is not installed/, show(refused));
    assert.match(refused.stderr, />= 20\.19/, show(refused));
    assert.equal(existsSync(join(prefix2, 'bin', 'steward')), false);

    // A file of the installed code that another account can change: the service would run it as its user, so install refuses.
    const me = userInfo().username;
    const dirs = await makeTempDir('steward-svc-writable-');
    const mainJs = join(prefix, 'lib', 'steward', 'dist', 'main.js');
    chmodSync(mainJs, 0o666);
    const svcArgs = ['service', 'install', '--node', 'wr1', '--user', me, '--unitDir', join(dirs, 'units'), '--envDir', join(dirs, 'etc')];
    svcArgs.push('--nodeFolder', join(dirs, 'wr1'));
    const bad = await run(bin, svcArgs, { cwd: empty });
    assert.equal(bad.code, 1, show(bad));
    assert.match(bad.stderr, /refusing: the unit would run code that another account can change/, show(bad));
    assert.match(bad.stderr, /main\.js is writable by group or others/, show(bad));
    assert.equal(existsSync(join(dirs, 'units', 'steward-wr1.service')), false, 'no unit written');
    chmodSync(mainJs, 0o644);
    const good = await run(bin, svcArgs, { cwd: empty });
    assert.equal(good.code, 0, show(good));
    assert.match(
      readFileSync(join(dirs, 'units', 'steward-wr1.service'), 'utf8'),
      new RegExp(`ExecStart=\\S+ ${realpathSync(join(prefix, 'lib', 'steward', 'bin', 'steward.js'))} start`),
    );
  });
});

describe('steward service install', () => {
  const analyze = ['/usr/bin/systemd-analyze', '/bin/systemd-analyze'].find((p) => existsSync(p));

  it('--dry-run prints the unit (own user, node folder, restart rules, exit code 2 not restarted, the flags), no secret, and writes nothing', async () => {
    const node = `svc${randomBytes(3).toString('hex')}`;
    const password = `pw-${randomBytes(8).toString('hex')}`;
    const token = `tok-${randomBytes(8).toString('hex')}`;
    const cwd = await makeTempDir('steward-svc-');
    const args = [
      'service',
      'install',
      '--node',
      node,
      '--brokerAddress',
      'broker.example:4222',
      '--brokerUser',
      node,
      '--brokerToken',
      token,
    ];
    args.push('--enableSignatureCheck', '--enableAclCheck', '--no-embeddedBroker', '--dry-run');
    const hadUser = spawnSync('id', ['-u', 'steward'], { stdio: 'ignore' }).status === 0;
    const r = await run(process.execPath, [stewardBin, ...args], { cwd, env: cleanEnv({ STEWARD_BROKER_PASSWORD: password }) });
    assert.equal(r.code, 0, show(r));
    const unit = r.stdout;
    assert.match(unit, /^User=steward$/m, show(r));
    assert.match(unit, new RegExp(`^WorkingDirectory=/var/lib/steward/${node}$`, 'm'));
    assert.match(unit, new RegExp(`^EnvironmentFile=/etc/steward/${node}\\.env$`, 'm'));
    assert.match(unit, /^Restart=always$/m);
    assert.match(unit, /^RestartSec=\d+$/m);
    assert.match(unit, /^RestartPreventExitStatus=2$/m);
    assert.match(unit, /^KillMode=mixed$/m);
    assert.match(unit, /^WantedBy=multi-user\.target$/m);
    const exec = /^ExecStart=(.*)$/m.exec(unit)?.[1] ?? '';
    assert.ok(
      exec.startsWith(`${process.execPath} ${realpathSync(stewardBin)} start --node ${node} --nodeFolder /var/lib/steward/${node}`),
      exec,
    );
    for (const flag of [
      '--brokerAddress broker.example:4222',
      `--brokerUser ${node}`,
      '--enableSignatureCheck',
      '--enableAclCheck',
      '--embeddedBroker false',
    ])
      assert.ok(exec.includes(flag), `ExecStart has ${flag}: ${exec}`);
    assert.doesNotMatch(exec, /--brokerPassword|--brokerToken|--inspectToken/);
    // Neither secret is printed anywhere, from the environment or from the command line.
    for (const secret of [password, token])
      assert.ok(!r.stdout.includes(secret) && !r.stderr.includes(secret), `a secret was printed:\n${show(r)}`);
    assert.match(r.stdout, /STEWARD_BROKER_PASSWORD, STEWARD_BROKER_TOKEN \(values not shown\)/);
    assert.match(r.stderr, /--brokerToken was given on the command line/);
    // Nothing written, nobody created.
    assert.equal(existsSync(`/etc/systemd/system/steward-${node}.service`), false);
    assert.equal(existsSync(`/etc/steward/${node}.env`), false);
    assert.equal(existsSync(`/var/lib/steward/${node}`), false);
    assert.equal(spawnSync('id', ['-u', 'steward'], { stdio: 'ignore' }).status === 0, hadUser, 'the user was not created');

    if (!analyze) {
      assert.match(r.stdout, /systemd-analyze verify: skipped/);
      console.error('install.test: systemd-analyze is not installed: the unit was not validated by systemd');
      return;
    }
    assert.match(r.stdout, /# systemd-analyze verify: ok/);
    // Validated here too, on the exact text printed: systemd reports problems on stderr even with exit code 0.
    const unitText = unit.slice(unit.indexOf('\n') + 1, unit.indexOf('\n# and '));
    const dir = await makeTempDir('steward-unit-');
    writeFileSync(join(dir, `steward-${node}.service`), unitText);
    const verify = await run(analyze, ['verify', join(dir, `steward-${node}.service`)], { cwd: dir });
    assert.equal(verify.code, 0, show(verify));
    assert.deepEqual(
      `${verify.stdout}${verify.stderr}`.split('\n').filter((l) => l.includes(`steward-${node}.service`)),
      [],
      show(verify),
    );
  });

  it('installs into given folders: the secret only in a 0600 environment file, kept on reinstall; uninstall removes both and says what it left', async () => {
    const node = `svc${randomBytes(3).toString('hex')}`;
    const password = `pw-${randomBytes(8).toString('hex')}`;
    const me = userInfo().username;
    const base = await makeTempDir('steward-svc-real-');
    const dirs = ['--unitDir', join(base, 'units'), '--envDir', join(base, 'etc'), '--nodeFolder', join(base, 'nodes', node), '--user', me];
    const first = await run(
      process.execPath,
      [stewardBin, 'service', 'install', '--node', node, '--brokerAddress', '10.0.0.9:4222', '--brokerUser', node, ...dirs],
      {
        cwd: base,
        env: cleanEnv({ STEWARD_BROKER_PASSWORD: password }),
      },
    );
    if (first.code === 1 && /refusing: the unit would run code that another account can change/.test(first.stderr)) {
      // A checkout that another account can write (a volume of another uid, umask 002): refusing is the right answer there.
      console.error(`install.test: this checkout is writable by another account, service install refused as it should:\n${first.stderr}`);
      return;
    }
    assert.equal(first.code, 0, show(first));
    assert.ok(!first.stdout.includes(password) && !first.stderr.includes(password), show(first));
    assert.match(first.stdout, new RegExp(`systemctl enable --now steward-${node}\\.service`));
    const unitFile = join(base, 'units', `steward-${node}.service`);
    const envFile = join(base, 'etc', `${node}.env`);
    assert.ok(!readFileSync(unitFile, 'utf8').includes(password), 'the secret is not in the unit');
    assert.equal(statSync(envFile).mode & 0o777, 0o600);
    assert.match(readFileSync(envFile, 'utf8'), new RegExp(`^STEWARD_BROKER_PASSWORD="${password}"$`, 'm'));
    assert.equal(statSync(join(base, 'nodes', node)).mode & 0o777, 0o750);

    // Reinstall with another flag and no secret given: the secret stays.
    const again = await run(
      process.execPath,
      [stewardBin, 'service', 'install', '--node', node, '--brokerAddress', '10.0.0.10:4222', '--brokerUser', node, ...dirs],
      {
        cwd: base,
      },
    );
    assert.equal(again.code, 0, show(again));
    assert.match(readFileSync(unitFile, 'utf8'), /--brokerAddress 10\.0\.0\.10:4222/);
    assert.match(readFileSync(envFile, 'utf8'), new RegExp(`^STEWARD_BROKER_PASSWORD="${password}"$`, 'm'));
    assert.equal(statSync(envFile).mode & 0o777, 0o600);

    // A bad option is refused at install time, not in a restart loop later.
    const bad = await run(process.execPath, [stewardBin, 'service', 'install', '--node', node, '--defaultMessageTimeout', '0', ...dirs], {
      cwd: base,
    });
    assert.equal(bad.code, 2, show(bad));
    assert.match(bad.stderr, /--defaultMessageTimeout must be > 0/);

    const rm = await run(process.execPath, [stewardBin, 'service', 'uninstall', '--node', node, ...dirs.slice(0, 4)], { cwd: base });
    assert.equal(rm.code, 0, show(rm));
    assert.equal(existsSync(unitFile), false);
    assert.equal(existsSync(envFile), false);
    assert.match(rm.stdout, new RegExp(`left in place:\\n  node folder ${join(base, 'nodes', node)}`));
    assert.ok(existsSync(join(base, 'nodes', node)), 'the node folder (journal, keys) is kept');
  });
});
