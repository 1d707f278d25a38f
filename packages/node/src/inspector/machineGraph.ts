/**
 * Reads an XState machine definition into a small graph the inspector can
 * draw: the machine's top-level states (compound states keep their
 * sub-states as a list) and the transitions between them, labelled with
 * what triggers them (`SEND`, `after ackTimeout`, `publish done [wantsAck]`).
 *
 * Only the top level is drawn because that is what the runtime reports as an
 * actor's state; a transition out of a sub-state is drawn from its parent.
 */
import type { AnyStateMachine } from 'xstate';

/** One top-level state. */
export interface GraphState {
  key: string;
  /** A final state: the actor's life ends there. */
  final: boolean;
  /** Sub-states of a compound state, in definition order. */
  substates: string[];
  /** Events handled without leaving the state (no target), e.g. `NO_RESPONDERS`. */
  internal: string[];
  /** Actors invoked while in the state (their `src`), e.g. `publish`. */
  invokes: string[];
}

/** One arrow between two top-level states; several transitions may share it. */
export interface GraphEdge {
  from: string;
  to: string;
  /** What triggers each transition of the arrow. */
  labels: string[];
}

/** A machine as the inspector draws it. */
export interface MachineGraph {
  id: string;
  initial: string;
  states: GraphState[];
  edges: GraphEdge[];
}

/** The parts of XState's state node the graph reads (its runtime shape, stable across v5). */
interface NodeLike {
  key: string;
  id: string;
  type: string;
  parent?: NodeLike;
  states: Record<string, NodeLike>;
  initial?: { target?: NodeLike[] };
  transitions: Map<string, TransitionLike[]>;
  always?: TransitionLike[];
  invoke: { id: string; src: unknown }[];
}

interface TransitionLike {
  eventType: string;
  target?: readonly NodeLike[];
  guard?: unknown;
}

function guardText(guard: unknown): string | undefined {
  if (guard === undefined) return undefined;
  if (typeof guard === 'string') return guard;
  if (typeof guard === 'object' && guard !== null && typeof (guard as { type?: unknown }).type === 'string')
    return (guard as { type: string }).type;
  return 'guard';
}

/** The invoked actor's name for an invoke id, searching the node and its ancestors. */
function invokeSrc(node: NodeLike | undefined, invokeId: string): string {
  for (let n = node; n; n = n.parent) {
    const inv = n.invoke.find((i) => i.id === invokeId);
    if (inv) return typeof inv.src === 'string' ? inv.src : 'actor';
  }
  return 'actor';
}

/** A readable name for an event type. */
export function eventLabel(eventType: string, source?: NodeLike): string {
  if (eventType === '') return 'always';
  const after = /^xstate\.after\.([^.]+)\./.exec(eventType);
  if (after) return `after ${after[1]}`;
  const actor = /^xstate\.(done|error)\.actor\.(.+)$/.exec(eventType);
  if (actor) {
    const what = actor[1] === 'done' ? 'done' : 'error';
    return actor[2] === '*' ? `child ${what}` : `${invokeSrc(source, actor[2]!)} ${what}`;
  }
  return eventType;
}

/** The top-level state containing `node` (the node itself when it is one). */
function topOf(node: NodeLike, root: NodeLike): NodeLike | undefined {
  let n: NodeLike | undefined = node;
  while (n && n.parent !== root) n = n.parent;
  return n;
}

function descendants(node: NodeLike): NodeLike[] {
  const out: NodeLike[] = [node];
  for (const c of Object.values(node.states)) out.push(...descendants(c));
  return out;
}

/** Reads `machine` into a {@link MachineGraph}. */
export function machineGraph(machine: AnyStateMachine): MachineGraph {
  const root = machine.root as unknown as NodeLike;
  const edges = new Map<string, GraphEdge>();
  const states: GraphState[] = [];
  for (const top of Object.values(root.states)) {
    const state: GraphState = {
      key: top.key,
      final: top.type === 'final',
      substates: Object.keys(top.states),
      internal: [],
      invokes: [],
    };
    states.push(state);
    for (const node of descendants(top)) {
      for (const inv of node.invoke) state.invokes.push(typeof inv.src === 'string' ? inv.src : 'actor');
      const all: TransitionLike[] = [
        ...[...node.transitions.values()].flat(),
        ...(node.always ?? []).map((t) => ({ ...t, eventType: '' })),
      ];
      // An unguarded transition after guarded ones for the same event is their "else".
      const guardedEvents = new Set(all.filter((t) => t.guard !== undefined).map((t) => t.eventType));
      for (const t of all) {
        const base = eventLabel(t.eventType, node);
        const guard = guardText(t.guard);
        const label = guard ? `${base} [${guard}]` : guardedEvents.has(t.eventType) ? `${base} [else]` : base;
        const targets = t.target ?? [];
        if (targets.length === 0) {
          if (!state.internal.includes(base)) state.internal.push(base);
          continue;
        }
        for (const target of targets) {
          const to = topOf(target, root);
          // A move between sub-states of one compound state stays inside its box.
          if (!to || (to === top && target !== top)) continue;
          const key = `${top.key}\0${to.key}`;
          const edge = edges.get(key) ?? { from: top.key, to: to.key, labels: [] };
          if (!edge.labels.includes(label)) edge.labels.push(label);
          edges.set(key, edge);
        }
      }
    }
  }
  const initial = root.initial?.target?.[0];
  return {
    id: root.id,
    initial: initial ? (topOf(initial, root)?.key ?? initial.key) : (states[0]?.key ?? ''),
    states,
    edges: [...edges.values()],
  };
}
