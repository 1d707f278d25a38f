/**
 * Rewrites the method table of docs/reference/methods.md from the method
 * table in packages/core/src/methodCatalog.ts (`npm run docs:methods`);
 * `--check` only reports whether the page is current (exit 1 when stale).
 */
import { fileURLToPath } from 'node:url';
import { withMethodTable } from '../packages/core/src/methodReference.js';
import { rewriteGeneratedPage } from './generated-page.js';

const page = fileURLToPath(new URL('../docs/reference/methods.md', import.meta.url));
rewriteGeneratedPage(page, (text) => withMethodTable(text), 'method table', 'docs:methods');
