/**
 * The method table: its rows are consistent, and the manual's method table
 * (docs/reference/methods.md) is the one generated from them.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { AcceptedBy, methodCatalog, methodRows, methodsWhere } from '../src/methodCatalog.js';
import { methodTableMarkdown, methodTableMarkers, withMethodTable } from '../src/methodReference.js';

const pagePath = fileURLToPath(new URL('../../../docs/reference/methods.md', import.meta.url));

describe('method table', () => {
  it('docs/reference/methods.md holds the table generated from the rows (npm run docs:methods rewrites it)', () => {
    const page = readFileSync(pagePath, 'utf8');
    assert.ok(page.includes(methodTableMarkers.begin), `${pagePath} lacks ${methodTableMarkers.begin}`);
    assert.equal(page, withMethodTable(page), 'the method table of docs/reference/methods.md is stale: run npm run docs:methods');
  });

  it('a changed row makes the committed page stale', () => {
    const page = readFileSync(pagePath, 'utf8');
    const changed = methodRows.map((r) => (r.name === 'REQPing' ? { ...r, summary: 'something else' } : r));
    assert.notEqual(withMethodTable(page, methodTableMarkdown(changed)), page);
  });

  it('names every method once, and every reply method and same-as name is a method', () => {
    assert.equal(methodCatalog.size, methodRows.length);
    for (const r of methodRows) {
      if (r.replyMethod !== undefined) assert.ok(methodCatalog.has(r.replyMethod), `${r.name}: replyMethod ${r.replyMethod}`);
      if (r.sameAs !== undefined) assert.equal(methodCatalog.get(r.sameAs)?.sameAs, r.name, `${r.name}: sameAs ${r.sameAs} is not mutual`);
    }
  });

  it('marks both generations of the error report and the hello, and only SayHello offers a key', () => {
    assert.deepEqual(methodsWhere('errorReport'), ['ErrorLog', 'REQErrorLog']);
    assert.deepEqual(methodsWhere('liveness'), ['SayHello', 'REQHello']);
    assert.deepEqual(methodsWhere('offersKey'), ['SayHello']);
    assert.deepEqual(methodsWhere('meansNoReply'), ['REQNone']);
    for (const name of methodsWhere('errorReport')) assert.equal(methodCatalog.get(name)?.acceptedBy, AcceptedBy.ErrorLogger);
    for (const name of methodsWhere('liveness')) assert.equal(methodCatalog.get(name)?.acceptedBy, AcceptedBy.Central);
  });
});
