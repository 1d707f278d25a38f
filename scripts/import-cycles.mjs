#!/usr/bin/env node
/**
 * `node scripts/import-cycles.mjs [dir...]`: reports import cycles between the
 * TypeScript files of each package's src/ (default: packages/*\/src). Type-only
 * imports count too: a cycle of types is still two files that cannot be read
 * one without the other. Exits 1 when it finds a cycle.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const dirs = process.argv.length > 2 ? process.argv.slice(2) : readdirSync(join(root, 'packages')).map((p) => join('packages', p, 'src'));

function tsFiles(dir) {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? tsFiles(path) : path.endsWith('.ts') && !path.endsWith('.d.ts') ? [path] : [];
  });
}

/** The files `file` imports (or re-exports) by a relative path. */
function importsOf(file) {
  const text = readFileSync(file, 'utf8');
  const found = [];
  for (const m of text.matchAll(/^\s*(?:import|export)\b[^'";]*?from\s+['"](\.[^'"]+)['"]/gms)) {
    const target = resolve(dirname(file), m[1].replace(/\.js$/, '.ts'));
    if (existsSync(target)) found.push(target);
  }
  return found;
}

let cycles = 0;
for (const dir of dirs.map((d) => resolve(root, d)).filter((d) => existsSync(d))) {
  const graph = new Map(tsFiles(dir).map((f) => [f, importsOf(f)]));
  // Depth-first search; a file met again while still on the stack closes a cycle.
  const state = new Map();
  const stack = [];
  const seen = new Set();
  const visit = (f) => {
    state.set(f, 'open');
    stack.push(f);
    for (const g of graph.get(f) ?? []) {
      if (state.get(g) === 'open') {
        const cycle = stack.slice(stack.indexOf(g)).map((p) => relative(root, p));
        const key = [...cycle].sort().join(' ');
        if (!seen.has(key)) {
          seen.add(key);
          cycles++;
          console.log(`import cycle: ${[...cycle, cycle[0]].join(' → ')}`);
        }
      } else if (!state.has(g)) visit(g);
    }
    stack.pop();
    state.set(f, 'done');
  };
  for (const f of graph.keys()) if (!state.has(f)) visit(f);
}
if (cycles > 0) process.exit(1);
console.log('no import cycles');
