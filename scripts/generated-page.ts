/**
 * Rewrites a docs page whose blocks are generated from code, or with
 * `--check` (in process.argv) only reports whether it is current (exit 1
 * when stale). Shared by the scripts behind `npm run docs:*`.
 */
import { readFileSync, writeFileSync } from 'node:fs';

/**
 * Applies `rewrite` to the page at `page`.
 *
 * @param what - what is generated, for the messages ("option tables")
 * @param script - the npm script that rewrites it ("docs:flags")
 */
export function rewriteGeneratedPage(page: string, rewrite: (text: string) => string, what: string, script: string): void {
  const before = readFileSync(page, 'utf8');
  const after = rewrite(before);
  if (process.argv.includes('--check')) {
    if (after !== before) {
      console.error(`${page}: the ${what} are stale; run npm run ${script}`);
      process.exit(1);
    }
  } else if (after !== before) {
    writeFileSync(page, after);
    console.log(`${page}: ${what} rewritten`);
  } else console.log(`${page}: ${what} already current`);
}
