/**
 * Rewrites the option tables of docs/reference/cli.md from the configuration
 * schema in packages/node/src/node/configSchema.ts (`npm run docs:flags`);
 * `--check` only reports whether the page is current (exit 1 when stale).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { withFlagDocs } from '../packages/node/src/node/configDocs.js';

const page = fileURLToPath(new URL('../docs/reference/cli.md', import.meta.url));
const before = readFileSync(page, 'utf8');
const after = withFlagDocs(before);
if (process.argv.includes('--check')) {
  if (after !== before) {
    console.error(`${page}: the option tables are stale; run npm run docs:flags`);
    process.exit(1);
  }
} else if (after !== before) {
  writeFileSync(page, after);
  console.log(`${page}: option tables rewritten`);
} else console.log(`${page}: option tables already current`);
