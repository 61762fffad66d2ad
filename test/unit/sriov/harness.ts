// Shared setup for the SR-IOV tests: fake tree + fake kernel + fake PF, the real io
// over them, and helpers to run the machine to a settled state.
import { createActor, waitFor, type SnapshotFrom } from 'xstate';
import { provideSriov } from '../../../src/actors/sriov-wiring.js';
import { createSriovIo } from '../../../src/io/sriov/io.js';
import type { SriovInput, SriovIo } from '../../../src/machines/sriov-interface.js';
import { emptyDns, type InterfacePlan } from '../../../src/model/plan.js';
import { FakePf } from '../../support/fake-pf.js';
import { FakeKernel, FakeSysfsTree, type FakeKernelOptions, type FakePfSpec } from '../../support/fake-sysfs.js';

export const VM_MAC = '02:00:00:00:00:01';

export interface World {
  tree: FakeSysfsTree;
  kernel: FakeKernel;
  pf: FakePf;
  io: SriovIo;
  /** Sysfs tree + PF table, for before/after equality. */
  state(): { tree: Record<string, string>; pf: ReturnType<FakePf['snapshot']> };
  cleanup(): void;
}

export function makeWorld(opts: { kernel?: FakeKernelOptions; spec?: FakePfSpec[]; drivers?: string[] } = {}): World {
  const tree = FakeSysfsTree.create(opts.spec, opts.drivers ? { drivers: opts.drivers } : {});
  const kernel = new FakeKernel(tree, opts.kernel);
  const pf = new FakePf(tree);
  const io = createSriovIo({ sysfs: kernel, pf, links: pf, wait: { timeoutMs: 500, intervalMs: 2 } });
  return {
    tree,
    kernel,
    pf,
    io,
    state: () => ({ tree: tree.snapshot(), pf: pf.snapshot() }),
    cleanup: () => tree.cleanup(),
  };
}

export function plan(over: Partial<InterfacePlan> = {}): InterfacePlan {
  return {
    name: 'eth0',
    network: 'sriov-net',
    mac: VM_MAC,
    pciID: '0000:3b:02.1',
    sandbox: FakeSysfsTree.sandbox('pod1'),
    ips: [],
    routes: [],
    dns: emptyDns(),
    ...over,
  };
}

export function input(p: InterfacePlan = plan(), extra: Partial<SriovInput> = {}): SriovInput {
  return { plan: p, options: { sriovEnabled: true }, ...extra };
}

export type Snap = SnapshotFrom<ReturnType<typeof provideSriov>>;

/** Resting: final, or waiting for TEARDOWN (ready, interrupted, teardownFailed). */
const settled = (s: Snap): boolean => s.status !== 'active' || s.matches('ready') || s.matches('interrupted') || s.matches('teardownFailed');

/** Starts the machine, sends START, waits until ready/interrupted/teardownFailed/final. */
export async function start(io: SriovIo, inp: SriovInput) {
  const actor = createActor(provideSriov(io), { input: inp });
  actor.start();
  actor.send({ type: 'START' });
  const snap = await waitFor(actor, settled, { timeout: 5000 });
  return { actor, snap };
}

/** Sends TEARDOWN and waits for a final state or teardownFailed (where TEARDOWN retries). */
export async function teardown(actor: Awaited<ReturnType<typeof start>>['actor']): Promise<Snap> {
  actor.send({ type: 'TEARDOWN' });
  return waitFor(actor, (s) => s.status !== 'active' || s.matches('teardownFailed'), { timeout: 5000 });
}

/** An io whose `method` throws on its nth call; `after` = the effect happened, then it failed (e.g. a lost ack). */
export function failingIo(io: SriovIo, method: keyof SriovIo, when: 'before' | 'after', nth = 1, error: Error = new Error('injected failure')): SriovIo {
  const wrapped = { ...io };
  const orig = io[method] as (req: unknown) => Promise<unknown>;
  let calls = 0;
  (wrapped as Record<string, unknown>)[method] = async (req: unknown) => {
    if (++calls !== nth) return orig(req);
    if (when === 'after') await orig(req);
    throw error;
  };
  return wrapped;
}

/** Which io call (method, nth call) each setup step makes. */
export const STEP_CALL: Record<string, [keyof SriovIo, number]> = {
  detecting: ['detect', 1],
  recording: ['readPf', 1],
  configuringPf: ['setPf', 1],
  unbinding: ['unbindDriver', 1],
  bindingVfio: ['bindVfio', 1],
  waitingVfioDevice: ['waitVfioDevice', 1],
  checkingVlan: ['readPf', 2],
};
