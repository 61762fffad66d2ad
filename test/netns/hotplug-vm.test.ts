// Hot-plug proven with a real hypervisor: a QEMU VM (software emulation, busybox guest
// running udhcpc) boots with one NIC on a pod set up on a real bridge-plugin network
// (neta); attachInterface adds a second real network (netb) and its TAP fd goes to QEMU
// over QMP (getfd + netdev_add + device_add on a pcie-root-port); the guest sees the new
// NIC and leases netb's address from netlet; then device_del + netdev_del over QMP and
// detachInterface: the pod netns is as before the attach.
import assert from 'node:assert/strict';
import { closeSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import pino from 'pino';
import { createRuntime, type Runtime } from '../../src/index.js';
import { buildVmImage } from '../../src/vm/image.js';
import { bootVm, hotplugSlot, type RunningVm } from '../../src/vm/qemu.js';
import { QmpClient, hotplugNic, unplugNic } from '../../src/vm/qmp.js';
import { HOTPLUG_MARK } from '../../src/vm/guest-scripts.js';
import { assertNoNetnsLeft } from '../support/leaks.js';
import { RuntimeRig } from '../support/runtime-rig.js';
import { assertNetnsRestored, settledNetnsView } from '../support/netns-view.js';

void test('a running VM gets a second network by hot-plug (attachInterface + QMP), leases its address, and loses it again (QMP + detachInterface): the pod netns as before', async (t) => {
  const image = await buildVmImage();
  const rig = new RuntimeRig();
  let rt: Runtime | undefined;
  let vm: RunningVm | undefined;
  let qmp: QmpClient | undefined;
  try {
    rt = await createRuntime({ ...rig.options(), logger: pino({ level: 'silent' }) });
    const pod = rig.pod('vm');
    const net = await rt.setupPod({ podId: 'vm', netnsPath: pod.path, annotations: { cni: 'neta' } });
    const eth0 = net.interfaces[0]!;
    assert.equal(eth0.kind, 'tap');
    const qmpPath = join(rig.paths.run, 'qmp.sock');
    vm = bootVm({
      kernel: image.kernel, initrd: image.initrd, nics: [{ fd: eth0.fd, mac: eth0.mac }],
      qmpSocket: qmpPath, hotplugSlots: 2, append: 'netlet.hotplug=1', timeoutMs: 240_000,
    });
    for (const fd of eth0.fds) closeSync(fd); // QEMU has its own copy
    const report = await vm.report(180_000);
    assert.equal(report.interfaces[0]?.dhcp, true, vm.output().slice(-2000));
    qmp = await QmpClient.connect(qmpPath);
    const before = await settledNetnsView(pod);

    // Attach: CNI ADD of netb, bridge + TAP + DHCP, then QMP.
    const t0 = performance.now();
    const nic = await rt.attachInterface('vm', { ifName: 'eth1', network: 'netb' });
    const tAttach = performance.now() - t0;
    assert.equal(nic.kind, 'tap');
    if (nic.kind !== 'tap') return;
    const t1 = performance.now();
    await hotplugNic(qmp, { id: 'nic1', fd: nic.fd, mac: nic.mac, bus: hotplugSlot(0) });
    const tQmp = performance.now() - t1;
    for (const fd of nic.fds) closeSync(fd);
    const m = await vm.waitFor(new RegExp(`${HOTPLUG_MARK} add (eth\\d+) (\\S+) (ok|fail) (\\S*)\\n`), 60_000);
    const tLease = performance.now() - t0;
    assert.equal(m[2], nic.mac, 'the guest NIC has the CNI MAC');
    assert.equal(m[3], 'ok', `udhcpc got a lease: ${vm.output().slice(-1500)}`);
    assert.equal(m[4], nic.ips[0]!.address, 'the lease is netb\'s address for the pod');
    assert.match(m[4], /^10\.92\.0\.\d+\/24$/);
    const st = rt.getPod('vm')!;
    assert.equal(st.phase, 'ready');
    assert.ok(st.interfaces.find((i) => i.name === 'eth1')?.dhcp?.counters.acked, 'netlet ACKed on eth1');

    // Detach: QMP first (QEMU lets go of the TAP), then netlet.
    const t2 = performance.now();
    await unplugNic(qmp, 'nic1');
    const tUnplug = performance.now() - t2;
    await vm.waitFor(new RegExp(`${HOTPLUG_MARK} del ${m[1]}`), 30_000);
    const t3 = performance.now();
    await rt.detachInterface('vm', 'eth1');
    const tDetach = performance.now() - t3;
    await assertNetnsRestored(pod, before, 'the pod netns as before the attach');
    assert.equal(rig.cacheEntries().filter((e) => e.startsWith('netb-')).length, 0);
    t.diagnostic(`attachInterface ${tAttach.toFixed(0)} ms, QMP getfd+netdev_add+device_add ${tQmp.toFixed(0)} ms, guest lease ${tLease.toFixed(0)} ms after the attach call; QMP device_del→DEVICE_DELETED→netdev_del ${tUnplug.toFixed(0)} ms, detachInterface ${tDetach.toFixed(0)} ms`);
    await rt.teardownPod('vm');
  } finally {
    qmp?.close();
    await vm?.kill();
    await rt?.close();
    rig.destroy();
  }
  assertNoNetnsLeft(rig.topo.tag);
});
