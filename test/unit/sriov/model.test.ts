// Model-based test: @xstate/graph's getShortestPaths walks the machine definition with every step
// outcome (done with each relevant output, error) and TEARDOWN, for several inputs.
// Each shortest path is replayed against the machine wired to the real io over the
// fake kernel/PF, whose io calls are held until the path says how they end.
// Coverage: the paths must visit every state node and take every transition.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { getShortestPaths, getStateNodes } from '@xstate/graph';
import { createActor, waitFor, type AnyEventObject, type AnyStateNode, type TransitionDefinition } from 'xstate';
import { provideSriov } from '../../../src/actors/sriov-wiring.js';
import {
  SETUP_STEPS,
  sriovInterfaceMachine,
  type SriovInput,
  type SriovIo,
  type VfConfig,
  type VfInfo,
  type VfRecord,
} from '../../../src/machines/sriov-interface.js';
import { FakeSysfsTree } from '../../support/fake-sysfs.js';
import { VM_MAC, input, makeWorld, plan } from './harness.js';

type Snap = ReturnType<typeof sriovInterfaceMachine.getInitialSnapshot>;
const INITIAL_PF: VfConfig = { mac: '00:00:00:00:00:00', vlan: 100, qos: 0, spoofchk: true, trust: false };
const INJECTED = { code: 'EINJECTED', message: 'injected' };

/** Which io method each invoke src calls. */
const SRC_TO_IO: Record<string, keyof SriovIo> = {
  detect: 'detect',
  readPf: 'readPf',
  setPf: 'setPf',
  unbindDriver: 'unbindDriver',
  bindVfio: 'bindVfio',
  waitVfioDevice: 'waitVfioDevice',
  unbindVfio: 'unbindVfio',
  clearOverride: 'clearOverride',
  reprobe: 'reprobe',
  waitNetdev: 'waitNetdev',
  restoreNetns: 'restoreNetns',
};

interface Variant {
  name: string;
  input: SriovInput;
  vf: VfInfo | undefined;
}

async function detected(pci: string): Promise<VfInfo> {
  const w = makeWorld();
  try {
    return await w.io.detect({ pciAddress: pci });
  } finally {
    w.cleanup();
  }
}

function recordOf(vf: VfInfo, netdev: VfRecord['netdev']): VfRecord {
  return { vf, pf: INITIAL_PF, netdev, targetMac: VM_MAC };
}

async function variants(): Promise<Variant[]> {
  const pod = await detected('0000:3b:02.1');
  const dpdk = await detected('0000:3b:02.2');
  const unbound = await detected('0000:3b:02.3');
  const home = { name: 'eth0', netns: FakeSysfsTree.sandbox('pod1') };
  return [
    { name: 'netdev VF in pod netns', input: input(), vf: pod },
    { name: 'DPDK VF', input: input(plan({ pciID: dpdk.pciAddress })), vf: dpdk },
    { name: 'unbound VF', input: input(plan({ pciID: unbound.pciAddress })), vf: unbound },
    { name: 'no MAC anywhere', input: input(plan({ mac: undefined })), vf: pod },
    { name: 'SR-IOV disabled', input: input(plan(), { options: { sriovEnabled: false } }), vf: pod },
    { name: 'resume: no record', input: input(plan(), { resume: { done: ['detecting'] } }), vf: undefined },
    {
      name: 'resume: partial',
      input: input(plan(), { resume: { done: SETUP_STEPS.slice(0, 4), record: recordOf(pod, home) } }),
      vf: pod,
    },
    {
      name: 'resume: partial DPDK',
      input: input(plan({ pciID: dpdk.pciAddress }), { resume: { done: SETUP_STEPS.slice(0, 3), record: recordOf(dpdk, null) } }),
      vf: dpdk,
    },
    {
      name: 'resume: ready',
      input: input(plan(), { resume: { done: [...SETUP_STEPS], record: recordOf(pod, home), vfioDevice: '/dev/vfio/61' } }),
      vf: pod,
    },
  ];
}

/** Leaf state nodes active in a snapshot, and their invokes. */
const activeInvokes = (s: Snap) => s._nodes.filter((n) => n.type === 'atomic').flatMap((n) => n.invoke);

/** The abstract events possible in `s`: each invoke ends in done (per relevant output) or error; plus the machine's own events. */
function eventsFor(v: Variant) {
  return (s: Snap): AnyEventObject[] => {
    const out: AnyEventObject[] = [{ type: 'START' }, { type: 'TEARDOWN' }];
    for (const inv of activeInvokes(s)) {
      const src = typeof inv.src === 'string' ? inv.src : '';
      const done = `xstate.done.actor.${inv.id}`;
      out.push({ type: `xstate.error.actor.${inv.id}`, error: INJECTED });
      if (src === 'detect') out.push({ type: done, output: v.vf });
      else if (inv.id === 'recording') out.push({ type: done, output: INITIAL_PF });
      else if (inv.id === 'checkingVlan') {
        const ok = { ...INITIAL_PF, mac: VM_MAC };
        out.push({ type: done, output: ok }, { type: done, output: { ...ok, vlan: 0 } }, { type: done, output: { ...ok, mac: '02:00:00:00:00:ff' } });
      } else if (src === 'waitVfioDevice') out.push({ type: done, output: `/dev/vfio/${v.vf!.iommuGroup}` });
      else out.push({ type: done, output: undefined });
    }
    return out;
  };
}

interface Pending {
  method: keyof SriovIo;
  req: unknown;
  resolve: (v: unknown) => void;
  reject: (e: unknown) => void;
}

/** Replays one abstract path on the wired machine; io calls wait for the path's verdict. */
async function replay(v: Variant, steps: { event: AnyEventObject; state: Snap }[]): Promise<void> {
  const w = makeWorld();
  const before = w.state();
  const queue: Pending[] = [];
  let wake: (() => void) | undefined;
  const held = Object.fromEntries(
    Object.values(SRC_TO_IO).map((m) => [
      m,
      (req: unknown) =>
        new Promise((resolve, reject) => {
          queue.push({ method: m, req, resolve, reject });
          wake?.();
        }),
    ]),
  ) as unknown as SriovIo;
  const nextCall = async (): Promise<Pending> => {
    while (queue.length === 0) await new Promise<void>((r) => (wake = r));
    return queue.shift()!;
  };
  const actor = createActor(provideSriov(held), { input: v.input });
  actor.start();
  try {
    for (const { event, state } of steps) {
      if (event.type === 'xstate.init') continue;
      if (event.type === 'START' || event.type === 'TEARDOWN') actor.send(event as { type: 'START' | 'TEARDOWN' });
      else {
        const call = await nextCall();
        const id = event.type.replace(/^xstate\.(done|error)\.actor\./, '');
        const inv = activeInvokes(actor.getSnapshot()).find((i) => i.id === id);
        assert.ok(inv, `the wired machine is running ${id}`);
        assert.equal(call.method, SRC_TO_IO[typeof inv.src === 'string' ? inv.src : '']);
        if (event.type.startsWith('xstate.error.')) call.reject(Object.assign(new Error(INJECTED.message), { code: INJECTED.code }));
        else {
          const want = (event as { output?: unknown }).output;
          if (id === 'checkingVlan') {
            const seen = want as VfConfig;
            w.pf.lie = { pf: 'ens1f0', vf: v.vf!.vfIndex, vlan: seen.vlan, mac: seen.mac };
          }
          const real = await (w.io[call.method] as (r: unknown) => Promise<unknown>)(call.req);
          w.pf.lie = undefined;
          if (call.method === 'waitVfioDevice') assert.ok((real as string).endsWith(want as string), `${real as string} ~ ${want as string}`);
          else assert.deepEqual(real, want, `real ${call.method} output matches the model's`);
          call.resolve(real);
        }
      }
      const key = (s: Snap) => JSON.stringify([s.value, setupDone(s), s.context.teardownRequested, s.context.error?.code, s.context.undoError?.code]);
      await waitFor(actor, (s) => key(s) === key(state), { timeout: 3000 }).catch(() => {
        throw new Error(`${v.name}: after ${event.type}\n  model: ${key(state)}\n  real:  ${key(actor.getSnapshot())}`);
      });
    }
    const end = actor.getSnapshot();
    if (end.matches('restored') || (end.matches('failed') && !end.context.undoError)) {
      assert.deepEqual(w.state(), before, 'a clean end leaves the tree as it was');
    }
  } finally {
    actor.stop();
    w.cleanup();
  }
}

/**
 * Setup steps of `done` only: no decision reads the undo entries, and a retried undo
 * (teardownFailed → TEARDOWN) would make them grow without end. The replay compares the same.
 */
const setupDone = (s: Snap): string[] => s.context.done.filter((d) => !d.includes(':'));
const serialize = (s: Snap): string => JSON.stringify([s.value, { ...s.context, done: setupDone(s) }]);

const transitionKey = new Map<TransitionDefinition<any, any>, string>();
function allTransitions(): Set<string> {
  const keys = new Set<string>();
  for (const node of [sriovInterfaceMachine.root, ...getStateNodes(sriovInterfaceMachine.root)] as AnyStateNode[]) {
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
  const allStates = new Set(getStateNodes(sriovInterfaceMachine.root).map((n) => n.id));
  const allTrans = allTransitions();
  const seenStates = new Set<string>();
  const seenTrans = new Set<string>();
  let replayed = 0;

  for (const v of await variants()) {
    // (createTestModel refuses machines with invokes; the traversal itself handles them.)
    const paths = getShortestPaths(sriovInterfaceMachine, { events: eventsFor(v) as never, input: v.input, serializeState: serialize });
    assert.ok(paths.length > 0, v.name);
    for (const p of paths) {
      let prev: Snap | undefined;
      for (const step of p.steps as unknown as { event: AnyEventObject; state: Snap }[]) {
        for (const n of step.state._nodes) if (n.id !== sriovInterfaceMachine.root.id) seenStates.add(n.id);
        if (prev) {
          for (const d of sriovInterfaceMachine.getTransitionData(prev, step.event as never)) {
            const k = transitionKey.get(d);
            assert.ok(k, `unknown transition taken from ${JSON.stringify(prev.value)}`);
            seenTrans.add(k);
          }
        }
        prev = step.state;
      }
      await replay(v, p.steps);
      replayed++;
    }
  }
  assert.deepEqual([...allStates].filter((s) => !seenStates.has(s)), [], 'unvisited states');
  assert.deepEqual([...allTrans].filter((t) => !seenTrans.has(t)), [], 'untaken transitions');
  assert.ok(replayed > 50, `replayed ${replayed} paths`);
  t.diagnostic(`${allStates.size} states, ${allTrans.size} transitions, ${replayed} paths replayed`);
});
