/** Where things are, from the bench's sources or from their build in bench/dist. */
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

function findRepoRoot(): string {
  for (let dir = dirname(fileURLToPath(import.meta.url)); dir !== dirname(dir); dir = dirname(dir)) {
    if (existsSync(join(dir, 'packages', 'cli', 'bin', 'steward.js'))) return dir;
  }
  throw new Error('bench: cannot find the steward repository above ' + fileURLToPath(import.meta.url));
}

/** The repository's root folder. */
export const repoRoot = findRepoRoot();
/** Where results are written. */
export const resultsDir = join(repoRoot, 'bench', 'results');
