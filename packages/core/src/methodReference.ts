/**
 * The method table of the manual (docs/reference/methods.md), rendered from
 * the rows of the method table, so the two never differ: `npm run
 * docs:methods` rewrites it, and a test fails when the committed page is
 * stale. @internal
 */
import { StewardError } from './errors.js';
import { AcceptedBy, DataShape, methodRows, type MethodInfo } from './methodCatalog.js';

/** The comment lines around the generated table in the page. */
export const methodTableMarkers = {
  begin: '<!-- method-table:begin (generated from packages/core/src/methodCatalog.ts by `npm run docs:methods`; do not edit by hand) -->',
  end: '<!-- method-table:end -->',
} as const;

const code = (name: string) => `\`${name}\``;

const acceptedByText: Record<AcceptedBy, string> = {
  [AcceptedBy.Central]: 'central',
  [AcceptedBy.ErrorLogger]: 'the error logger',
};

function row(m: MethodInfo): string {
  const cells = [
    code(m.name),
    code(m.defaultKind),
    m.ordered ? 'yes' : '**no**',
    m.dataDoc ?? (m.data === DataShape.Argv ? 'argv' : 'text'),
    m.replyMethod !== undefined ? code(m.replyMethod) : '—',
    m.acceptedBy !== undefined ? acceptedByText[m.acceptedBy] : 'every node',
    m.summary,
    m.sameAs !== undefined ? code(m.sameAs) : '—',
  ];
  // A `|` inside a cell would split it.
  return `| ${cells.map((c) => c.replace(/\|/g, '\\|')).join(' | ')} |`;
}

/** The markdown table of every method, one row each, in the order of the rows. */
export function methodTableMarkdown(rows: readonly MethodInfo[] = methodRows): string {
  const head = [
    '| Method | Default kind | Ordered | `data` / `methodArgs` | Default reply | Accepted by | What it does | Same as |',
    '|---|---|---|---|---|---|---|---|',
  ];
  return [...head, ...rows.map(row)].join('\n');
}

/**
 * `page` with the text between its method-table markers replaced by `table`.
 * @throws {@link StewardError} when the page lacks a marker (the table would have nowhere to go).
 */
export function withMethodTable(page: string, table: string = methodTableMarkdown()): string {
  const begin = page.search(/<!-- method-table:begin[^\n]*-->/);
  const end = page.indexOf(methodTableMarkers.end);
  if (begin < 0 || end < begin) throw new StewardError(`the page has no ${methodTableMarkers.begin} … ${methodTableMarkers.end} section`);
  return `${page.slice(0, begin)}${methodTableMarkers.begin}\n\n${table}\n\n${page.slice(end)}`;
}
