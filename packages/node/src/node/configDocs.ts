/**
 * The option tables of docs/reference/cli.md, written from the configuration
 * schema: `npm run docs:flags` rewrites them, and a test fails when the
 * committed page differs. Each generated block sits between
 * `<!-- <name>:begin -->` and `<!-- <name>:end -->`.
 */
import { crossRules, startFlags, type OptionSection, type StartFlag } from './configSchema.js';
import { FlagDocMarkerError } from '../errors.js';
import { shown } from './configChecks.js';

/** The generated blocks of the CLI reference, by marker name. */
export const flagDocBlocks = {
  'flag-table': () => flagTable('node'),
  'flag-table-broker': () => flagTable('broker'),
  'flag-rules': () => crossRules.map((r) => `- ${r.rule}`).join('\n'),
} as const;

const cell = (s: string) => s.replace(/\|/g, '\\|');

function defaultCell({ spec }: StartFlag): string {
  if (spec.required) return '*(required)*';
  if (spec.defaultDoc !== undefined) return spec.defaultDoc;
  if (spec.defaultText !== undefined) return spec.defaultText;
  const d = spec.default;
  if (d === '' || (Array.isArray(d) && d.length === 0)) return 'none';
  return `\`${typeof d === 'string' ? d : shown(d)}\``;
}

function meaningCell({ spec }: StartFlag): string {
  const rules = (spec.checks ?? []).map((c) => c.rule).filter((r) => r !== undefined);
  return rules.length ? `${spec.doc} Must be ${rules.join(', and ')}.` : spec.doc;
}

/** The markdown table of one section's options: flag, kebab case, environment, default, meaning. */
export function flagTable(section: OptionSection): string {
  const rows = startFlags()
    .filter((f) => f.spec.section === section)
    .map((f) => {
      const flag = `\`--${f.flag}\`${(f.spec.aliases ?? []).map((a) => ` (alias \`--${a}\`)`).join('')}`;
      const env = f.env.map((e) => `\`${e}\``).join(', ');
      return `| ${[flag, `\`--${f.kebab}\``, env, defaultCell(f), meaningCell(f)].map(cell).join(' | ')} |`;
    });
  return ['| Flag | Kebab case | Environment | Default | Meaning |', '|---|---|---|---|---|', ...rows].join('\n');
}

/**
 * `markdown` with every generated block rewritten from the schema.
 *
 * @throws {@link FlagDocMarkerError} when a block's markers are missing.
 */
export function withFlagDocs(markdown: string): string {
  let out = markdown;
  for (const [name, render] of Object.entries(flagDocBlocks)) {
    const begin = `<!-- ${name}:begin`;
    const end = `<!-- ${name}:end -->`;
    const i = out.indexOf(begin);
    const j = out.indexOf(end, i);
    if (i < 0 || j < 0) throw new FlagDocMarkerError(name);
    // The begin marker keeps its comment (it says where the block comes from).
    const beginLine = out.slice(i, out.indexOf('-->', i) + 3);
    out = `${out.slice(0, i)}${beginLine}\n\n${render()}\n\n${out.slice(j)}`;
  }
  return out;
}
