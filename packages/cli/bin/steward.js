#!/usr/bin/env node
// The bundle of dist/main.js and what it loads (scripts/bundle-cli.mjs, part of `npm run build`).
import { main } from '../bundled/main.js';

main(process.argv.slice(2)).then(
  (code) => {
    if (typeof code === 'number') process.exitCode = code;
  },
  (err) => {
    console.error(err instanceof Error ? (err.stack ?? err.message) : String(err));
    process.exitCode = 1;
  },
);
