/**
 * Rewrites the method table of docs/reference/methods.md from the method
 * table in packages/core/src/methodCatalog.ts (`npm run docs:methods`);
 * `--check` only reports whether the page is current (exit 1 when stale).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { withMethodTable } from '../packages/core/src/methodReference.js';

const page = fileURLToPath(new URL('../docs/reference/methods.md', import.meta.url));
const before = readFileSync(page, 'utf8');
const after = withMethodTable(before);
if (process.argv.includes('--check')) {
  if (after !== before) {
    console.error(`${page}: the method table is stale; run npm run docs:methods`);
    process.exit(1);
  }
} else if (after !== before) {
  writeFileSync(page, after);
  console.log(`${page}: method table rewritten`);
} else console.log(`${page}: method table already current`);
