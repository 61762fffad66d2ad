// A real VM (QEMU software emulation, Debian cloud kernel + busybox initramfs running
// udhcpc) on the interface's TAP gets its lease from netlet's server, set up from a real
// CNI result, and pings its gateway: the CNI bridge plugin's bridge in the node netns.
import assert from 'node:assert/strict';
import { closeSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { openTapFds } from '../../src/io/veth.js';
import { buildVmImage, type VmImage } from '../../src/vm/image.js';
import { bootVm, type RunningVm } from '../../src/vm/qemu.js';
import { CNI_NET, setupPod, type PodRig } from '../support/dhcp-rig.js';
import { assertNoNetnsLeft } from '../support/leaks.js';

let rig: PodRig;
let image: VmImage;
let vm: RunningVm | undefined;
const fds: number[] = [];

before(async () => {
  image = await buildVmImage();
  rig = await setupPod({ leaseSeconds: 600 });
});

after(async () => {
  await vm?.kill();
  for (const fd of fds.splice(0)) closeSync(fd);
  const tag = rig?.topo.tag;
  await rig?.close();
  if (tag) assertNoNetnsLeft(tag);
});

void describe('a QEMU VM on the TAP', () => {
  void it('leases the CNI address, routes, MTU and DNS from netlet and pings its gateway', async (t) => {
    fds.push(...openTapFds(rig.rt, rig.settings, true));
    const t0 = Date.now();
    vm = bootVm({ kernel: image.kernel, initrd: image.initrd, nics: [{ fd: fds[0]!, mac: rig.settings.vmMac }], timeoutMs: 120_000 });
    await vm.waitFor(/lease of \S+ obtained/, 90_000);
    const leaseMs = Date.now() - t0;
    const report = await vm.report(30_000);
    t.diagnostic(`boot to lease ${leaseMs} ms, to report + ping ${Date.now() - t0} ms`);

    const status = rig.pool.status(rig.key);
    assert.ok(status && status.counters.acked >= 1 && status.lease.bound, `our server ACKed: ${JSON.stringify(status)}`);
    assert.match(vm.output(), new RegExp(`lease of ${rig.vmIp.replace(/\./g, '\\.')} obtained from 169\\.254\\.253\\.1`));
    const [eth0] = report.interfaces;
    assert.equal(report.interfaces.length, 1);
    assert.equal(eth0?.mac, rig.settings.vmMac);
    assert.equal(eth0?.mtu, CNI_NET.mtu);
    assert.equal(eth0?.dhcp, true);
    assert.deepEqual(eth0?.addresses.filter((a) => !a.includes(':')), [`${rig.vmIp}/${CNI_NET.prefixLength}`]);
    const route = (dst: string): string | undefined => report.routes.find((r) => r.dst === dst)?.via;
    assert.equal(route('default'), CNI_NET.gateway, JSON.stringify(report.routes));
    assert.equal(route(CNI_NET.extraRoute.dst), CNI_NET.extraRoute.gateway, JSON.stringify(report.routes));
    assert.deepEqual(report.dns, { nameservers: [...CNI_NET.nameservers], search: [...CNI_NET.search] });
    assert.deepEqual(report.ping, { ok: true, gateway: CNI_NET.gateway });
    // And the other way: the node reaches the VM through the pod's veth.
    rig.node.exec('ping', ['-c', '2', '-W', '2', rig.vmIp]);
  });
});
