/**
 * No code names a method to decide behaviour (issue 13 item 2): what makes a
 * method special is a property of its row in the method table. This test
 * reads the node package's sources and fails on a comparison with a method
 * name, a set or array of method names, or a `case` on one.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { methodRows } from '@steward/core';

const src = fileURLToPath(new URL('../src/', import.meta.url));

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sources(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : [],
  );
}

/** Where `text` decides something by a method's name: the matching lines, with their numbers. */
function methodNameDecisions(text: string, names: readonly string[]): string[] {
  const name = `'(?:${names.join('|')})'`;
  const patterns = [
    new RegExp(`[=!]==\\s*${name}`),
    new RegExp(`${name}\\s*[=!]==`),
    new RegExp(`case\\s+${name}\\s*:`),
    // A list of names: a set or array with two of them.
    new RegExp(`\\[\\s*${name}\\s*,\\s*${name}`),
  ];
  return text
    .split('\n')
    .map((line, i) => ({ line, n: i + 1 }))
    .filter(({ line }) => patterns.some((p) => p.test(line)))
    .map(({ line, n }) => `${n}: ${line.trim()}`);
}

describe('method names in code', () => {
  const names = methodRows.map((r) => r.name);

  it('catches a comparison, a case and a list of names', () => {
    assert.equal(methodNameDecisions(`if (m.method === 'ErrorLog') x();`, names).length, 1);
    assert.equal(methodNameDecisions(`case 'SayHello':`, names).length, 1);
    assert.equal(methodNameDecisions(`new Set(['CLICommand', 'CLICommandRequest'])`, names).length, 1);
    assert.deepEqual(methodNameDecisions(`send({ method: 'SayHello' })`, names), []);
  });

  it('packages/node/src decides nothing by a method name (the method table rows say it)', () => {
    const found = sources(src).flatMap((file) =>
      methodNameDecisions(readFileSync(file, 'utf8'), names).map((hit) => `${relative(src, file)}:${hit}`),
    );
    assert.deepEqual(found, [], `use a property of the method's row instead:\n${found.join('\n')}`);
  });
});
