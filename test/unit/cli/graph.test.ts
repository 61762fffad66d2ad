// The diagrams come from the machine definitions: every state, transition target,
// initial and final state of each machine appears, in both renderings.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { AnyStateMachine } from 'xstate';
import { MACHINES, machineGraph, machineNames, renderMachine, toDot, toMermaid } from '../../../src/debug/graph.js';
import { MACHINE_NAMES } from '../../../src/cli/commands/graph.js';

interface N { id: string; type: string; states: Record<string, N>; transitions: Map<string, { target?: N[] }[]>; always?: { target?: N[] }[] }
const allNodes = (m: AnyStateMachine): N[] => {
  const out: N[] = [];
  const walk = (n: N): void => {
    out.push(n);
    Object.values(n.states).forEach(walk);
  };
  Object.values((m.root as unknown as N).states).forEach(walk);
  return out;
};

void test('the CLI lists the machines the debug module knows', () => {
  assert.deepEqual(MACHINE_NAMES, machineNames());
});

void test('every state and every targeted transition of each machine is in the graph', () => {
  for (const [name, m] of Object.entries(MACHINES)) {
    const g = machineGraph(name, m);
    const nodes = allNodes(m);
    const rootId = (m.root as unknown as N).id;
    const gid = (n: N): string => n.id.slice(rootId.length + 1);
    assert.deepEqual(g.states.map((s) => s.id).sort(), nodes.map(gid).sort(), name);
    let targeted = 0;
    for (const n of nodes) {
      for (const ts of [...n.transitions.values(), n.always ?? []]) for (const t of ts) targeted += t.target?.length ?? 0;
    }
    assert.equal(g.edges.length, targeted, `${name}: one edge per transition target`);
    const ids = new Set(g.states.map((s) => s.id));
    for (const e of g.edges) assert.ok(ids.has(e.source) && ids.has(e.target), `${name}: ${e.source} -> ${e.target}`);
  }
});

void test('veth: known edges, nesting and finals in Mermaid', () => {
  const mm = renderMachine('veth')!.mermaid;
  assert.ok(mm.startsWith('stateDiagram-v2\n'));
  for (const line of [
    '  [*] --> idle',
    '  idle --> capturing : START',
    '  idle --> adopting : START [resumedReady]',
    '  ready --> tearingDown : TEARDOWN',
    '  ready --> failed : VETH_LOST',
    '  capturing --> stripping : done(capture)',
    '  stripping --> rollingBack : error(strip)',
    '  restored --> [*]',
    '  state capturing {',
    '    [*] --> capturing_running',
    '    capturing_running --> capturing_backingOff : error(capture) [retriable]',
    '    capturing_backingOff --> capturing_running : after backoff',
    '    tearingDown_unwiring --> tearingDown_restoring : done [hasRecord]',
    '        tearingDown_unwiring_links_unplumbing --> tearingDown_unwiring_links_done : done(unplumb)',
  ]) assert.ok(mm.split('\n').includes(line), `missing: ${line}`);
  assert.equal((mm.match(/\{$/gm) ?? []).length, (mm.match(/^\s*\}$/gm) ?? []).length, 'balanced composites');
});

void test('pod: always transitions and both finals', () => {
  const mm = renderMachine('pod')!.mermaid.split('\n');
  for (const line of ['  startingInterfaces --> ready : always [allReady]', '  failed --> [*]', '  gone --> [*]', '  resolving --> failed : error(resolvePlan)']) {
    assert.ok(mm.includes(line), `missing: ${line}`);
  }
});

void test('DOT: clusters for compound states, every edge endpoint declared, balanced', () => {
  for (const name of machineNames()) {
    const g = machineGraph(name, MACHINES[name]!);
    const dot = toDot(g);
    assert.ok(dot.startsWith(`digraph "${g.machineId}" {`));
    assert.equal((dot.match(/\{/g) ?? []).length, (dot.match(/\}/g) ?? []).length);
    const declared = new Set([...dot.matchAll(/^\s*"([^"]+)" \[/gm)].map((x) => x[1]));
    for (const [, from, to] of dot.matchAll(/^\s*"([^"]+)" -> "([^"]+)"/gm)) {
      assert.ok(declared.has(from) && declared.has(to), `${name}: ${from} -> ${to} declared`);
    }
    for (const s of g.states.filter((x) => x.kind === 'compound')) assert.ok(dot.includes(`subgraph "cluster_${s.id}"`), s.id);
    for (const s of g.states.filter((x) => x.kind === 'final')) assert.match(dot, new RegExp(`"${s.id}" \\[label="${s.key}", shape=doublecircle`));
    assert.equal(toMermaid(g), renderMachine(name)!.mermaid);
  }
  assert.equal(renderMachine('nope'), undefined);
  assert.equal(renderMachine('constructor'), undefined);
});
