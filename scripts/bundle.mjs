#!/usr/bin/env node
/**
 * `npm run bundle [-- --no-build] [--out <dir>]`: writes the offline bundle
 * steward-<version>-linux-<arch>.tar.gz (default: dist-pack/). Its last output
 * line is the bundle's absolute path.
 *
 * The bundle holds the npm package of `npm run pack` installed with its
 * production node_modules (the versions of its npm-shrinkwrap.json), the native
 * modules built for this machine's platform and Node.js ABI, a bin/steward
 * launcher and install.sh. A machine with Node.js of the same major version
 * and no registry access unpacks it and runs install.sh.
 *
 * The native modules are taken from the repository's node_modules when their
 * versions match (the repository's `npm ci` built them for this Node.js
 * already), so bundling compiles nothing; otherwise they are rebuilt here.
 */
import { execFileSync } from 'node:child_process';
import {
  chmodSync,
  copyFileSync,
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { formatSize, packSteward, repoRoot } from './pack.mjs';

/** The native modules of the package and the files their install scripts build. */
const natives = [
  // deps/ is SQLite's source: only a compile needs it.
  { name: 'better-sqlite3', built: ['build/Release/better_sqlite3.node'], prune: ['deps'] },
  // prebuilds/ holds macOS and Windows binaries, deps/ and third_party/ Windows-only sources (58 MB of the 63).
  { name: 'node-pty', built: ['build/Release/pty.node'], prune: ['prebuilds', 'deps', 'third_party'] },
];

function readJson(path) {
  return JSON.parse(readFileSync(path, 'utf8'));
}

/** Puts the built native files into the staged package: copied from the repository, or compiled. */
function buildNatives(pkgDir, log) {
  for (const n of natives) {
    const staged = join(pkgDir, 'node_modules', n.name);
    const repo = join(repoRoot, 'node_modules', n.name);
    const sameVersion =
      existsSync(join(repo, 'package.json')) &&
      readJson(join(repo, 'package.json')).version === readJson(join(staged, 'package.json')).version;
    if (sameVersion && n.built.every((f) => existsSync(join(repo, f)))) {
      for (const f of n.built) {
        mkdirSync(join(staged, f, '..'), { recursive: true });
        copyFileSync(join(repo, f), join(staged, f));
      }
      log(`${n.name}: reused the repository's build`);
    } else {
      log(`${n.name}: building for Node.js ${process.versions.node} (no matching build in the repository)`);
      execFileSync('npm', ['rebuild', n.name, '--foreground-scripts'], { cwd: pkgDir, stdio: 'inherit' });
    }
  }
  for (const n of natives) for (const p of n.prune) rmSync(join(pkgDir, 'node_modules', n.name, p), { recursive: true, force: true });
  // Load them as the installed steward will: a bundle whose natives do not load must not be written.
  const probe = `
    const Database = require('better-sqlite3');
    const db = new Database(':memory:');
    if (db.prepare('select 1 as one').get().one !== 1) throw new Error('better-sqlite3 answers wrong');
    require('node-pty');`;
  execFileSync(process.execPath, ['-e', probe], { cwd: pkgDir, stdio: 'inherit' });
}

/** Builds the bundle; returns its absolute path, size and name. */
export function bundleSteward({ build = true, outDir = join(repoRoot, 'dist-pack'), log = console.log } = {}) {
  const work = mkdtempSync(join(tmpdir(), 'steward-bundle-'));
  try {
    const pack = packSteward({ build, outDir: join(work, 'pack'), log });
    const name = `steward-${pack.version}-${process.platform}-${process.arch}`;
    const top = join(work, name);
    const prefix = join(work, 'prefix');
    log(`installing ${pack.tarball} with its production dependencies (scripts off: natives come next)`);
    execFileSync(
      'npm',
      ['install', '--global', '--prefix', prefix, '--ignore-scripts', '--prefer-offline', '--no-audit', '--no-fund', pack.tarball],
      // No @steward/* name is ever fetched: the scope points nowhere, so a lookup would fail instead of installing a stranger's package.
      {
        stdio: ['ignore', 'inherit', 'inherit'],
        env: { ...process.env, 'npm_config_@steward:registry': 'http://127.0.0.1:9/', npm_config_loglevel: 'error' },
      },
    );
    const pkgDir = join(top, 'lib', 'steward');
    mkdirSync(join(top, 'lib'), { recursive: true });
    renameSync(join(prefix, 'lib', 'node_modules', 'steward'), pkgDir);
    const lock = readJson(join(pkgDir, 'npm-shrinkwrap.json'));
    const scripted = Object.entries(lock.packages)
      .filter(([path, e]) => e.hasInstallScript && !natives.some((n) => path === `node_modules/${n.name}`))
      .map(([path]) => path);
    // Install scripts were skipped: a new native dependency would ship unbuilt without this check.
    if (scripted.length) throw new Error(`dependencies with install scripts the bundle does not build: ${scripted.join(', ')}`);
    buildNatives(pkgDir, log);

    mkdirSync(join(top, 'bin'));
    copyFileSync(join(repoRoot, 'packaging', 'steward.sh'), join(top, 'bin', 'steward'));
    copyFileSync(join(repoRoot, 'packaging', 'install.sh'), join(top, 'install.sh'));
    chmodSync(join(top, 'bin', 'steward'), 0o755);
    chmodSync(join(top, 'install.sh'), 0o755);
    cpSync(join(pkgDir, 'README.md'), join(top, 'README.md'));
    const meta = {
      name: 'steward',
      version: pack.version,
      platform: process.platform,
      arch: process.arch,
      nodeVersion: process.versions.node,
      nodeMajor: Number(process.versions.node.split('.')[0]),
      nodeAbi: process.versions.modules,
    };
    writeFileSync(join(top, 'bundle.json'), JSON.stringify(meta, null, 2) + '\n');

    mkdirSync(outDir, { recursive: true });
    const file = join(outDir, `${name}.tar.gz`);
    // Owned by root in the archive: whoever unpacks it as root gets root-owned files, not a stray uid.
    execFileSync('tar', ['-czf', file, '--owner=0', '--group=0', '--numeric-owner', '-C', work, name]);
    return { file, size: statSync(file).size, name, version: pack.version };
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  const args = process.argv.slice(2);
  const outAt = args.indexOf('--out');
  try {
    const r = bundleSteward({ build: !args.includes('--no-build'), ...(outAt >= 0 ? { outDir: resolve(args[outAt + 1]) } : {}) });
    console.log(`${r.name}: ${formatSize(r.size)}`);
    console.log(`install: tar -xzf ${r.name}.tar.gz && sudo ./${r.name}/install.sh [--prefix /usr/local]`);
    console.log(r.file);
  } catch (err) {
    console.error(`bundle failed: ${err.message}`);
    process.exitCode = 1;
  }
}
