// Fail closed: a PF that does not enforce what was recorded means no passthrough.
// Also: DPDK-mode VFs, SR-IOV disabled, and idempotent teardown.
import assert from 'node:assert/strict';
import { afterEach, test } from 'node:test';
import type { SriovIo } from '../../../src/machines/sriov-interface.js';
import { SETUP_STEPS } from '../../../src/machines/sriov-interface.js';
import { input, makeWorld, plan, start, teardown, VM_MAC, type World } from './harness.js';

let w: World;
afterEach(() => w.cleanup());

void test('VLAN mismatch after the vfio bind: rolled back, failed VLAN_MISMATCH, tree restored', async () => {
  w = makeWorld();
  const before = w.state();
  w.pf.lie = { pf: 'ens1f0', vf: 1, vlan: 0 }; // the PF lost (or never had) the VLAN
  // Let recording see the truth; lie only from the check on.
  const io: SriovIo = { ...w.io, readPf: async (r) => (w.pf.calls.some((c) => c.op === 'setVfMac') ? w.io.readPf(r) : truthful(r)) };
  const truthful = async (r: { pf: string; vfIndex: number }) => {
    const lie = w.pf.lie;
    w.pf.lie = undefined;
    try {
      return await w.io.readPf(r);
    } finally {
      w.pf.lie = lie;
    }
  };
  const { snap } = await start(io, input());
  assert.equal(snap.value, 'failed');
  assert.equal(snap.context.error?.code, 'VLAN_MISMATCH');
  assert.equal(snap.context.error?.step, 'checkingVlan');
  assert.match(snap.context.error.message, /reports VLAN 0 .*expected VLAN 100/);
  assert.equal(w.tree.driverOf('0000:3b:02.1'), 'iavf', 'no vfio-pci binding left behind');
  assert.ok(snap.context.done.includes('rollback:unbindingVfio'));
  assert.deepEqual(w.state(), before);
});

void test('MAC mismatch (PF ignored the MAC): failed MAC_MISMATCH, tree restored', async () => {
  w = makeWorld();
  const before = w.state();
  const io: SriovIo = {
    ...w.io,
    // A PF driver that acks the MAC change but keeps the old one.
    setPf: async (r) => (r.want.mac === VM_MAC ? undefined : w.io.setPf(r)),
  };
  const { snap } = await start(io, input());
  assert.equal(snap.value, 'failed');
  assert.equal(snap.context.error?.code, 'MAC_MISMATCH');
  assert.deepEqual(w.state(), before);
});

void test('DPDK mode: a VF already on vfio-pci is not unbound/bound, still recorded and checked', async () => {
  w = makeWorld();
  const before = w.state();
  const { actor, snap } = await start(w.io, input(plan({ pciID: '0000:3b:02.2', name: 'net1' })));
  assert.equal(snap.value, 'ready', JSON.stringify(snap.context.error));
  assert.deepEqual(snap.context.done, ['detecting', 'recording', 'configuringPf', 'waitingVfioDevice', 'checkingVlan']);
  assert.equal(snap.context.record!.netdev, null);
  assert.equal(snap.context.vfioDevice, `${w.tree.devRoot}/vfio/62`);
  assert.deepEqual(w.kernel.writes, [], 'no sysfs writes in DPDK mode');
  assert.deepEqual(
    w.pf.calls.map((c) => c.op),
    ['getVf', 'getVf', 'setVfMac', 'getVf'],
  );
  const end = await teardown(actor);
  assert.equal(end.value, 'restored');
  assert.deepEqual(w.kernel.writes, [], 'stays on vfio-pci: that is how it was found');
  assert.deepEqual(end.context.done.filter((s) => s.startsWith('teardown:')), ['teardown:restoringPf']);
  assert.equal(w.tree.driverOf('0000:3b:02.2'), 'vfio-pci');
  assert.deepEqual(w.state(), before);
});

void test('SR-IOV disabled: failed at once with SRIOV_DISABLED naming the option; no io at all', async () => {
  w = makeWorld();
  const touched: string[] = [];
  const io = new Proxy(w.io, {
    get: (t, k: string) => {
      touched.push(k);
      return t[k as keyof SriovIo];
    },
  });
  const { snap } = await start(io, input(plan(), { options: { sriovEnabled: false } }));
  assert.equal(snap.value, 'failed');
  assert.equal(snap.context.error?.code, 'SRIOV_DISABLED');
  assert.match(snap.context.error.message, /sriov\.enabled/);
  assert.deepEqual(touched, []);
  assert.deepEqual(w.kernel.writes, []);
});

void test('teardown is idempotent: a second teardown of the same record changes nothing', async () => {
  w = makeWorld();
  const before = w.state();
  const { actor, snap } = await start(w.io, input());
  const record = snap.context.record!;
  const end = await teardown(actor);
  assert.equal(end.value, 'restored');
  const afterFirst = w.state();
  const writes = w.kernel.writes.length;

  // The durable layer replays teardown (e.g. it crashed before noting it finished).
  const again = await start(w.io, input(plan(), { resume: { done: [...SETUP_STEPS], record, vfioDevice: snap.context.vfioDevice! } }));
  assert.equal(again.snap.value, 'ready', 'a completed setup resumes as ready');
  const end2 = await teardown(again.actor);
  assert.equal(end2.value, 'restored', JSON.stringify(end2.context.undoError));
  assert.equal(w.kernel.writes.length, writes, 'no sysfs writes the second time');
  assert.deepEqual(w.state(), afterFirst);
  assert.deepEqual(w.state(), before);
});

void test('a VF that is not a VF (the PF itself) fails in detecting with NOT_A_VF, nothing touched', async () => {
  w = makeWorld();
  const before = w.state();
  const { snap } = await start(w.io, input(plan({ pciID: '0000:3b:00.0' })));
  assert.equal(snap.value, 'failed');
  assert.equal(snap.context.error?.code, 'NOT_A_VF');
  assert.deepEqual(w.state(), before);
});
