// State diagrams generated from the XState definitions themselves (Mermaid
// stateDiagram-v2 and Graphviz DOT), so the docs cannot drift from the machines.
// Walks machine.root: nested states, `on` transitions, invoke onDone/onError,
// `always`, `after` and final states. Targetless transitions (actions only) change no
// state and are left out.
import type { AnyStateMachine } from 'xstate';
import { vethInterfaceMachine } from '../machines/veth-interface.js';
import { sriovInterfaceMachine } from '../machines/sriov-interface.js';
import { podSupervisorMachine } from '../machines/pod-supervisor.js';

/** The machines netlet runs, by the names the CLI and the debug socket use. */
export const MACHINES: Record<string, AnyStateMachine> = {
  veth: vethInterfaceMachine,
  sriov: sriovInterfaceMachine,
  pod: podSupervisorMachine,
};

export const machineNames = (): string[] => Object.keys(MACHINES);

/** The subset of XState's StateNode this module reads. */
interface Node {
  key: string;
  id: string;
  type: 'atomic' | 'compound' | 'parallel' | 'final' | 'history';
  path: string[];
  states: Record<string, Node>;
  parent?: Node;
  transitions: Map<string, Transition[]>;
  always?: Transition[];
  invoke: { id: string; src: unknown }[];
  initial?: { target: Node[] };
}

interface Transition {
  eventType: string | null;
  target?: Node[];
  guard?: unknown;
  delay?: unknown;
}

/** One state of the diagram. */
export interface GraphState {
  id: string;
  key: string;
  /** Ids from the root, e.g. ["capturing", "running"]. */
  path: string[];
  parent: string | undefined;
  kind: 'atomic' | 'compound' | 'parallel' | 'final' | 'history';
  /** Child id entered first (compound states). */
  initial?: string;
  /** Actors invoked while in the state. */
  invokes: string[];
}

/** One edge: `source` and `target` are GraphState ids (source "" = the machine itself). */
export interface GraphEdge {
  source: string;
  target: string;
  label: string;
}

export interface MachineGraph {
  name: string;
  machineId: string;
  initial: string;
  states: GraphState[];
  edges: GraphEdge[];
}

const srcName = (src: unknown): string => (typeof src === 'string' ? src : (src as { id?: string } | undefined)?.id ?? 'actor');

function guardName(g: unknown): string | undefined {
  if (g === undefined || g === null) return undefined;
  if (typeof g === 'string') return g;
  if (typeof g === 'function') return g.name || 'guard';
  const o = g as { type?: unknown };
  return typeof o.type === 'string' ? o.type : 'guard';
}

function eventLabel(node: Node, eventType: string, t: Transition): string {
  const invoked = (prefix: string, what: string): string | undefined => {
    if (!eventType.startsWith(prefix)) return undefined;
    const id = eventType.slice(prefix.length);
    const inv = node.invoke.find((i) => i.id === id);
    return `${what}(${inv ? srcName(inv.src) : id})`;
  };
  const l = invoked('xstate.done.actor.', 'done') ?? invoked('xstate.error.actor.', 'error');
  if (l) return l;
  if (eventType.startsWith('xstate.after.')) {
    const d = t.delay;
    return `after ${typeof d === 'number' ? `${d}ms` : typeof d === 'string' ? d : eventType.split('.')[2] ?? 'delay'}`;
  }
  if (eventType.startsWith('xstate.done.state.')) return 'done';
  return eventType;
}

/** The graph of a machine definition. */
export function machineGraph(name: string, machine: AnyStateMachine): MachineGraph {
  const root = machine.root as unknown as Node;
  const gid = (n: Node): string => (n.path.length ? n.path.join('.') : '');
  const states: GraphState[] = [];
  const edges: GraphEdge[] = [];
  const addEdges = (n: Node, ts: Transition[], label: (t: Transition) => string): void => {
    for (const t of ts) {
      if (!t.target?.length) continue;
      const guard = guardName(t.guard);
      for (const target of t.target) edges.push({ source: gid(n), target: gid(target), label: label(t) + (guard ? ` [${guard}]` : '') });
    }
  };
  const walk = (n: Node): void => {
    if (n !== root) {
      const initial = n.initial?.target[0];
      states.push({
        id: gid(n), key: n.key, path: [...n.path], parent: n.parent && n.parent !== root ? gid(n.parent) : undefined, kind: n.type,
        ...(n.type === 'compound' && initial ? { initial: gid(initial) } : {}),
        invokes: n.invoke.map((i) => srcName(i.src)),
      });
    }
    for (const [eventType, ts] of n.transitions) addEdges(n, ts, (t) => eventLabel(n, eventType, t));
    if (n.always) addEdges(n, n.always, () => 'always');
    for (const child of Object.values(n.states)) walk(child);
  };
  walk(root);
  const initial = root.initial?.target[0];
  return { name, machineId: root.id, initial: initial ? gid(initial) : '', states, edges };
}

// ---- Mermaid ----

const mmId = (id: string): string => id.replace(/[^A-Za-z0-9_]/g, '_');
const mmText = (s: string): string => s.replace(/[;#:]/g, ' ').replace(/\s+/g, ' ').trim();

/** Mermaid `stateDiagram-v2`; nested states become composite states. */
export function toMermaid(g: MachineGraph): string {
  const out = ['stateDiagram-v2', `  %% machine '${g.machineId}' (netlet ${g.name}), generated from its XState definition`];
  const children = (parent: string | undefined): GraphState[] => g.states.filter((s) => s.parent === parent);
  const byId = new Map(g.states.map((s) => [s.id, s]));
  // Mermaid cannot link states inside different composites: an edge is drawn in the
  // innermost composite holding both ends, from and to the states directly in it.
  const placed = new Map<string, { scope: string | undefined; line: string }>();
  for (const e of g.edges) {
    if (e.source === '') continue;
    const a = byId.get(e.source)?.path ?? [];
    const b = byId.get(e.target)?.path ?? [];
    let i = 0;
    while (i < a.length - 1 && i < b.length - 1 && a[i] === b[i]) i++;
    const scope = i === 0 ? undefined : a.slice(0, i).join('.');
    const line = `${mmId(a.slice(0, i + 1).join('.'))} --> ${mmId(b.slice(0, i + 1).join('.'))} : ${mmText(e.label)}`;
    placed.set(`${scope ?? ''}|${line}`, { scope, line });
  }
  const emit = (parent: string | undefined, indent: string): void => {
    const kids = children(parent);
    const init = parent === undefined ? g.initial : byId.get(parent)?.initial;
    if (init) out.push(`${indent}[*] --> ${mmId(init)}`);
    for (const s of kids) {
      if (s.key !== mmId(s.id) || s.kind === 'compound' || s.kind === 'parallel') out.push(`${indent}state "${mmText(s.key)}" as ${mmId(s.id)}`);
      if (s.invokes.length) out.push(`${indent}${mmId(s.id)} : invokes ${mmText(s.invokes.join(', '))}`);
      if (s.kind === 'compound' || s.kind === 'parallel') {
        out.push(`${indent}state ${mmId(s.id)} {`);
        emit(s.id, `${indent}  `);
        out.push(`${indent}}`);
      }
      if (s.kind === 'final') out.push(`${indent}${mmId(s.id)} --> [*]`);
    }
    for (const p of placed.values()) if (p.scope === parent) out.push(`${indent}${p.line}`);
    if (parent === undefined) {
      for (const e of g.edges) if (e.source === '') out.push(`${indent}%% from any state: ${mmText(e.label)} --> ${mmId(e.target)}`);
    }
  };
  emit(undefined, '  ');
  return `${out.join('\n')}\n`;
}

// ---- Graphviz DOT ----

const q = (s: string): string => `"${s.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')}"`;

/** Graphviz DOT; compound states become clusters with an entry point. */
export function toDot(g: MachineGraph): string {
  const out = [
    `digraph ${q(g.machineId)} {`,
    `  // machine '${g.machineId}' (netlet ${g.name}), generated from its XState definition`,
    '  compound=true; rankdir=TB; node [shape=box, style=rounded, fontname="Helvetica"]; edge [fontname="Helvetica", fontsize=10];',
    '  "__start" [shape=point, width=0.15];',
  ];
  const byId = new Map(g.states.map((s) => [s.id, s]));
  const isCluster = (id: string): boolean => ['compound', 'parallel'].includes(byId.get(id)?.kind ?? '');
  const entry = (id: string): string => `${id}.__entry`;
  const nodeOf = (id: string): string => (isCluster(id) ? entry(id) : id);
  const emit = (parent: string | undefined, indent: string): void => {
    for (const s of g.states.filter((x) => x.parent === parent)) {
      if (isCluster(s.id)) {
        out.push(`${indent}subgraph ${q(`cluster_${s.id}`)} {`);
        out.push(`${indent}  label=${q(s.key + (s.invokes.length ? `\ninvokes ${s.invokes.join(', ')}` : ''))}; style=rounded;`);
        out.push(`${indent}  ${q(entry(s.id))} [shape=point, width=0.1];`);
        emit(s.id, `${indent}  `);
        out.push(`${indent}}`);
        if (s.initial) out.push(`${indent}${q(entry(s.id))} -> ${q(nodeOf(s.initial))};`);
      } else {
        const label = s.key + (s.invokes.length ? `\ninvokes ${s.invokes.join(', ')}` : '');
        out.push(`${indent}${q(s.id)} [label=${q(label)}${s.kind === 'final' ? ', shape=doublecircle, style=""' : ''}];`);
      }
    }
  };
  emit(undefined, '  ');
  if (g.initial) out.push(`  "__start" -> ${q(nodeOf(g.initial))}${isCluster(g.initial) ? ` [lhead=${q(`cluster_${g.initial}`)}]` : ''};`);
  for (const e of g.edges) {
    const attrs = [`label=${q(e.label)}`];
    if (e.source && isCluster(e.source)) attrs.push(`ltail=${q(`cluster_${e.source}`)}`);
    if (isCluster(e.target)) attrs.push(`lhead=${q(`cluster_${e.target}`)}`);
    const from = e.source ? nodeOf(e.source) : '__start';
    if (!e.source) attrs.push('style=dashed');
    out.push(`  ${q(from)} -> ${q(nodeOf(e.target))} [${attrs.join(', ')}];`);
  }
  out.push('}');
  return `${out.join('\n')}\n`;
}

/** Both renderings of a machine by name, or undefined for an unknown name. */
export function renderMachine(name: string): { name: string; mermaid: string; dot: string } | undefined {
  const m = Object.hasOwn(MACHINES, name) ? MACHINES[name] : undefined;
  if (!m) return undefined;
  const g = machineGraph(name, m);
  return { name, mermaid: toMermaid(g), dot: toDot(g) };
}
