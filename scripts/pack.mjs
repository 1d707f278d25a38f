#!/usr/bin/env node
/**
 * `npm run pack [-- --no-build] [--out <dir>]`: builds the one installable npm
 * package `steward` and writes it as a .tgz (default: dist-pack/). Its last
 * output line is the tarball's absolute path.
 *
 * Layout of the package: the CLI's bin/, its bundle (bundled/, which bin/steward.js
 * runs; see bundle-cli.mjs) and its compiled dist/ (the library API) at the top, and the
 * internal workspaces @steward/core and @steward/node as bundled dependencies
 * (node_modules/@steward/*, inside the tarball). Their imports stay exactly as
 * compiled: Node resolves `@steward/node` from the package's own node_modules.
 * Every third-party runtime dependency (the native better-sqlite3 and node-pty
 * among them) is an ordinary dependency of `steward`, so npm installs and builds
 * it for the target machine. The bundled copies declare no dependencies: npm has
 * nothing to look up for them, and never asks a registry for an `@steward/*` name.
 */
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

/** The repository root (this file lives in <root>/scripts). */
export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..');

const internal = ['core', 'node'];

function readJson(path) {
  return JSON.parse(readFileSync(path, 'utf8'));
}

/** Copies a compiled dist/ without source maps and build info: their sources are not shipped. */
function copyDist(from, to) {
  if (!existsSync(join(from, 'index.js'))) throw new Error(`${from} has no index.js: build first (npm run build)`);
  cpSync(from, to, { recursive: true, filter: (src) => !/\.(map|tsbuildinfo)$/.test(src) });
}

/** The third-party runtime dependencies of all workspaces; they must agree on each range. */
function runtimeDependencies(manifests) {
  const deps = {};
  for (const m of manifests) {
    for (const [name, range] of Object.entries(m.dependencies ?? {})) {
      if (name.startsWith('@steward/')) continue;
      if (deps[name] && deps[name] !== range)
        throw new Error(`workspaces disagree on ${name}: ${deps[name]} and ${range}; make them agree before packing`);
      deps[name] = range;
    }
  }
  return Object.fromEntries(Object.entries(deps).sort(([a], [b]) => a.localeCompare(b)));
}

/**
 * npm-shrinkwrap.json for the package: the exact versions and integrity hashes
 * of the repository's package-lock.json, production entries only. A fleet then
 * installs the dependency tree the tests ran against, not whatever newer
 * release matches a range on the day of the install; npm honours a shrinkwrap
 * in a package installed with -g.
 */
function shrinkwrap(manifest, manifests) {
  const lock = readJson(join(repoRoot, 'package-lock.json'));
  const packages = {
    '': { ...manifest, files: undefined, main: undefined, types: undefined, keywords: undefined, description: undefined },
  };
  for (const [path, entry] of Object.entries(lock.packages)) {
    // Workspace sources and their links are replaced by the bundled copies below; dev-only entries are not installed.
    if (path === '' || path.startsWith('packages/') || entry.link || entry.dev) continue;
    if (entry.devOptional) throw new Error(`${path} is marked devOptional in package-lock.json: decide whether it ships`);
    packages[path] = entry;
  }
  for (const m of manifests) packages[`node_modules/${m.name}`] = { version: m.version, inBundle: true, license: 'MIT' };
  for (const dep of Object.keys(manifest.dependencies))
    if (!packages[`node_modules/${dep}`]) throw new Error(`package-lock.json has no entry for ${dep}: run npm install first`);
  return { name: manifest.name, version: manifest.version, lockfileVersion: 3, requires: true, packages };
}

/** The version of the package, checked against the version the CLI reports. */
function packageVersion() {
  const version = readJson(join(repoRoot, 'packages', 'cli', 'package.json')).version;
  const src = readFileSync(join(repoRoot, 'packages', 'node', 'src', 'version.ts'), 'utf8');
  const m = /stewardVersion\s*=\s*'([^']+)'/.exec(src);
  // A package whose `steward --version` disagrees with its name would mislead every upgrade.
  if (!m || m[1] !== version) throw new Error(`packages/node/src/version.ts says ${m?.[1]}, packages/cli/package.json says ${version}`);
  return version;
}

/**
 * Builds the package. Returns the tarball's absolute path, its size in bytes,
 * the unpacked size and the version.
 */
export function packSteward({ build = true, outDir = join(repoRoot, 'dist-pack'), log = console.log } = {}) {
  if (build) {
    log('building (tsc -b packages/cli, then the CLI bundle)');
    execFileSync(process.execPath, [join(repoRoot, 'node_modules', 'typescript', 'bin', 'tsc'), '-b', 'packages/cli'], {
      cwd: repoRoot,
      stdio: 'inherit',
    });
    execFileSync(process.execPath, [join(repoRoot, 'scripts', 'bundle-cli.mjs')], { cwd: repoRoot, stdio: 'inherit' });
  }
  const bundleDir = join(repoRoot, 'packages', 'cli', 'bundled');
  if (!existsSync(join(bundleDir, 'main.js'))) throw new Error(`${bundleDir} has no main.js: build first (npm run build)`);
  const version = packageVersion();
  const root = readJson(join(repoRoot, 'package.json'));
  const cli = readJson(join(repoRoot, 'packages', 'cli', 'package.json'));
  const manifests = internal.map((p) => readJson(join(repoRoot, 'packages', p, 'package.json')));

  const work = mkdtempSync(join(tmpdir(), 'steward-pack-'));
  try {
    const stage = join(work, 'steward');
    mkdirSync(stage);
    cpSync(join(repoRoot, 'packages', 'cli', 'bin'), join(stage, 'bin'), { recursive: true });
    cpSync(bundleDir, join(stage, 'bundled'), { recursive: true });
    copyDist(join(repoRoot, 'packages', 'cli', 'dist'), join(stage, 'dist'));
    for (const [i, p] of internal.entries()) {
      const m = manifests[i];
      const to = join(stage, 'node_modules', '@steward', p);
      copyDist(join(repoRoot, 'packages', p, 'dist'), join(to, 'dist'));
      // The inspector page is read at run time relative to dist/ (../../assets/...).
      if (existsSync(join(repoRoot, 'packages', p, 'assets')))
        cpSync(join(repoRoot, 'packages', p, 'assets'), join(to, 'assets'), { recursive: true });
      const { name, description, type, main, types, exports } = m;
      writeFileSync(
        join(to, 'package.json'),
        JSON.stringify({ name, version: m.version, description, type, main, types, exports, license: 'MIT' }, null, 2) + '\n',
      );
    }
    cpSync(join(repoRoot, 'packaging', 'README.md'), join(stage, 'README.md'));
    cpSync(join(repoRoot, 'LICENSE'), join(stage, 'LICENSE'));
    const manifest = {
      name: 'steward',
      version,
      description: root.description,
      keywords: ['nats', 'command-and-control', 'fleet', 'remote-execution', 'xstate'],
      license: 'MIT',
      type: 'module',
      bin: { steward: 'bin/steward.js' },
      main: cli.main,
      types: cli.types,
      files: ['bin/', 'bundled/', 'dist/', 'README.md', 'LICENSE', 'npm-shrinkwrap.json'],
      engines: root.engines,
      os: ['linux'],
      dependencies: {
        ...runtimeDependencies([cli, ...manifests]),
        ...Object.fromEntries(manifests.map((m) => [m.name, m.version])),
      },
      bundleDependencies: manifests.map((m) => m.name),
    };
    writeFileSync(join(stage, 'package.json'), JSON.stringify(manifest, null, 2) + '\n');
    writeFileSync(join(stage, 'npm-shrinkwrap.json'), JSON.stringify(shrinkwrap(manifest, manifests), null, 2) + '\n');

    mkdirSync(outDir, { recursive: true });
    const out = execFileSync('npm', ['pack', '--json', '--pack-destination', outDir], {
      cwd: stage,
      encoding: 'utf8',
      // npm pack runs no scripts of ours (the staged manifest has none); keep npm quiet.
      env: { ...process.env, npm_config_loglevel: 'error', npm_config_update_notifier: 'false' },
    });
    const info = JSON.parse(out)[0];
    const tarball = join(outDir, info.filename);
    const bundled = info.files.filter((f) => f.path.startsWith('node_modules/@steward/')).length;
    if (bundled === 0) throw new Error('npm pack left out the bundled @steward packages');
    return { tarball, size: statSync(tarball).size, unpackedSize: info.unpackedSize, files: info.entryCount, version };
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

/** "1.2 MB" */
export function formatSize(bytes) {
  return bytes >= 1024 * 1024 ? `${(bytes / 1024 / 1024).toFixed(1)} MB` : `${Math.round(bytes / 1024)} kB`;
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  const args = process.argv.slice(2);
  const outAt = args.indexOf('--out');
  try {
    const r = packSteward({ build: !args.includes('--no-build'), ...(outAt >= 0 ? { outDir: resolve(args[outAt + 1]) } : {}) });
    console.log(`steward ${r.version}: ${r.files} files, ${formatSize(r.size)} packed, ${formatSize(r.unpackedSize)} unpacked`);
    console.log(`install: npm install -g ${r.tarball}`);
    console.log(r.tarball);
  } catch (err) {
    console.error(`pack failed: ${err.message}`);
    process.exitCode = 1;
  }
}
