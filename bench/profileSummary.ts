/**
 * `node bench/dist/bench/profileSummary.js <file.cpuprofile>... [--top N]`: the
 * top frames of V8 CPU profiles (from `--cpu-prof`, e.g. `npm run bench --
 * --profile`) by self time, by inclusive time, and self time by package, so a
 * profile can be read without a browser.
 */
import { readFileSync } from 'node:fs';

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
}
interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}
interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

/** Which package or part a frame belongs to. */
function packageOf(url: string, name: string): string {
  if (!url) return name.startsWith('(') ? name : '(native)';
  if (url.startsWith('node:')) return 'node:' + url.slice(5).split('/')[0];
  const nm = url.lastIndexOf('node_modules/');
  if (nm >= 0) {
    const rest = url.slice(nm + 'node_modules/'.length).split('/');
    return rest[0]!.startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0]!;
  }
  const pkg = /packages\/(\w+)\/dist\/(.*)$/.exec(url);
  if (pkg) return `@steward/${pkg[1]} ${pkg[2]}`;
  if (url.includes('/bench/')) return 'bench';
  return url.replace(/^file:\/\//, '');
}

function frameName(f: CallFrame): string {
  const file = f.url ? f.url.replace(/^file:\/\/.*?(node_modules\/|packages\/)/, '$1').replace(/^node:/, 'node:') : '';
  return `${f.functionName || '(anonymous)'} ${file ? `${file}:${f.lineNumber + 1}` : ''}`.trim();
}

/** Summarises one profile as text. */
export function summarise(profile: CpuProfile, top = 25): string {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const selfUs = new Map<number, number>();
  profile.samples.forEach((id, i) => selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0)));
  const totalUs = profile.endTime - profile.startTime;
  let idleUs = 0;
  const selfByFrame = new Map<string, number>();
  const inclByFrame = new Map<string, number>();
  const byPackage = new Map<string, number>();
  for (const [id, us] of selfUs) {
    const node = byId.get(id)!;
    const name = frameName(node.callFrame);
    if (node.callFrame.functionName === '(idle)') {
      idleUs += us;
      continue;
    }
    selfByFrame.set(name, (selfByFrame.get(name) ?? 0) + us);
    const pkg = packageOf(node.callFrame.url, node.callFrame.functionName);
    byPackage.set(pkg, (byPackage.get(pkg) ?? 0) + us);
    // Inclusive: count each distinct frame once per sample stack.
    const seen = new Set<string>();
    for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
      const n = frameName(byId.get(cur)!.callFrame);
      if (seen.has(n)) continue;
      seen.add(n);
      inclByFrame.set(n, (inclByFrame.get(n) ?? 0) + us);
    }
  }
  const busyUs = totalUs - idleUs;
  const pct = (us: number) => `${((us / busyUs) * 100).toFixed(1).padStart(5)}%`;
  const list = (m: Map<string, number>, n: number) =>
    [...m]
      .sort((a, b) => b[1] - a[1])
      .slice(0, n)
      .map(([k, us]) => `  ${pct(us)} ${(us / 1000).toFixed(0).padStart(7)} ms  ${k}`)
      .join('\n');
  return [
    `profile: ${(totalUs / 1e6).toFixed(1)} s, busy ${(busyUs / 1e6).toFixed(1)} s (${((busyUs / totalUs) * 100).toFixed(0)}%); percentages are of busy time`,
    `self time by package:\n${list(byPackage, 15)}`,
    `self time by function:\n${list(selfByFrame, top)}`,
    `inclusive time by function:\n${list(
      new Map([...inclByFrame].filter(([k]) => !k.startsWith('(root)') && !k.startsWith('(program)'))),
      top,
    )}`,
  ].join('\n\n');
}

const args = process.argv.slice(2);
const topIndex = args.indexOf('--top');
const top = topIndex >= 0 ? Number(args.splice(topIndex, 2)[1]) : 25;
if (args.length === 0) {
  console.error('usage: node bench/dist/bench/profileSummary.js <file.cpuprofile>... [--top N]');
  process.exit(2);
}
for (const file of args) {
  console.log(`== ${file}`);
  console.log(summarise(JSON.parse(readFileSync(file, 'utf8')) as CpuProfile, top));
  console.log();
}
