// The machine over the real io, fake kernel and fake PF makes exactly the expected
// writes and PF calls, in order, and teardown puts the tree back as it was.
import assert from 'node:assert/strict';
import { afterEach, test } from 'node:test';
import { SETUP_STEPS } from '../../../src/machines/sriov-interface.js';
import { FakeSysfsTree } from '../../support/fake-sysfs.js';
import { VM_MAC, input, makeWorld, plan, start, teardown, type World } from './harness.js';

const PCI = '0000:3b:02.1';
let w: World;
afterEach(() => w.cleanup());

void test('setup binds the VF to vfio-pci with exactly the expected writes; teardown reverses them', async () => {
  w = makeWorld();
  const before = w.state();
  const { actor, snap } = await start(w.io, input());

  assert.equal(snap.value, 'ready', JSON.stringify(snap.context.error));
  assert.deepEqual(snap.context.done, [...SETUP_STEPS]);
  assert.equal(snap.context.vfioDevice, `${w.tree.devRoot}/vfio/61`);
  assert.deepEqual(w.kernel.writes, [
    { path: 'bus/pci/drivers/iavf/unbind', value: PCI },
    { path: `bus/pci/devices/${PCI}/driver_override`, value: 'vfio-pci' },
    { path: 'bus/pci/drivers_probe', value: PCI },
  ]);
  assert.deepEqual(w.pf.calls, [
    { op: 'getVf', pf: 'ens1f0', vf: 1 }, // recording
    { op: 'getVf', pf: 'ens1f0', vf: 1 }, // configuringPf reads, then sets what differs
    { op: 'setVfMac', pf: 'ens1f0', vf: 1, mac: VM_MAC },
    { op: 'getVf', pf: 'ens1f0', vf: 1 }, // checkingVlan
  ]);
  assert.equal(w.tree.driverOf(PCI), 'vfio-pci');
  assert.equal(w.tree.podNetdevs('pod1').size, 0, 'the pod netdev went away with iavf');
  const rec = snap.context.record!;
  assert.deepEqual(rec.netdev, { name: 'eth0', netns: FakeSysfsTree.sandbox('pod1') });
  assert.deepEqual(rec.pf, { mac: '00:00:00:00:00:00', vlan: 100, qos: 0, spoofchk: true, trust: false });

  w.kernel.writes.length = 0;
  w.pf.calls.length = 0;
  const end = await teardown(actor);
  assert.equal(end.value, 'restored', JSON.stringify(end.context.undoError));
  assert.deepEqual(w.kernel.writes, [
    { path: 'bus/pci/drivers/vfio-pci/unbind', value: PCI },
    { path: `bus/pci/devices/${PCI}/driver_override`, value: '\n' },
    { path: 'bus/pci/drivers_probe', value: PCI },
  ]);
  assert.deepEqual(w.pf.calls, [
    { op: 'moveLink', name: 'ens1f0v1', from: 'host', to: { path: FakeSysfsTree.sandbox('pod1') }, newName: 'eth0' },
    { op: 'getVf', pf: 'ens1f0', vf: 1 },
    { op: 'setVfMac', pf: 'ens1f0', vf: 1, mac: '00:00:00:00:00:00' },
  ]);
  assert.deepEqual(end.context.done.slice(SETUP_STEPS.length), [
    'teardown:unbindingVfio',
    'teardown:clearingOverride',
    'teardown:reprobing',
    'teardown:waitingNetdev',
    'teardown:restoringNetns',
    'teardown:restoringPf',
  ]);
  assert.deepEqual(w.state(), before);
});

void test('no write ever uses new_id', async () => {
  w = makeWorld();
  const { actor } = await start(w.io, input());
  await teardown(actor);
  assert.ok(w.kernel.writes.length > 0);
  assert.ok(w.kernel.writes.every((x) => !x.path.endsWith('new_id')));
});

void test('a VF in a non-0000 PCI domain (mlx5) goes through the same steps', async () => {
  w = makeWorld();
  const before = w.state();
  const pci = '0001:5e:00.3';
  const { actor, snap } = await start(w.io, input(plan({ pciID: pci, name: 'net1', sandbox: FakeSysfsTree.sandbox('pod2') })));
  assert.equal(snap.value, 'ready', JSON.stringify(snap.context.error));
  assert.equal(snap.context.record!.vf.pfNetdev, 'ens2f0');
  assert.equal(snap.context.record!.vf.vfIndex, 1);
  assert.deepEqual(
    w.kernel.writes.map((x) => x.path),
    ['bus/pci/drivers/mlx5_core/unbind', `bus/pci/devices/${pci}/driver_override`, 'bus/pci/drivers_probe'],
  );
  assert.equal((await teardown(actor)).value, 'restored');
  assert.deepEqual(w.state(), before);
});

void test('slow kernel: waits for /dev/vfio/<group> and for the netdev to come back', async () => {
  w = makeWorld({ kernel: { vfioNodeDelayMs: 30, netdevDelayMs: 30 } });
  const before = w.state();
  const { actor, snap } = await start(w.io, input());
  assert.equal(snap.value, 'ready', JSON.stringify(snap.context.error));
  assert.equal((await teardown(actor)).value, 'restored');
  // While the netdev was missing, waitNetdev also asked whether it was already home.
  assert.ok(w.pf.calls.some((c) => c.op === 'linkExists'));
  assert.deepEqual(w.state(), before);
});

void test('vfio-pci not loaded: setup times out waiting, rolls back, ends failed with the cause', async () => {
  w = makeWorld({ drivers: ['i40e', 'iavf', 'mlx5_core'] });
  const before = w.state();
  const { snap } = await start(w.io, input());
  assert.equal(snap.value, 'failed');
  assert.equal(snap.context.error?.code, 'VFIO_NOT_BOUND');
  assert.equal(snap.context.error?.step, 'waitingVfioDevice');
  assert.match(snap.context.error.message, /modprobe vfio-pci/);
  assert.equal(snap.context.undoError, undefined);
  assert.deepEqual(w.state(), before);
});

void test('a VF visible in the host netns is detected by netdev name and returns there', async () => {
  w = makeWorld();
  const before = w.state();
  const { actor, snap } = await start(w.io, input(plan({ pciID: undefined, name: 'ens1f0v0', sandbox: undefined })));
  assert.equal(snap.value, 'ready', JSON.stringify(snap.context.error));
  assert.equal(snap.context.record!.vf.pciAddress, '0000:3b:02.0');
  assert.deepEqual(snap.context.record!.netdev, { name: 'ens1f0v0', netns: null });
  assert.equal((await teardown(actor)).value, 'restored');
  assert.ok(!w.pf.calls.some((c) => c.op === 'moveLink'), 'same name in the same netns: nothing to move');
  assert.deepEqual(w.state(), before);
});
