/**
 * Rewrites the option tables of docs/reference/cli.md from the configuration
 * schema in packages/node/src/node/configSchema.ts (`npm run docs:flags`);
 * `--check` only reports whether the page is current (exit 1 when stale).
 */
import { fileURLToPath } from 'node:url';
import { withFlagDocs } from '../packages/node/src/node/configDocs.js';
import { rewriteGeneratedPage } from './generated-page.js';

rewriteGeneratedPage(fileURLToPath(new URL('../docs/reference/cli.md', import.meta.url)), withFlagDocs, 'option tables', 'docs:flags');
