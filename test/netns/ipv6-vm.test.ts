// IPv6 to a real VM (issue #15): a dual-stack pod made by the real bridge plugin
// (host-local IPv4 + IPv6 ranges) through the runtime API; QEMU (software emulation) boots
// the test guest on the TAP fd: udhcpc takes the IPv4 lease, dhcpcd the DHCPv6 address,
// the guest kernel netlet's RA (default route via the bridge's link-local); the guest pings
// a host beyond the node over IPv6 and the node pings the guest. Teardown restores the netns.
import assert from 'node:assert/strict';
import { closeSync } from 'node:fs';
import { test } from 'node:test';
import pino from 'pino';
import { createRuntime, type Runtime } from '../../src/index.js';
import { buildVmImage } from '../../src/vm/image.js';
import { bootVm, type RunningVm } from '../../src/vm/qemu.js';
import { RuntimeRig } from '../support/runtime-rig.js';
import { assertNoNetnsLeft } from '../support/leaks.js';
import { assertNetnsRestored, settledNetnsView } from '../support/netns-view.js';
import { addIpv6Networks, DUAL, FAR } from '../support/ipv6-rig.js';

void test('a QEMU VM on a dual-stack pod: IPv4 by DHCP, IPv6 by DHCPv6 + RA, both default routes, ping beyond the node over IPv6; exact restore', async (t) => {
  const image = await buildVmImage();
  const rig = new RuntimeRig();
  let rt: Runtime | undefined;
  let vm: RunningVm | undefined;
  try {
    rt = await createRuntime({ ...rig.options({ monitorIntervalMs: 0 }), debugSocket: false, logger: pino({ level: 'silent' }) });
    addIpv6Networks(rig);
    const pod = rig.pod('p');
    const before = await settledNetnsView(pod);
    const net = await rt.setupPod({ podId: 'v6-vm', netnsPath: pod.path, annotations: { cni: 'dual' } });
    const tap = net.interfaces[0]!;
    assert.equal(tap.kind, 'tap');
    if (tap.kind !== 'tap') return;
    const v4 = tap.ips.find((i) => !i.address.includes(':'))!.address;
    const v6 = tap.ips.find((i) => i.address.includes(':'))!.address.split('/')[0]!;
    const t0 = Date.now();
    vm = bootVm({ kernel: image.kernel, initrd: image.initrd, nics: [{ fd: tap.fd, mac: tap.mac }], append: `netlet.ipv6=1 netlet.ping6=${FAR}`, timeoutMs: 240_000 });
    for (const fd of tap.fds) closeSync(fd); // QEMU has its own copy
    await vm.waitFor(/lease of \S+ obtained/, 120_000);
    const leaseMs = Date.now() - t0;
    await vm.waitFor(/NETLET-REPORT-BEGIN/, 120_000); // printed once the IPv6 address, RA route and DAD are done
    const v6Ms = Date.now() - t0;
    const report = await vm.report(120_000);
    t.diagnostic(`boot to IPv4 lease ${leaseMs} ms, to IPv6 (DHCPv6 address, RA default route, DAD over) ${v6Ms} ms, to both pings ${Date.now() - t0} ms`);
    t.diagnostic(`guest: ${report.interfaces[0]?.addresses.join(' ')} | ${report.routes6.map((r) => r.raw).join(' | ')}`);
    const out = vm.output().slice(-3000);

    const [eth0] = report.interfaces;
    assert.equal(eth0?.dhcp, true, out);
    assert.equal(eth0?.dhcp6, true, out);
    assert.ok(eth0.addresses.includes(v4), `${eth0.addresses.join(' ')}`);
    const global6 = eth0.addresses.filter((a) => a.includes(':') && !a.startsWith('fe80:'));
    assert.deepEqual(global6.map((a) => a.split('/')[0]), [v6], `only the CNI's IPv6 address (no SLAAC): ${global6.join(' ')}`);
    assert.ok(report.routes.some((r) => r.dst === 'default'), JSON.stringify(report.routes));
    const def6 = report.routes6.find((r) => r.dst === 'default');
    assert.match(def6?.via ?? '', /^fe80::/, `the RA's default route, via the bridge's link-local: ${JSON.stringify(report.routes6)}`);
    assert.ok(report.routes6.some((r) => r.dst === `${DUAL.v6}/64` && !r.via), `the PIO's on-link prefix: ${JSON.stringify(report.routes6)}`);
    assert.ok(report.dns.nameservers.includes(DUAL.dns6), `DHCPv6 DNS: ${JSON.stringify(report.dns)}`);
    assert.deepEqual(report.ping6, { ok: true, target: FAR }, out);
    assert.equal(report.ping?.ok, true, out);
    rig.node.exec('ping', ['-6', '-c', '2', '-W', '2', v6]);

    const st = rt.getPod('v6-vm')!.interfaces[0]!;
    assert.ok(st.ipv6 && st.ipv6.ra.sent >= 1 && st.ipv6.dhcp6.lease.bound, JSON.stringify(st.ipv6));
    await vm.kill();
    await rt.teardownPod('v6-vm');
    await assertNetnsRestored(pod, before, 'dual-stack VM pod');
  } finally {
    await vm?.kill();
    await rt?.close();
    rig.destroy();
  }
  assertNoNetnsLeft(rig.topo.tag);
});
