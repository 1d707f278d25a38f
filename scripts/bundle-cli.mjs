#!/usr/bin/env node
/**
 * `node scripts/bundle-cli.mjs` (part of `npm run build`): bundles the
 * compiled CLI (packages/cli/dist/main.js, with @steward/node, @steward/core
 * and their pure-JavaScript dependencies) into packages/cli/bundled/, which
 * bin/steward.js runs.
 *
 * Why: `steward start` loaded ~130 ES modules one by one (resolving, reading
 * and linking each), which was most of its start-up beyond a bare Node.js
 * process. The bundle is a handful of files: the start path in one, and
 * what loads on demand (the inspector, the copy, HTTP and tail methods, YAML,
 * the yargs-based commands) in chunks of its own, still loaded only when
 * used.
 *
 * Left outside the bundle, loaded from node_modules as before: the native
 * modules (better-sqlite3, node-pty) and ws with its optional natives, and
 * yargs with yargs-parser (yargs reads its locale files from its own folder).
 *
 * The compiled dist/ folders stay what the packages export (the library API,
 * the bench, the tests that run a node in process); the bundle is only the
 * command line.
 */
import { cpSync, rmSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const outdir = join(root, 'packages', 'cli', 'bundled');

/** Packages loaded from node_modules at run time, not bundled (see the header). */
const bundleExternals = ['better-sqlite3', 'node-pty', 'ws', 'bufferutil', 'utf-8-validate', 'yargs', 'yargs-parser'];

export async function bundleCli() {
  rmSync(outdir, { recursive: true, force: true });
  await build({
    entryPoints: [join(root, 'packages', 'cli', 'dist', 'main.js')],
    outdir,
    bundle: true,
    splitting: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    external: bundleExternals,
    // CommonJS dependencies inside an ES module bundle call require(); give each file one.
    banner: { js: "import { createRequire as __stewardRequire } from 'node:module'; const require = __stewardRequire(import.meta.url);" },
    // Licence comments of the bundled packages stay, at the end of each file.
    legalComments: 'eof',
    logLevel: 'warning',
  });
  // The inspector's page, read at run time next to the bundle (see inspectorServer.ts).
  cpSync(join(root, 'packages', 'node', 'assets'), join(outdir, 'assets'), { recursive: true });
  return outdir;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  bundleCli().catch((err) => {
    console.error(`bundling the CLI failed: ${err.message}`);
    process.exitCode = 1;
  });
}
