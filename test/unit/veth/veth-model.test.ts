// Model-based test of VethInterface: @xstate/graph's getShortestPaths walks the machine
// definition with every io outcome (done; error EIO; error EBUSY for setup steps), every
// external event and every delayed (backoff) event, for fresh and resumed inputs. Each
// shortest path is replayed on the machine wired (provideVeth) to a fake io over an
// in-memory netns, whose calls are held until the path says how they end; delays run
// on a simulated clock. Coverage is asserted against the machine definition: every state
// node visited, every transition taken. A clean end (restored, or a setup failure rolled
// back) must leave the fake netns as it started.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { adjacencyMapToArray, getAdjacencyMap, getShortestPaths, getStateNodes } from '@xstate/graph';
import { SimulatedClock, createActor, waitFor, type AnyEventObject, type AnyStateNode, type TransitionDefinition } from 'xstate';
import { provideVeth } from '../../../src/actors/veth-wiring.js';
import {
  VETH_IO_METHODS,
  VETH_SETUP_STEPS,
  vethInterfaceMachine,
  type VethInput,
  type VethIo,
  type VethRecord,
  type VethResume,
  type VethSettings,
} from '../../../src/machines/veth-interface.js';

type Snap = ReturnType<typeof vethInterfaceMachine.getInitialSnapshot>;

// ---- a fake pod netns with the io's semantics (idempotent, converging) ----

interface FakeLink { mac: string; mtu: number; up: boolean; master?: string; addresses: string[]; routes: string[]; neigh?: string[] }
interface FakeNet { links: Record<string, FakeLink>; table: boolean; dhcp: boolean }

const SETTINGS: VethSettings = {
  bridge: 'nb-eth0', tap: 'nt-eth0', table: 'netlet_eth0', bridgeAddress: '169.254.253.1', bridgeMac: '02:aa:00:00:00:01',
  vmMac: '0a:58:0a:3c:00:05', vmAddress: '10.60.0.5', queues: 1,
};
const pristine = (): FakeNet => ({
  links: {
    lo: { mac: '00:00:00:00:00:00', mtu: 65536, up: true, addresses: ['127.0.0.1/8'], routes: [] },
    eth0: { mac: SETTINGS.vmMac, mtu: 1450, up: true, addresses: ['10.60.0.5/24'], routes: ['0.0.0.0/0 via 10.60.0.1', '192.0.2.0/28'] },
  },
  table: false,
  dhcp: false,
});
const enoent = (what: string) => Object.assign(new Error(`no ${what}`), { code: 'ENODEV' });

function fakeIo(net: FakeNet): VethIo {
  let macs = 0;
  const L = net.links;
  return {
    async capture({ ifName }) {
      const l = L[ifName];
      if (!l) throw enoent(ifName);
      const addresses = l.addresses.map((a) => ({ address: a, broadcast: 'none' }));
      const routes = l.routes.map((r) => {
        const [dst, , gateway] = r.split(' ');
        return gateway ? { dst: dst!, gateway, scope: 'universe' as const, protocol: 'boot' as const } : { dst: dst!, scope: 'link' as const, protocol: 'boot' as const };
      });
      return { ifName, mac: l.mac, mtu: l.mtu, up: l.up, addresses, loUp: L.lo!.up, routes } satisfies VethRecord;
    },
    async strip({ record }) {
      const l = L[record.ifName];
      if (!l) throw enoent(record.ifName);
      l.routes = [];
      l.addresses = [];
      if (l.mac === record.mac) l.mac = `02:00:00:00:00:${(++macs).toString(16).padStart(2, '0')}`;
    },
    async plumb({ record, settings: s }) {
      const v = L[record.ifName];
      if (!v) throw enoent(record.ifName);
      L[s.bridge] ??= { mac: s.bridgeMac, mtu: record.mtu, up: true, addresses: [], routes: [], neigh: [] };
      L[s.tap] ??= { mac: '02:ff:00:00:00:01', mtu: record.mtu, up: true, addresses: [], routes: [] };
      L[s.tap]!.master = s.bridge;
      v.master = s.bridge;
      L.lo!.up = true;
      const br = L[s.bridge]!;
      br.addresses = [`${s.bridgeAddress}/32`];
      br.routes = [`${s.vmAddress}/32`];
      br.neigh = [`${s.vmAddress} ${s.vmMac}`];
    },
    async isolate() { net.table = true; },
    async unisolate() { net.table = false; },
    async startDhcp({ settings: s }) {
      if (!L[s.bridge]) throw enoent(s.bridge);
      net.dhcp = true;
    },
    async stopDhcp() { net.dhcp = false; },
    async unplumb({ settings: s }) {
      delete L[s.tap];
      delete L[s.bridge];
      for (const l of Object.values(L)) if (l.master === s.bridge) delete l.master;
    },
    async restore({ record }) {
      const l = L[record.ifName];
      if (!l) return;
      delete l.master;
      Object.assign(l, { mac: record.mac, mtu: record.mtu, up: record.up });
      for (const a of record.addresses) if (!l.addresses.includes(a.address)) l.addresses.push(a.address);
      L.lo!.up = record.loUp;
      for (const r of record.routes) {
        const key = r.gateway ? `${r.dst} via ${r.gateway}` : r.dst;
        if (!l.routes.includes(key)) l.routes.push(key);
      }
    },
  };
}

// ---- variants: fresh and resumed inputs, each with the fake netns the resume implies ----

interface Variant { name: string; input: VethInput; world: () => Promise<FakeNet> }

async function worldAfter(steps: (keyof VethIo)[]): Promise<{ net: FakeNet; record: VethRecord }> {
  const net = pristine();
  const io = fakeIo(net);
  const record = await io.capture({ ifName: 'eth0' });
  for (const m of steps) await (io[m] as (r: unknown) => Promise<unknown>)({ record, settings: SETTINGS, ifName: 'eth0' });
  return { net, record };
}

async function variants(): Promise<Variant[]> {
  const { record } = await worldAfter([]);
  const setup: (keyof VethIo)[] = ['strip', 'plumb', 'isolate', 'startDhcp'];
  const v = (name: string, resume: VethResume | undefined, steps: (keyof VethIo)[]): Variant => ({
    name,
    input: { settings: SETTINGS, ifName: 'eth0', ...(resume ? { resume } : {}) },
    world: async () => (await worldAfter(steps)).net,
  });
  return [
    v('fresh', undefined, []),
    v('resume: ready', { done: [...VETH_SETUP_STEPS], record }, setup),
    v('resume: mid-setup', { done: ['capturing', 'stripping'], record }, ['strip', 'plumb']),
    v('resume: no record', { done: [] }, []),
    v('resume: mid-teardown', { done: [...VETH_SETUP_STEPS, 'teardown:stoppingDhcp'], record }, [...setup, 'stopDhcp']),
  ];
}

// ---- the abstract events ----

const EXTERNAL: AnyEventObject[] = [{ type: 'START' }, { type: 'TEARDOWN' }, { type: 'DHCP_LOST', reason: 'model' }, { type: 'LINK_LOST', link: 'nt-eth0' }, { type: 'VETH_LOST' }];
const activeInvokes = (s: Snap) => s._nodes.filter((n) => n.type === 'atomic').flatMap((n) => n.invoke);
const SETUP_IDS = new Set<string>(VETH_SETUP_STEPS);

function eventsFor(record: VethRecord) {
  return (s: Snap): AnyEventObject[] => {
    const out = [...EXTERNAL];
    for (const inv of activeInvokes(s)) {
      out.push({ type: `xstate.done.actor.${inv.id}`, output: inv.src === 'capture' ? record : undefined });
      out.push({ type: `xstate.error.actor.${inv.id}`, error: { code: 'EIO', message: 'injected' } });
      if (SETUP_IDS.has(inv.id)) out.push({ type: `xstate.error.actor.${inv.id}`, error: { code: 'EBUSY', message: 'injected busy' } });
    }
    for (const n of s._nodes) for (const k of n.transitions.keys()) if (k.startsWith('xstate.after.')) out.push({ type: k });
    return out;
  };
}

/** States differ by what the machine's guards and outputs read; the growing `done` list is left out (it would make the graph infinite). */
const serializeState = (s: Snap): string =>
  JSON.stringify([s.value, s.context.record !== undefined, s.context.attempts, s.context.teardownRequested, s.context.error?.code, s.context.undoError?.code]);

// ---- replay ----

interface Pending { method: string; req: unknown; resolve: (v: unknown) => void; reject: (e: unknown) => void; step: number }
const METHODS = VETH_IO_METHODS;

async function replay(v: Variant, steps: { event: AnyEventObject; state: Snap }[]): Promise<void> {
  const net = await v.world();
  const real = fakeIo(net);
  const queue: Pending[] = [];
  let wake: (() => void) | undefined;
  const held = Object.fromEntries(METHODS.map((m) => [m, (req: unknown) => new Promise((resolve, reject) => {
    queue.push({ method: m, req, resolve, reject, step });
    wake?.();
  })])) as unknown as VethIo;
  // Invokes of parallel states (the undo's table and links) call at once: take the one asked for.
  const nextCall = async (method?: string): Promise<Pending> => {
    const at = (): number => queue.findIndex((p) => method === undefined || p.method === method);
    while (at() < 0) await new Promise<void>((r) => (wake = r));
    return queue.splice(at(), 1)[0]!;
  };
  const clock = new SimulatedClock();
  const actor = createActor(provideVeth(held), { input: v.input, clock });
  // The graph keeps one snapshot per serialized state, so `done` there may come from another path: match on the rest.
  const key = serializeState;
  let vethLost = false;
  let step = 0;
  actor.start();
  try {
    for (const { event, state } of steps) {
      if (event.type === 'xstate.init') continue;
      step++;
      const before = actor.getSnapshot();
      let answered: string | undefined;
      if (event.type.startsWith('xstate.after.')) {
        clock.increment(10_000);
      } else if (event.type.startsWith('xstate.done.actor.') || event.type.startsWith('xstate.error.actor.')) {
        const id = event.type.replace(/^xstate\.(done|error)\.actor\./, '');
        const inv = activeInvokes(before).find((i) => i.id === id);
        answered = id;
        assert.ok(inv, `the wired machine is running ${id}`);
        const call = await nextCall(inv.src as string);
        assert.equal(call.method, inv.src, `invoke ${id} called its io method`);
        // The effect happens either way: an error after it (a lost ack) must be undone too.
        const out = await (real[call.method as keyof VethIo] as (r: unknown) => Promise<unknown>)(call.req).catch((e: unknown) => e);
        if (event.type.startsWith('xstate.error.')) {
          const err = (event as unknown as { error: { code: string; message: string } }).error;
          call.reject(Object.assign(new Error(err.message), { code: err.code }));
        } else {
          assert.deepEqual(out, (event as { output?: unknown }).output, `io.${call.method} output matches the model's`);
          call.resolve(out);
        }
      } else {
        if (event.type === 'DHCP_LOST') net.dhcp = false;
        if (event.type === 'LINK_LOST') delete net.links[SETTINGS.tap];
        if (event.type === 'VETH_LOST') {
          delete net.links.eth0;
          vethLost = true;
        }
        actor.send(event as never);
      }
      await waitFor(actor, (s) => key(s) === key(state), { timeout: 2000 }).catch(() => {
        throw new Error(`${v.name}: after ${event.type} expected ${key(state)}, got ${key(actor.getSnapshot())}`);
      });
      // An invoke stopped by the event (VETH_LOST while recovering, or the other region of a
      // parallel state that failed) never answers: drop its call.
      const now = new Set(activeInvokes(actor.getSnapshot()).map((i) => i.id));
      for (const inv of activeInvokes(before)) {
        if (now.has(inv.id) || inv.id === answered) continue;
        const k = queue.findIndex((p) => p.step < step && p.method === inv.src);
        if (k >= 0) queue.splice(k, 1);
      }
    }
    const end = actor.getSnapshot();
    const rolledBack = end.matches('failed') && end.context.undoError === undefined && SETUP_IDS.has(end.context.error?.step ?? '');
    if (end.status === 'done' || rolledBack) {
      const want = pristine();
      if (vethLost) delete want.links.eth0;
      // A resumed setup that never recorded the veth cannot restore it; the model's no-record variant changed nothing.
      assert.deepEqual(net, want, `${v.name}: a clean end leaves the netns as CNI left it`);
    }
  } finally {
    actor.stop();
  }
}

// ---- coverage against the definition ----

const transitionKey = new Map<TransitionDefinition<any, any>, string>();
function allTransitions(): Set<string> {
  const keys = new Set<string>();
  for (const node of [vethInterfaceMachine.root, ...getStateNodes(vethInterfaceMachine.root)] as AnyStateNode[]) {
    for (const [ev, defs] of node.transitions) {
      defs.forEach((d, i) => {
        const k = `${node.id} --${ev}#${i}--> ${(d.target ?? []).map((t) => t.id).join(',')}`;
        transitionKey.set(d, k);
        keys.add(k);
      });
    }
  }
  return keys;
}

void test('model-based: shortest paths reach every state and transition; each replays on the wired machine', async (t) => {
  const allStates = new Set(getStateNodes(vethInterfaceMachine.root).map((n) => n.id));
  const allTrans = allTransitions();
  assert.ok(allStates.size >= 30 && allTrans.size >= 60, `the definition has ${allStates.size} states, ${allTrans.size} transitions`);
  const seenStates = new Set<string>();
  const seenTrans = new Set<string>();
  let replayed = 0;
  const { record } = await worldAfter([]);

  type Steps = { event: AnyEventObject; state: Snap }[];
  const cover = (steps: Steps): void => {
    let prev: Snap | undefined;
    for (const step of steps) {
      for (const n of step.state._nodes) if (n.id !== vethInterfaceMachine.root.id) seenStates.add(n.id);
      if (prev) {
        // A state left because its regions all finished took its done.state transition too,
        // inside the same step (the undo's parallel table/links deletion).
        const now = new Set(step.state._nodes.map((n) => n.id));
        const finished = step.event.type.startsWith('xstate.done.actor.');
        const done = !finished ? [] : prev._nodes.filter((n) => !now.has(n.id) && n.transitions.has(`xstate.done.state.${n.id}`)).map((n) => ({ type: `xstate.done.state.${n.id}` }));
        for (const e of [step.event, ...done]) {
          for (const d of vethInterfaceMachine.getTransitionData(prev, e as never)) {
            const k = transitionKey.get(d);
            assert.ok(k, `unknown transition taken from ${JSON.stringify(prev.value)}`);
            seenTrans.add(k);
          }
        }
      }
      prev = step.state;
    }
  };
  const keysOf = (s: Snap, e: AnyEventObject): string[] => vethInterfaceMachine.getTransitionData(s, e as never).map((d) => transitionKey.get(d)!);

  for (const v of await variants()) {
    const opts = { events: eventsFor(record) as never, input: v.input, serializeState: serializeState as never };
    // One shortest path to every reachable state...
    const paths = getShortestPaths(vethInterfaceMachine, opts);
    assert.ok(paths.length > 0, v.name);
    const to = new Map<string, Steps>();
    for (const p of paths) {
      const steps = p.steps as unknown as Steps;
      to.set(serializeState(p.state), steps);
      cover(steps);
      await replay(v, steps);
      replayed++;
    }
    // ...then, for every edge of the graph taking a transition no path took yet, that path plus the edge.
    for (const edge of adjacencyMapToArray(getAdjacencyMap(vethInterfaceMachine, opts)) as unknown as { state: Snap; event: AnyEventObject; nextState: Snap }[]) {
      const keys = keysOf(edge.state, edge.event);
      if (keys.length === 0 || keys.every((k) => seenTrans.has(k))) continue;
      const base = to.get(serializeState(edge.state));
      assert.ok(base, `a path to ${serializeState(edge.state)}`);
      const steps = [...base, { event: edge.event, state: edge.nextState }];
      cover(steps);
      await replay(v, steps);
      replayed++;
    }
  }
  assert.deepEqual([...allStates].filter((s) => !seenStates.has(s)), [], 'unvisited states');
  assert.deepEqual([...allTrans].filter((t) => !seenTrans.has(t)), [], 'untaken transitions');
  assert.ok(replayed > 100, `replayed ${replayed} paths`);
  t.diagnostic(`${allStates.size} states, ${allTrans.size} transitions, ${replayed} paths replayed`);
});
