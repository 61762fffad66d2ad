// cloud-init's IPv6 against what DHCPv6 and the RA give (issue #15): on a dual-stack pod
// (real bridge plugin) the rendered static6 address/prefix is the DHCPv6 address plus the
// RA's on-link prefix, and its gateway (the CNI gateway, not the bridge's link-local that
// the RA names) works as the VM's only IPv6 route: a VM-side netns configured from the
// rendered v2 alone (kernel RA off) pings beyond the gateway, and the frames carry the VM's MAC.
import assert from 'node:assert/strict';
import { closeSync } from 'node:fs';
import { test } from 'node:test';
import pino from 'pino';
import { createRuntime, type Runtime } from '../../src/index.js';
import { RuntimeRig } from '../support/runtime-rig.js';
import { assertNoNetnsLeft } from '../support/leaks.js';
import { addIpv6Networks, attachVm, DUAL, FAR } from '../support/ipv6-rig.js';

void test('dual stack: cloud-init static6 = the DHCPv6 address + the RA on-link prefix; its gateway6 (the CNI gateway) carries the VM beyond the node', async () => {
  const rig = new RuntimeRig();
  let rt: Runtime | undefined;
  try {
    rt = await createRuntime({ ...rig.options({ monitorIntervalMs: 0 }), debugSocket: false, logger: pino({ level: 'silent' }) });
    addIpv6Networks(rig);
    const pod = rig.pod('p');
    const net = await rt.setupPod({ podId: 'v6-ci', netnsPath: pod.path, annotations: { cni: 'dual' } });
    net.interfaces.forEach((i) => i.kind === 'tap' && i.fds.forEach((fd) => closeSync(fd)));
    const tap = net.interfaces[0]!;
    assert.ok(tap.kind === 'tap');
    const eth = Object.values(rt.cloudInit('v6-ci')!.networkConfigV2.ethernets)[0]!;
    const static6 = eth.addresses!.filter((a) => a.includes(':'));
    // The worker reports the IPv6 service's status once it serves.
    const statusOf = () => rt?.getPod('v6-ci')?.interfaces[0]?.ipv6;
    for (const end = Date.now() + 10_000; !statusOf() && Date.now() < end; ) await new Promise((r) => setTimeout(r, 50));
    const ipv6 = statusOf()!;
    assert.ok(ipv6, 'IPv6 served');
    // What DHCPv6 leases (addresses) and the RA puts on-link (prefixes) is what static6 says.
    assert.deepEqual(static6.map((a) => a.split('/')[0]), ipv6.dhcp6.lease.addresses);
    assert.deepEqual(static6.map((a) => `${DUAL.v6}/${a.split('/')[1]}`), ipv6.ra.prefixes);
    assert.equal(eth.gateway6, `${DUAL.v6}1`, 'the CNI gateway');
    assert.ok(ipv6.ra.routerLifetime > 0, 'the RA offers the bridge as default router too');

    const { vm, detach } = attachVm(rig, pod, tap, 'vm');
    try {
      for (const a of static6) vm.ip('addr', 'add', a, 'dev', 'eth0', 'nodad');
      vm.ip('-6', 'route', 'add', 'default', 'via', eth.gateway6, 'dev', 'eth0');
      vm.exec('ping', ['-6', '-c', '1', '-w', '10', FAR]);
      // Reached on the link: the gateway's neighbour entry is the node bridge's MAC, not the pod bridge's.
      const nodeMac = rig.node.json<{ address: string }>('link', 'show', 'cnid')[0]!.address;
      const neigh = vm.json<{ dst: string; lladdr?: string }>('-6', 'neigh', 'show', 'dev', 'eth0').find((n) => n.dst === eth.gateway6);
      assert.equal(neigh?.lladdr, nodeMac, JSON.stringify(neigh));
    } finally {
      await detach();
    }
    await rt.teardownPod('v6-ci');
  } finally {
    await rt?.close();
    rig.destroy();
  }
  assertNoNetnsLeft(rig.topo.tag);
});
