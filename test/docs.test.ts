/**
 * The documentation site: `scripts/docs.mjs` turns docs/**\/*.md, MANUAL.md, README.md,
 * CONTRIBUTING.md and BENCHMARKS.md into plain HTML pages. These tests build it into a
 * temporary folder and read the HTML the way a browser would: every relative link and
 * every `#anchor` must land on a page and an id that exist, nothing is loaded from the
 * network, and MANUAL.md (the entry) links every page and every heading.
 */
import { strict as assert } from 'node:assert';
import { execFile } from 'node:child_process';
import { cpSync, existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, posix, relative, sep } from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import { makeTempDir, removeTempDirs, repoRoot } from './helpers/index.js';

const run = promisify(execFile);

/** Runs the docs script of the checkout at `root`; resolves with its exit code and output. */
async function docs(root: string, ...args: string[]): Promise<{ code: number; out: string }> {
  try {
    const r = await run(process.execPath, [join(root, 'scripts', 'docs.mjs'), ...args], { cwd: root });
    return { code: 0, out: r.stdout + r.stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : -1, out: `${e.stdout ?? ''}${e.stderr ?? ''}` };
  }
}

/** Every file under `dir`, as posix paths relative to it. */
function filesUnder(dir: string): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (e.isFile()) out.push(relative(dir, join(e.parentPath, e.name)).split(sep).join('/'));
  }
  return out.sort();
}

const decode = (s: string): string =>
  s
    .replace(/&quot;/g, '"')
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&amp;/g, '&');

/** One HTML page as the checker sees it. */
interface Page {
  ids: Set<string>;
  /** `href` of `<a>` and `<link>`, `src` of `<img>` and `<script>`, in order. */
  refs: { tag: string; attr: string; value: string }[];
  html: string;
}

function readPage(file: string): Page {
  const html = readFileSync(file, 'utf8');
  const ids = new Set([...html.matchAll(/\sid="([^"]*)"/g)].map((m) => decode(m[1]!)));
  const refs = [...html.matchAll(/<(a|link|img|script)\s[^>]*?\b(href|src)="([^"]*)"/g)].map((m) => ({
    tag: m[1]!,
    attr: m[2]!,
    value: decode(m[3]!),
  }));
  return { ids, refs, html };
}

/**
 * Every problem with the links of the site in `out`: a relative link to a file that is not
 * there, an `#anchor` that names no id of its page, a resource fetched from the network.
 */
function brokenLinks(out: string): string[] {
  const problems: string[] = [];
  const pages = new Map<string, Page>();
  const pageOf = (p: string): Page => {
    let page = pages.get(p);
    if (!page) pages.set(p, (page = readPage(join(out, p))));
    return page;
  };
  for (const p of filesUnder(out).filter((f) => f.endsWith('.html'))) {
    for (const ref of pageOf(p).refs) {
      const { value } = ref;
      if (/^[a-z][a-z0-9+.-]*:/i.test(value)) {
        // leaving the site by a link is fine; loading anything from the network is not
        if (ref.tag !== 'a') problems.push(`${p}: <${ref.tag} ${ref.attr}="${value}"> loads from the network`);
        continue;
      }
      const [path = '', anchor] = value.split('#');
      const target = path === '' ? p : posix.normalize(posix.join(posix.dirname(p), path));
      if (target.startsWith('..') || !existsSync(join(out, target))) {
        problems.push(`${p}: ${value}: ${target} is not in the site`);
        continue;
      }
      if (anchor !== undefined && anchor !== '') {
        if (!target.endsWith('.html')) problems.push(`${p}: ${value}: an anchor into a file that is not a page`);
        else if (!pageOf(target).ids.has(decodeURIComponent(anchor))) problems.push(`${p}: ${value}: no id "${anchor}" in ${target}`);
      }
    }
    if (/<script\b/i.test(pageOf(p).html)) problems.push(`${p}: has a <script>`);
  }
  const css = filesUnder(out).filter((f) => f.endsWith('.css'));
  for (const f of css) {
    if (/@import|url\(\s*['"]?(https?:)?\/\//i.test(readFileSync(join(out, f), 'utf8'))) problems.push(`${f}: loads from the network`);
  }
  return problems;
}

describe('the documentation site', () => {
  let out: string;

  before(async () => {
    out = await makeTempDir('steward-docs-');
    const r = await docs(repoRoot, '--out', out);
    assert.equal(r.code, 0, `npm run docs failed:\n${r.out}`);
  });

  after(async () => {
    await removeTempDirs();
  });

  it('renders every page of docs/ and the top-level manual files, with one shared stylesheet', () => {
    const sources = filesUnder(join(repoRoot, 'docs')).filter((f) => f.endsWith('.md'));
    assert.ok(sources.length >= 20, `only ${sources.length} pages under docs/`);
    const html = new Set(filesUnder(out));
    for (const s of [...sources.map((f) => `docs/${f}`), 'MANUAL.md', 'README.md', 'CONTRIBUTING.md', 'BENCHMARKS.md']) {
      assert.ok(html.has(s.replace(/\.md$/, '.html')), `${s} was not rendered`);
    }
    assert.ok(html.has('index.html'), 'no index.html');
    const sheets = [...html].filter((f) => f.endsWith('.css'));
    assert.deepEqual(sheets, ['style.css']);
    for (const f of [...html].filter((x) => x.endsWith('.html'))) {
      const stylesheet = readPage(join(out, f)).refs.filter((r) => r.tag === 'link');
      assert.equal(stylesheet.length, 1, `${f}: ${stylesheet.length} stylesheets`);
      assert.equal(posix.normalize(posix.join(posix.dirname(f), stylesheet[0]!.value)), 'style.css', `${f}: another stylesheet`);
    }
  });

  it('has no broken link: every relative link and #anchor resolves, nothing is loaded from the network', () => {
    assert.deepEqual(brokenLinks(out), []);
  });

  it('README.md and MANUAL.md link into docs/, and every one of those links lands on a page and a heading that exist', () => {
    for (const entry of ['README.md', 'MANUAL.md']) {
      const md = readFileSync(join(repoRoot, entry), 'utf8');
      const links = [...md.matchAll(/\]\((docs\/[^)#\s]+)(?:#([^)\s]+))?\)/g)];
      assert.ok(links.length >= 10, `${entry} has only ${links.length} links into docs/`);
      for (const [, path, anchor] of links) {
        assert.ok(existsSync(join(repoRoot, path!)), `${entry}: ${path} does not exist`);
        if (anchor)
          assert.ok(readPage(join(out, path!.replace(/\.md$/, '.html'))).ids.has(anchor), `${entry}: ${path}#${anchor}: no such heading`);
      }
    }
  });

  it("MANUAL.md's index links every page and every heading of docs/", async () => {
    const manual = readPage(join(out, 'MANUAL.html'));
    const linked = new Set(manual.refs.filter((r) => r.tag === 'a').map((r) => r.value));
    const missing: string[] = [];
    for (const f of filesUnder(join(out, 'docs')).filter((x) => x.endsWith('.html'))) {
      const page = `docs/${f}`;
      if (!linked.has(page)) missing.push(page);
      const { html } = readPage(join(out, page));
      for (const m of html.matchAll(/<h([2-6]) id="([^"]*)"/g)) {
        if (!linked.has(`${page}#${decode(m[2]!)}`)) missing.push(`${page}#${decode(m[2]!)}`);
      }
    }
    assert.deepEqual(missing, [], 'headings missing from the index: run `npm run docs -- --index`');
    const check = await docs(repoRoot, '--check-index');
    assert.equal(check.code, 0, check.out);
  });

  it('catches a broken link: a missing page fails the build, a missing #anchor is reported by the checker', async () => {
    // a copy of the docs sources, so the checkout is never touched
    const root = await makeTempDir('steward-docs-broken-');
    for (const f of ['scripts/docs.mjs', 'MANUAL.md', 'README.md', 'CONTRIBUTING.md', 'BENCHMARKS.md', 'docs']) {
      cpSync(join(repoRoot, f), join(root, f), { recursive: true });
    }
    const page = join(root, 'docs/guide/quickstart.md');
    const text = readFileSync(page, 'utf8');
    writeFileSync(page, `${text}\nSee [the journal](../reference/nowhere.md).\n`);
    const missingPage = await docs(root, '--out', join(root, 'site'));
    assert.equal(missingPage.code, 1, missingPage.out);
    assert.match(missingPage.out, /broken links:[\s\S]*docs\/guide\/quickstart\.md: link \.\.\/reference\/nowhere\.md/);

    writeFileSync(page, `${text}\nSee [the journal](../reference/files.md#no-such-heading).\n`);
    const built = await docs(root, '--out', join(root, 'site'));
    assert.equal(built.code, 0, built.out);
    assert.deepEqual(brokenLinks(join(root, 'site')), [
      'docs/guide/quickstart.html: ../reference/files.html#no-such-heading: no id "no-such-heading" in docs/reference/files.html',
    ]);

    // a new heading not yet in the index
    writeFileSync(page, `${text}\n## A new heading\n`);
    const stale = await docs(root, '--check-index');
    assert.equal(stale.code, 1, stale.out);
    assert.ok(existsSync(dirname(page)));
  });
});
