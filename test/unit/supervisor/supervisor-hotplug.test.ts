// The supervisor's hot-plug states (attaching, detaching) on the real machines: the real
// PodSupervisor with fake effects and real veth children over fake io that answers at
// once (or fails one chosen step). Every hot-plug state node and transition is taken by
// the scenarios below (asserted from the machine definition, as the model test does for
// the rest): attach ok; the effects failing at each step; the child failing and being
// undone (cleanly, or not: it stays); detach ok, its undo or its CNI DEL failing; a
// restart with an attach or a detach recorded mid-way.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { getStateNodes } from '@xstate/graph';
import { createActor, fromPromise, waitFor, type AnyStateNode, type TransitionDefinition } from 'xstate';
import { podSupervisorMachine, type ChildSpec, type PodInput, type ResolvedPod } from '../../../src/machines/pod-supervisor.js';
import { provideVeth } from '../../../src/actors/veth-wiring.js';
import { VETH_IO_METHODS, VETH_SETUP_STEPS, type VethInput, type VethIo, type VethRecord } from '../../../src/machines/veth-interface.js';
import type { InterfacePlan } from '../../../src/model/plan.js';

const plan = (name: string, n: number): InterfacePlan => ({ name, network: `net${n}`, mac: `0a:58:0a:3c:00:0${n}`, mtu: 1500, ips: [{ family: 4, address: `10.6${n}.0.5`, prefixLength: 24 }], routes: [], dns: { nameservers: [], search: [], options: [] } });
const record = (ifName: string): VethRecord => ({ ifName, mac: '0a:58:0a:3c:00:05', mtu: 1500, up: true, addresses: [], loUp: false, routes: [] });
function child(name: string, n: number, resume?: VethInput['resume']): ChildSpec {
  const settings = { bridge: `nb-${name}`, tap: `nt-${name}`, table: `netlet_${name}`, bridgeAddress: `169.254.253.${n + 1}`, bridgeMac: '02:aa:00:00:00:01', vmMac: plan(name, n).mac!, queues: 1 };
  const input: VethInput = { ifName: name, settings, ...(resume ? { resume } : {}) };
  return { id: name, kind: 'veth', input };
}
const READY = { done: [...VETH_SETUP_STEPS], record: record('eth0') };
const base = (extra: Partial<ResolvedPod> = {}): ResolvedPod => ({ plan: { podId: 'p', interfaces: [plan('eth0', 0)], dns: { nameservers: [], search: [], options: [] } }, children: [child('eth0', 0, READY)], cniAdded: true, ...extra });

/** Which kid an io call is for. */
const kidOf = (req: Record<string, unknown>): string =>
  (req.ifName as string | undefined) ?? (req.record as VethRecord | undefined)?.ifName ?? ((req.settings as { bridge: string }).bridge.slice(3));

/** io: `${kid}:${method}` always fails; effects: `${name}#${n}` (its n-th call) fails. */
interface Faults { io?: string[]; effects?: string[] }

const transitionsTaken = new Set<string>();
const statesSeen = new Set<string>();
const keyOf = (node: AnyStateNode, ev: string, i: number, d: TransitionDefinition<any, any>) => `${node.id} --${ev}#${i}--> ${(d.target ?? []).map((t) => t.id).join(',')}`;
const transitionKeys = new Map<TransitionDefinition<any, any>, string>();
for (const node of [podSupervisorMachine.root, ...getStateNodes(podSupervisorMachine.root)] as AnyStateNode[]) {
  for (const [ev, defs] of node.transitions) defs.forEach((d, i) => transitionKeys.set(d, keyOf(node, ev, i, d)));
  node.always?.forEach((d, i) => transitionKeys.set(d, keyOf(node, 'always', i, d)));
}

/** A taken transition's key: provide() rebuilds the state tree, so keys are made from its source node. */
function keyOfTaken(d: TransitionDefinition<any, any>): string | undefined {
  const src = d.source as AnyStateNode;
  const a = src.always?.indexOf(d) ?? -1;
  if (a >= 0) return keyOf(src, 'always', a, d);
  const defs = src.transitions.get(d.eventType);
  const i = defs?.indexOf(d) ?? -1;
  return i >= 0 ? keyOf(src, d.eventType, i, d) : undefined;
}

/** The supervisor with fake effects; `faults.io` = `${kid}:${method}` fails; `faults.effects` lists effects that fail (once each). */
function start(input: PodInput, faults: Faults = {}) {
  const calls: string[] = [];
  const effect = (name: string, out?: (i: unknown) => unknown) => fromPromise(async ({ input: i }: { input: unknown }) => {
    calls.push(name);
    if (faults.effects?.includes(`${name}#${calls.filter((c) => c === name).length}`)) throw Object.assign(new Error(`${name} injected`), { code: 'EINJECTED' });
    return out?.(i);
  });
  const io = Object.fromEntries(VETH_IO_METHODS.map((m) => [m, async (req: Record<string, unknown>) => {
    const kid = kidOf(req);
    calls.push(`${kid}:${m}`);
    if (faults.io?.includes(`${kid}:${m}`)) throw Object.assign(new Error(`${m} of ${kid} injected`), { code: 'EINJECTED' });
    return m === 'capture' ? record(kid) : undefined;
  }])) as unknown as VethIo;
  const logic = podSupervisorMachine.provide({
    actors: {
      resolvePlan: effect('resolvePlan') as never,
      persist: effect('persist') as never,
      releaseCni: effect('releaseCni') as never,
      forget: effect('forget') as never,
      resolveAttach: effect('resolveAttach', (i) => ({ iface: plan((i as { request: { ifName: string } }).request.ifName, 1), child: child((i as { request: { ifName: string } }).request.ifName, 1) })) as never,
      releaseAttach: effect('releaseAttach') as never,
      vethInterface: provideVeth(io),
    },
  });
  const actor = createActor(logic, {
    input,
    inspect: (e) => {
      if (e.type !== '@xstate.microstep') return;
      // Children's transitions are not in the map; the supervisor's are.
      for (const d of (e as unknown as { _transitions?: TransitionDefinition<any, any>[] })._transitions ?? []) {
        const k = keyOfTaken(d);
        if (!k) continue;
        transitionsTaken.add(k);
        for (const t of d.target ?? []) for (let n: AnyStateNode | undefined = t; n; n = n.parent) statesSeen.add(n.id);
      }
      for (const n of (e.snapshot as unknown as { _nodes?: AnyStateNode[] })._nodes ?? []) statesSeen.add(n.id);
    },
  });
  actor.start();
  const top = (v: unknown): string => (typeof v === 'string' ? v : Object.keys(v as object)[0] ?? '');
  const settle = () => waitFor(actor, (s) => ['ready', 'failed', 'gone', 'rollbackFailed', 'teardownFailed'].includes(top(s.value)), { timeout: 3000 });
  return { actor, calls, settle };
}

const ids = (a: { getSnapshot(): { context: { resolved?: ResolvedPod } } }) => a.getSnapshot().context.resolved!.children.map((c) => c.id);

void test('attach: ok, effects failing at each step, the child failing (undone, or its undo failing); detach: ok, undo failing, DEL failing', async () => {
  // ok, then detach ok, then attach the same name again
  {
    const { actor, settle } = start({ podId: 'p', resume: base() });
    actor.send({ type: 'SETUP' });
    await settle();
    actor.send({ type: 'ATTACH', request: { ifName: 'eth1', network: 'netb' } });
    let s = await settle();
    assert.deepEqual([s.value, ids(actor), s.context.lastChange?.outcome], ['ready', ['eth0', 'eth1'], 'done']);
    assert.equal(s.context.resolved!.change, undefined);
    assert.deepEqual(s.context.resolved!.plan.interfaces.map((i) => i.name), ['eth0', 'eth1']);
    actor.send({ type: 'ATTACH', request: { ifName: 'eth1' } }); // name in use: ignored
    assert.equal(actor.getSnapshot().value, 'ready');
    actor.send({ type: 'DETACH', ifName: 'nope' }); // unknown: ignored
    assert.equal(actor.getSnapshot().value, 'ready');
    actor.send({ type: 'DETACH', ifName: 'eth1' });
    s = await settle();
    assert.deepEqual([s.value, ids(actor), s.context.lastChange?.outcome], ['ready', ['eth0'], 'done']);
    actor.send({ type: 'ATTACH', request: { ifName: 'eth1', network: 'netb' } });
    s = await settle();
    assert.deepEqual([ids(actor), s.context.lastChange?.outcome], [['eth0', 'eth1'], 'done']);
    actor.stop();
  }
  // effects failing: the intent record, resolveAttach, the resolved record (then DEL), the DEL after a failure
  for (const effects of [['persist#1'], ['resolveAttach#1'], ['persist#2'], ['persist#2', 'releaseAttach#1']]) {
    const f = start({ podId: 'p', resume: base() }, { effects });
    f.actor.send({ type: 'SETUP' });
    await f.settle();
    f.actor.send({ type: 'ATTACH', request: { ifName: 'eth1', network: 'netb' } });
    const s = await f.settle();
    assert.deepEqual([s.value, ids(f.actor), s.context.lastChange?.outcome], ['ready', ['eth0'], 'rolledBack'], `${effects.join('+')}: ${f.calls.join(' ')}`);
    assert.equal(s.context.resolved!.change, undefined);
    f.actor.stop();
  }
  // the child fails at plumbing: undone alone, eth0 untouched
  {
    const { actor, settle, calls } = start({ podId: 'p', resume: base() }, { io: ['eth1:plumb'] });
    actor.send({ type: 'SETUP' });
    await settle();
    actor.send({ type: 'ATTACH', request: { ifName: 'eth1', network: 'netb' } });
    const s = await settle();
    assert.deepEqual([s.value, ids(actor), s.context.lastChange?.outcome, s.context.lastChange?.error?.code], ['ready', ['eth0'], 'rolledBack', 'EINJECTED']);
    assert.ok(calls.includes('eth1:restore') && calls.includes('releaseAttach'));
    assert.ok(!calls.some((c) => c.startsWith('eth0:') && c !== 'eth0:startDhcp'), `eth0 untouched: ${calls.join(' ')}`);
    actor.stop();
  }
  // the child fails and its undo fails too: it stays (degraded); detach retries it
  {
    const { actor, settle } = start({ podId: 'p', resume: base() }, { io: ['eth1:restore'] });
    actor.send({ type: 'SETUP' });
    await settle();
    actor.send({ type: 'ATTACH', request: { ifName: 'eth1', network: 'netb' } });
    // No setup step fails with this fault: the attach succeeds; detach's restore fails.
    let s = await settle();
    assert.equal(s.context.lastChange?.outcome, 'done');
    actor.send({ type: 'DETACH', ifName: 'eth1' });
    s = await settle();
    assert.deepEqual([s.value, ids(actor), s.context.lastChange?.outcome], ['ready', ['eth0', 'eth1'], 'incomplete']);
    actor.stop();
  }
  {
    const { actor, settle } = start({ podId: 'p', resume: base() }, { io: ['eth1:startDhcp'] });
    actor.send({ type: 'SETUP' });
    await settle();
    actor.send({ type: 'ATTACH', request: { ifName: 'eth1', network: 'netb' } });
    const s = await settle();
    assert.deepEqual([ids(actor), s.context.lastChange?.outcome], [['eth0'], 'rolledBack']);
    actor.stop();
  }
  // the child fails late and its undo fails too (restore): it stays in the pod (degraded); a detach retries it
  {
    const { actor, settle } = start({ podId: 'p', resume: base() }, { io: ['eth1:isolate', 'eth1:restore'] });
    actor.send({ type: 'SETUP' });
    await settle();
    actor.send({ type: 'ATTACH', request: { ifName: 'eth1', network: 'netb' } });
    const s = await settle();
    assert.deepEqual([s.value, ids(actor), s.context.lastChange?.outcome, s.context.lastChange?.error?.message], ['ready', ['eth0', 'eth1'], 'incomplete', 'isolate of eth1 injected']);
    actor.stop();
  }
  // detach: the record of the intent fails; the DEL fails (restored child kept, a second detach DELs)
  for (const effects of [['persist#1'], ['releaseAttach#1']]) {
    const f = start({ podId: 'p', resume: base({ children: [child('eth0', 0, READY), child('eth1', 1, { done: [...VETH_SETUP_STEPS], record: record('eth1') })], plan: { podId: 'p', interfaces: [plan('eth0', 0), plan('eth1', 1)], dns: { nameservers: [], search: [], options: [] } } }) }, { effects });
    f.actor.send({ type: 'SETUP' });
    await f.settle();
    f.actor.send({ type: 'DETACH', ifName: 'eth1' });
    let s = await f.settle();
    assert.deepEqual([ids(f.actor), s.context.lastChange?.outcome], [['eth0', 'eth1'], 'incomplete'], effects.join());
    f.actor.send({ type: 'DETACH', ifName: 'eth1' });
    s = await f.settle();
    assert.deepEqual([ids(f.actor), s.context.lastChange?.outcome], [['eth0'], 'done'], `${effects.join()}: retried`);
    f.actor.stop();
  }
});

void test('a restart with an attach recorded (before or after CNI ADD, child mid-setup) undoes it; with a detach recorded finishes it; a teardown then covers the change\'s child', async () => {
  const two = { podId: 'p', interfaces: [plan('eth0', 0), plan('eth1', 1)], dns: { nameservers: [], search: [], options: [] } };
  const cases: { name: string; resolved: ResolvedPod; want: string[]; release: boolean }[] = [
    { name: 'attach, intent only', resolved: base({ change: { op: 'attach', ifName: 'eth1', network: 'netb' } }), want: ['eth0'], release: true },
    { name: 'attach, child mid-setup', resolved: base({ change: { op: 'attach', ifName: 'eth1', network: 'netb', iface: plan('eth1', 1), child: child('eth1', 1, { done: ['capturing', 'stripping'], record: record('eth1') }) } }), want: ['eth0'], release: true },
    { name: 'attach, child ready', resolved: base({ change: { op: 'attach', ifName: 'eth1', iface: plan('eth1', 1), child: child('eth1', 1, { done: [...VETH_SETUP_STEPS], record: record('eth1') }) } }), want: ['eth0'], release: true },
    { name: 'detach, half undone', resolved: base({ plan: two, children: [child('eth0', 0, READY), child('eth1', 1, { done: [...VETH_SETUP_STEPS, 'teardown:stoppingDhcp'], record: record('eth1') })], change: { op: 'detach', ifName: 'eth1' } }), want: ['eth0'], release: true },
  ];
  for (const c of cases) {
    const { actor, settle, calls } = start({ podId: 'p', resume: c.resolved });
    actor.send({ type: 'SETUP' });
    const s = await settle();
    assert.deepEqual([s.value, ids(actor), s.context.resolved!.change], ['ready', c.want, undefined], `${c.name}: ${calls.join(' ')}`);
    assert.equal(calls.includes('releaseAttach'), c.release, c.name);
    actor.stop();
  }
  // Teardown right after a restart (the pod's record not ready): the change's child is torn down too.
  const { actor, calls } = start({ podId: 'p', resume: base({ change: { op: 'attach', ifName: 'eth1', network: 'netb', iface: plan('eth1', 1), child: child('eth1', 1, { done: ['capturing'], record: record('eth1') }) } }) });
  actor.send({ type: 'TEARDOWN' });
  await waitFor(actor, (s) => s.status === 'done', { timeout: 3000 });
  assert.ok(calls.includes('eth1:restore') && calls.includes('eth0:restore') && calls.includes('releaseCni'), calls.join(' '));
});

void test('every hot-plug state and transition was taken', () => {
  const hot = (id: string): boolean => /attaching|detaching|--(ATTACH|DETACH)#/.test(id);
  const states = getStateNodes(podSupervisorMachine.root).map((n) => n.id).filter(hot);
  assert.deepEqual(states.filter((s) => !statesSeen.has(s)), [], 'unvisited hot-plug states');
  const trans = [...transitionKeys.values()].filter(hot);
  assert.deepEqual(trans.filter((k) => !transitionsTaken.has(k)), [], 'untaken hot-plug transitions');
});
