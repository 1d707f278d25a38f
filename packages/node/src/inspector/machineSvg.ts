/**
 * Draws a {@link MachineGraph} as SVG, top to bottom: states in rows by
 * their longest distance from the initial state, arrows between them. The
 * page highlights the current state by toggling the `current` class on the
 * `<g class="state" data-state="...">` of that state, so one drawing serves
 * every actor of a machine.
 *
 * The layout is deliberately simple (machines here have a handful of
 * states): arrows to the next row go straight down; arrows that skip rows go
 * around the left side; arrows back up go around the right side.
 */
import type { GraphEdge, GraphState, MachineGraph } from './machineGraph.js';

/** Placement of one state box. */
interface Box {
  state: GraphState;
  rank: number;
  x: number;
  y: number;
  w: number;
  h: number;
}

const charW = 6.6;
const labelCharW = 5.9;
const rowGap = 78;
const colGap = 36;
const lineH = 13;
const maxInternalLines = 7;

/** Escapes text for SVG content and attributes. */
export function escapeXml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

/** Rows by longest path from the initial state, ignoring arrows that go back (found by depth-first search). */
function ranks(graph: MachineGraph): Map<string, number> {
  const out = new Map<string, string[]>();
  for (const e of graph.edges) if (e.from !== e.to) out.set(e.from, [...(out.get(e.from) ?? []), e.to]);
  const back = new Set<string>();
  const onStack = new Set<string>();
  const done = new Set<string>();
  const visit = (s: string) => {
    onStack.add(s);
    for (const t of out.get(s) ?? []) {
      if (onStack.has(t)) back.add(`${s}\0${t}`);
      else if (!done.has(t)) visit(t);
    }
    onStack.delete(s);
    done.add(s);
  };
  visit(graph.initial);
  for (const s of graph.states) if (!done.has(s.key)) visit(s.key);
  const rank = new Map<string, number>(graph.states.map((s) => [s.key, 0]));
  // Longest path by relaxation; the forward graph is acyclic, so |states| rounds suffice.
  for (let i = 0; i < graph.states.length; i++) {
    for (const e of graph.edges) {
      if (e.from === e.to || back.has(`${e.from}\0${e.to}`)) continue;
      const r = (rank.get(e.from) ?? 0) + 1;
      if (r > (rank.get(e.to) ?? 0)) rank.set(e.to, r);
    }
  }
  // Pull a state down to just above its nearest successor, so outcomes share a row.
  for (const st of graph.states) {
    const succ = graph.edges
      .filter((e) => e.from === st.key && e.to !== st.key && !back.has(`${e.from}\0${e.to}`))
      .map((e) => rank.get(e.to) ?? 0);
    if (succ.length && st.key !== graph.initial) rank.set(st.key, Math.max(rank.get(st.key) ?? 0, Math.min(...succ) - 1));
  }
  return rank;
}

function boxSize(s: GraphState): { w: number; h: number } {
  const lines = internalLines(s);
  const longest = Math.max(s.key.length * (charW + 1.2), ...lines.map((l) => l.length * labelCharW));
  return { w: Math.max(112, Math.ceil(longest + 28)), h: 38 + (lines.length ? lines.length * lineH + 6 : 0) };
}

function internalLines(s: GraphState): string[] {
  const lines: string[] = [];
  if (s.substates.length) lines.push(`(${s.substates.join(' → ')})`);
  if (s.invokes.length) lines.push(`invokes ${[...new Set(s.invokes)].join(', ')}`);
  const internal = s.internal.slice(0, maxInternalLines - lines.length);
  lines.push(...internal.map((e) => `on ${e}`));
  if (s.internal.length > internal.length) lines.push(`… ${s.internal.length - internal.length} more`);
  return lines;
}

function layout(graph: MachineGraph): Box[] {
  const rank = ranks(graph);
  const rows: Box[][] = [];
  for (const state of graph.states) {
    const r = rank.get(state.key) ?? 0;
    const { w, h } = boxSize(state);
    (rows[r] ??= []).push({ state, rank: r, x: 0, y: 0, w, h });
  }
  // Order each row by where its predecessors stand, so arrows cross less.
  const order = new Map<string, number>();
  rows.forEach((row) => row.forEach((b, i) => order.set(b.state.key, i)));
  for (let r = 1; r < rows.length; r++) {
    const row = rows[r] ?? [];
    const weight = (b: Box) => {
      const preds = graph.edges.filter((e) => e.to === b.state.key && (rank.get(e.from) ?? 0) < r).map((e) => order.get(e.from) ?? 0);
      return preds.length ? preds.reduce((a, c) => a + c, 0) / preds.length : (order.get(b.state.key) ?? 0);
    };
    row.sort((a, b) => weight(a) - weight(b));
    row.forEach((b, i) => order.set(b.state.key, i));
  }
  const widths = rows.map((row) => (row ?? []).reduce((a, b) => a + b.w, 0) + colGap * Math.max((row ?? []).length - 1, 0));
  const maxW = Math.max(...widths, 0);
  let y = 0;
  rows.forEach((row, r) => {
    if (!row) return;
    let x = (maxW - widths[r]!) / 2;
    const h = Math.max(...row.map((b) => b.h));
    for (const b of row) {
      b.x = x;
      b.y = y + (h - b.h) / 2;
      x += b.w + colGap;
    }
    y += h + rowGap;
  });
  return rows.flat().filter(Boolean);
}

interface Routed {
  edge: GraphEdge;
  d: string;
  /** Label lines and where the first one goes. */
  lines: string[];
  lx: number;
  ly: number;
  anchor: 'start' | 'middle' | 'end';
}

type Point = [number, number];

/** A point of the cubic Bézier p0..p3 at t. */
function bezier(p: [Point, Point, Point, Point], t: number): Point {
  const u = 1 - t;
  const w = [u * u * u, 3 * u * u * t, 3 * u * t * t, t * t * t] as const;
  return [0, 1].map((k) => p.reduce((acc, pt, i) => acc + pt[k]! * w[i]!, 0)) as Point;
}

function cubic(p: [Point, Point, Point, Point]): string {
  const f = (q: Point) => `${q[0].toFixed(1)},${q[1].toFixed(1)}`;
  return `M${f(p[0])} C${f(p[1])} ${f(p[2])} ${f(p[3])}`;
}

/**
 * The lines of an arrow's label: transitions sharing a first word are
 * merged (`reply done / error`), and long lines are wrapped.
 */
export function labelLines(labels: string[]): string[] {
  const merged: string[] = [];
  for (const l of labels) {
    const [head, ...rest] = l.split(' ');
    const prev = merged.findIndex((m) => m.split(' ')[0] === head && rest.length > 0);
    if (prev >= 0) merged[prev] = `${merged[prev]} / ${rest.join(' ')}`;
    else merged.push(l);
  }
  const lines: string[] = [];
  for (const m of merged) {
    let line = '';
    for (const word of m.split(' ')) {
      if (line && (line + ' ' + word).length > 24) {
        lines.push(line);
        line = word;
      } else line = line ? `${line} ${word}` : word;
    }
    if (line) lines.push(line);
  }
  return lines;
}

function route(edges: GraphEdge[], boxes: Map<string, Box>, all: Box[]): Routed[] {
  const minX = Math.min(...all.map((b) => b.x));
  const maxX = Math.max(...all.map((b) => b.x + b.w));
  const center = (minX + maxX) / 2;
  const routed: Routed[] = [];
  const downs = new Map<string, GraphEdge[]>();
  const ups = new Map<string, GraphEdge[]>();
  const side: { edge: GraphEdge; right: boolean; top: number; bottom: number }[] = [];
  for (const e of edges) {
    const a = boxes.get(e.from)!;
    const b = boxes.get(e.to)!;
    if (b.rank === a.rank + 1) {
      downs.set(e.from, [...(downs.get(e.from) ?? []), e]);
      ups.set(e.to, [...(ups.get(e.to) ?? []), e]);
    } else if (b.rank !== a.rank) {
      // Arrows back up go around the right; arrows that skip rows around the side their ends are nearer.
      const right = b.rank <= a.rank || (a.x + a.w / 2 + b.x + b.w / 2) / 2 > center + 1;
      side.push({ edge: e, right, top: Math.min(a.y, b.y), bottom: Math.max(a.y + a.h, b.y + b.h) });
    }
  }
  for (const list of downs.values()) list.sort((p, q) => boxes.get(p.to)!.x - boxes.get(q.to)!.x);
  for (const list of ups.values()) list.sort((p, q) => boxes.get(p.from)!.x - boxes.get(q.from)!.x);

  // Lanes: an arrow spanning others runs outside them.
  side.sort((p, q) => p.bottom - p.top - (q.bottom - q.top));
  const lane = new Map<GraphEdge, number>();
  side.forEach((s, i) => {
    const overlapping = side.slice(0, i).filter((o) => o.right === s.right && o.top < s.bottom && s.top < o.bottom);
    lane.set(s.edge, Math.max(0, ...overlapping.map((o) => lane.get(o.edge)!)) + 1);
  });
  // Where side arrows attach: spread along the box side, in lane order.
  const attach = new Map<string, GraphEdge[]>();
  for (const s of side) {
    for (const end of [s.edge.from, s.edge.to]) {
      const k = `${end}\0${s.right ? 'r' : 'l'}`;
      attach.set(k, [...(attach.get(k) ?? []), s.edge]);
    }
  }
  const attachY = (box: Box, edge: GraphEdge, right: boolean, outgoing: boolean): number => {
    const list = attach.get(`${box.state.key}\0${right ? 'r' : 'l'}`) ?? [edge];
    const slots = list.length * 2;
    const i = list.indexOf(edge) * 2 + (outgoing ? 1 : 0);
    return box.y + (box.h * (i + 1)) / (slots + 1);
  };

  for (const e of edges) {
    const a = boxes.get(e.from)!;
    const b = boxes.get(e.to)!;
    const lines = labelLines(e.labels);
    if (b.rank === a.rank + 1) {
      const out = downs.get(e.from)!;
      const inc = ups.get(e.to)!;
      const sx = a.x + (a.w * (out.indexOf(e) + 1)) / (out.length + 1);
      const tx = b.x + (b.w * (inc.indexOf(e) + 1)) / (inc.length + 1);
      const sy = a.y + a.h;
      const ty = b.y;
      const my = (sy + ty) / 2;
      const p: [Point, Point, Point, Point] = [
        [sx, sy],
        [sx, my],
        [tx, my],
        [tx, ty],
      ];
      // Fanning out, labels sit near their targets; fanning in, near their sources.
      const t = out.length > 1 ? 0.62 : inc.length > 1 ? 0.3 : 0.5;
      const [lx, ly] = bezier(p, t);
      routed.push({ edge: e, d: cubic(p), lines, lx, ly: ly - ((lines.length - 1) * lineH) / 2 + 4, anchor: 'middle' });
    } else if (b.rank === a.rank && a !== b) {
      const leftToRight = a.x < b.x;
      const sx = leftToRight ? a.x + a.w : a.x;
      const tx = leftToRight ? b.x : b.x + b.w;
      const sy = a.y + a.h / 2;
      const ty = b.y + b.h / 2;
      const p: [Point, Point, Point, Point] = [
        [sx, sy],
        [(sx + tx) / 2, sy - 26],
        [(sx + tx) / 2, ty - 26],
        [tx, ty],
      ];
      const [lx, ly] = bezier(p, 0.5);
      routed.push({ edge: e, d: cubic(p), lines, lx, ly: ly - 6 - (lines.length - 1) * lineH, anchor: 'middle' });
    } else if (a === b) {
      // A transition back into the same state (re-entered, timers restarted): a small loop on its right side.
      const x = a.x + a.w;
      const y1 = a.y + a.h * 0.28;
      const y2 = a.y + a.h * 0.72;
      const p: [Point, Point, Point, Point] = [
        [x, y1],
        [x + 30, y1 - 14],
        [x + 30, y2 + 14],
        [x, y2],
      ];
      routed.push({ edge: e, d: cubic(p), lines, lx: x + 27, ly: a.y + a.h / 2 + 4 - ((lines.length - 1) * lineH) / 2, anchor: 'start' });
    } else {
      const right = side.find((s) => s.edge === e)!.right;
      const k = lane.get(e)!;
      const sx = right ? a.x + a.w : a.x;
      const tx = right ? b.x + b.w : b.x;
      const sy = attachY(a, e, right, true);
      const ty = attachY(b, e, right, false);
      const wx = right ? maxX + 8 + k * 40 : minX - 8 - k * 40;
      const p: [Point, Point, Point, Point] = [
        [sx, sy],
        [wx, sy],
        [wx, ty],
        [tx, ty],
      ];
      const [bx, by] = bezier(p, 0.5);
      routed.push({
        edge: e,
        d: cubic(p),
        lines,
        lx: bx + (right ? 5 : -5),
        ly: by + 4 - ((lines.length - 1) * lineH) / 2,
        anchor: right ? 'start' : 'end',
      });
    }
  }
  return routed;
}

/** Renders `graph` as a standalone SVG document fragment (no scripts, no external references). */
export function renderMachineSvg(graph: MachineGraph): string {
  const boxes = layout(graph);
  const byKey = new Map(boxes.map((b) => [b.state.key, b]));
  const edges = graph.edges.filter((e) => byKey.has(e.from) && byKey.has(e.to));
  const routed = route(edges, byKey, boxes);

  // Bounds: boxes, arrow bulges and labels.
  let x0 = Math.min(...boxes.map((b) => b.x));
  let x1 = Math.max(...boxes.map((b) => b.x + b.w));
  let y0 = -34;
  let y1 = Math.max(...boxes.map((b) => b.y + b.h));
  for (const r of routed) {
    const w = Math.max(...r.lines.map((l) => l.length)) * labelCharW;
    const lx0 = r.anchor === 'start' ? r.lx : r.anchor === 'end' ? r.lx - w : r.lx - w / 2;
    const nums = r.d.match(/-?\d+(\.\d+)?/g)!.map(Number);
    const xs = nums.filter((_, i) => i % 2 === 0);
    const ys = nums.filter((_, i) => i % 2 === 1);
    x0 = Math.min(x0, lx0, ...xs);
    x1 = Math.max(x1, lx0 + w, ...xs);
    y0 = Math.min(y0, r.ly - 12, ...ys);
    y1 = Math.max(y1, r.ly + 4 + (r.lines.length - 1) * lineH, ...ys);
  }
  const pad = 10;
  const vb = [x0 - pad, y0 - pad, x1 - x0 + 2 * pad, y1 - y0 + 2 * pad].map((n) => Math.round(n));

  const parts: string[] = [];
  const id = escapeXml(graph.id);
  parts.push(
    `<svg xmlns="http://www.w3.org/2000/svg" class="machine" data-machine="${id}" viewBox="${vb.join(' ')}" width="${vb[2]}" height="${vb[3]}" role="img" aria-label="state machine ${id}">`,
    `<defs><marker id="arrow-${id}" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" class="arrowhead"/></marker></defs>`,
  );
  const initial = byKey.get(graph.initial);
  if (initial) {
    const cx = initial.x + initial.w / 2;
    parts.push(`<circle class="initial" cx="${cx}" cy="${initial.y - 26}" r="4"/>`);
    parts.push(`<path class="edge" d="M${cx},${initial.y - 22} L${cx},${initial.y}" marker-end="url(#arrow-${id})"/>`);
  }
  for (const r of routed) {
    const from = escapeXml(r.edge.from);
    const to = escapeXml(r.edge.to);
    parts.push(
      `<g class="transition" data-from="${from}" data-to="${to}"><path class="edge" d="${r.d}" marker-end="url(#arrow-${id})"/>` +
        `<text class="edge-label" x="${r.lx.toFixed(1)}" y="${r.ly.toFixed(1)}" text-anchor="${r.anchor}">` +
        r.lines.map((l, i) => `<tspan x="${r.lx.toFixed(1)}" dy="${i === 0 ? 0 : lineH}">${escapeXml(l)}</tspan>`).join('') +
        '</text></g>',
    );
  }
  for (const b of boxes) {
    const s = b.state;
    const key = escapeXml(s.key);
    const lines = internalLines(s);
    parts.push(`<g class="state${s.final ? ' final' : ''}" data-state="${key}">`);
    parts.push(`<rect class="box" x="${b.x}" y="${b.y}" width="${b.w}" height="${b.h}" rx="9"/>`);
    if (s.final) parts.push(`<rect class="box-inner" x="${b.x + 3}" y="${b.y + 3}" width="${b.w - 6}" height="${b.h - 6}" rx="7"/>`);
    parts.push(`<text class="state-name" x="${b.x + b.w / 2}" y="${b.y + 24}" text-anchor="middle">${key}</text>`);
    lines.forEach((line, i) => {
      parts.push(
        `<text class="state-note" x="${b.x + b.w / 2}" y="${b.y + 40 + i * lineH}" text-anchor="middle">${escapeXml(line)}</text>`,
      );
    });
    parts.push('</g>');
  }
  parts.push('</svg>');
  return parts.join('');
}
