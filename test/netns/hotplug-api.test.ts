// attachInterface/detachInterface end to end with real namespaces and the real bridge
// plugin: attach a second network to a ready pod (CNI ADD, DHCP, cloud-init, default-route
// policy), detach it (netns as before the attach, CNI released); a caller's cniResult; the
// refusals (nothing changed); an attach failing mid-way undoes that interface only.
import assert from 'node:assert/strict';
import { closeSync } from 'node:fs';
import { test } from 'node:test';
import pino from 'pino';
import { createRuntime, type PodInterface, type PodNetwork, type Runtime } from '../../src/index.js';
import type { DhcpPool } from '../../src/io/dhcp-pool.js';
import { vethPair } from '../support/netns.js';
import { assertNoFdLeak, assertNoNetnsLeft, fdSnapshot } from '../support/leaks.js';
import { RuntimeRig } from '../support/runtime-rig.js';
import { assertNetnsRestored, settledNetnsView } from '../support/netns-view.js';

const silent = pino({ level: 'silent' });
const closeIface = (i: PodInterface | undefined): void => void (i?.kind === 'tap' && i.fds.forEach((fd) => closeSync(fd)));
const closeFds = (n: PodNetwork | undefined): void => n?.interfaces.forEach(closeIface);
const poolOf = (rt: Runtime): DhcpPool => (rt as unknown as Record<symbol, DhcpPool>)[Symbol.for('netlet.test.dhcpPool')]!;

async function withRig(fn: (rig: RuntimeRig, rt: Runtime) => Promise<void>): Promise<void> {
  const fds = fdSnapshot();
  const rig = new RuntimeRig();
  let rt: Runtime | undefined;
  try {
    rt = await createRuntime({ ...rig.options(), logger: silent });
    await fn(rig, rt);
  } finally {
    await rt?.close();
    rig.destroy();
  }
  assertNoNetnsLeft(rig.topo.tag);
  assertNoFdLeak(fds, 'the runtime');
}

void test('attach netb to a ready pod on neta: TAP + DHCP before it resolves, no default route, cloud-init and instance id change; detach: netns as before, CNI released', async (t) => {
  await withRig(async (rig, rt) => {
    const pod = rig.pod('hp');
    closeFds(await rt.setupPod({ podId: 'hp', netnsPath: pod.path, annotations: { cni: 'neta' } }));
    const id0 = rt.cloudInit('hp')!.instanceId;
    const allocs0 = rig.allocations();
    const before = await settledNetnsView(pod);
    const t0 = performance.now();
    const added = await rt.attachInterface('hp', { ifName: 'eth1', network: 'netb' });
    const attachMs = performance.now() - t0;
    closeIface(added);
    assert.equal(added.kind, 'tap');
    assert.equal(added.name, 'eth1');
    assert.match(added.ips[0]!.address, /^10\.92\.0\.\d+\/24$/);
    assert.ok(poolOf(rt).isServing('hp/eth1'), 'DHCP serves eth1 when attach resolves');
    assert.ok(poolOf(rt).isServing('hp/eth0'), 'eth0 still served');
    const st = rt.getPod('hp')!;
    assert.equal(st.phase, 'ready');
    assert.deepEqual(st.lastChange, { op: 'attach', interface: 'eth1', outcome: 'done' });
    assert.ok(st.interfaces.find((i) => i.name === 'eth1')?.attachedAt, 'attachedAt set');
    assert.equal(st.interfaces.find((i) => i.name === 'eth0')?.attachedAt, undefined);
    const ci = rt.cloudInit('hp')!;
    assert.notEqual(ci.instanceId, id0, 'instance id changes with the set of interfaces');
    assert.match(ci.networkConfigV1Yaml, /10\.92\.0\./);
    // Fresh fds of eth0 too: nt-eth0's carrier blinks on and off, as when a VM restarts (the
    // settled view below waits for the kernel's linkwatch to show it off again).
    const net = rt.getNetwork('hp')!;
    closeFds(net);
    assert.deepEqual(net.interfaces.map((i) => i.name), ['eth0', 'eth1']);
    // Default-route policy: netb's default route stays with eth0 (neta).
    assert.equal(net.interfaces[1]!.ips[0]!.gateway, '10.92.0.1');
    const gw = (name: string) => (ci.networkConfigV1 as { config: { name?: string; subnets?: { gateway?: string }[] }[] }).config.find((c) => c.name === name)?.subnets?.[0]?.gateway;
    assert.deepEqual([gw('eth0'), gw('eth1')], ['10.91.0.1', undefined], `the default route stays on eth0: ${ci.networkConfigV1Yaml}`);
    assert.equal(rig.cacheEntries().filter((e) => e.startsWith('netb-')).length, 1);
    await assert.rejects(rt.attachInterface('hp', { ifName: 'eth1', network: 'netb' }), (e: { code?: string }) => e.code === 'IFNAME_IN_USE');

    const t1 = performance.now();
    await rt.detachInterface('hp', 'eth1');
    const detachMs = performance.now() - t1;
    await rt.detachInterface('hp', 'eth1'); // idempotent
    await rt.detachInterface('hp', 'nope');
    assert.ok(!poolOf(rt).isServing('hp/eth1'));
    assert.ok(poolOf(rt).isServing('hp/eth0'));
    assert.equal(rt.getPod('hp')!.phase, 'ready');
    assert.equal(rt.cloudInit('hp')!.instanceId, id0, 'back to the same interfaces, the same instance id');
    await assertNetnsRestored(pod, before, 'the pod netns as before the attach');
    assert.deepEqual(rig.cacheEntries().filter((e) => e.startsWith('netb-')), [], 'CNI DEL ran for netb');
    assert.deepEqual(rig.allocations(), allocs0, 'netb address released');
    // Attach again under the same name: a fresh child.
    closeIface(await rt.attachInterface('hp', { ifName: 'eth1', network: 'netb' }));
    assert.equal(rt.getPod('hp')!.phase, 'ready');
    await rt.teardownPod('hp');
    assert.deepEqual(rig.cacheEntries(), [], 'teardown DELs the attached network too');
    assert.deepEqual(rig.allocations(), {});
    t.diagnostic(`attach (CNI ADD + bridge/TAP/DHCP) ${attachMs.toFixed(0)} ms, detach ${detachMs.toFixed(0)} ms`);
  });
});

void test('refusals: unknown pod, ifName in use (pod or netns), unknown network, a result that does not describe the ifName, no network nor result; nothing changes', async () => {
  await withRig(async (rig, rt) => {
    const pod = rig.pod('er');
    closeFds(await rt.setupPod({ podId: 'er', netnsPath: pod.path, annotations: { cni: 'neta' } }));
    pod.ip('link', 'add', 'dum0', 'type', 'veth', 'peer', 'name', 'dum1');
    const before = await settledNetnsView(pod);
    const cache0 = rig.cacheEntries();
    const code = (c: string, re?: RegExp) => (e: { code?: string; message: string }) => {
      assert.equal(e.code, c, e.message);
      if (re) assert.match(e.message, re);
      return true;
    };
    await assert.rejects(rt.attachInterface('nope', { ifName: 'eth1', network: 'netb' }), code('POD_NOT_FOUND'));
    await assert.rejects(rt.attachInterface('er', { ifName: 'eth0', network: 'netb' }), code('IFNAME_IN_USE', /eth0/));
    await assert.rejects(rt.attachInterface('er', { ifName: 'dum0', network: 'netb' }), code('IFNAME_IN_USE', /dum0/));
    await assert.rejects(rt.attachInterface('er', { ifName: 'eth1', network: 'netz' }), code('CNI_NETWORK_NOT_FOUND', /netz.*neta/));
    await assert.rejects(rt.attachInterface('er', { ifName: 'eth1' }), code('INVALID_REQUEST'));
    await assert.rejects(rt.attachInterface('er', { ifName: 'bad/name', network: 'netb' }), code('INVALID_REQUEST'));
    const other = { cniVersion: '1.0.0', interfaces: [{ name: 'eth7', mac: '02:00:00:00:00:07', sandbox: pod.path }], ips: [{ address: '10.94.0.5/24', interface: 0 }] };
    await assert.rejects(rt.attachInterface('er', { ifName: 'eth1', cniResult: other }), code('INTERFACE_NOT_IN_RESULT', /eth7/));
    const st = rt.getPod('er')!;
    assert.equal(st.phase, 'ready');
    assert.equal(st.interfaces.length, 1);
    assert.equal(st.lastChange?.outcome, 'rolledBack');
    await assertNetnsRestored(pod, before, 'nothing changed');
    assert.deepEqual(rig.cacheEntries(), cache0);
    await rt.teardownPod('er');
    await assert.rejects(rt.attachInterface('er', { ifName: 'eth1', network: 'netb' }), code('POD_NOT_FOUND'));
  });
});

void test('attach with the caller\'s cniResult (CNI 0.4.0): no CNI runs; detach restores the veth exactly and runs no DEL', async () => {
  await withRig(async (rig, rt) => {
    const pod = rig.pod('gv');
    closeFds(await rt.setupPod({ podId: 'gv', netnsPath: pod.path, annotations: { cni: 'neta' } }));
    vethPair(pod, 'net1', rig.node, rig.topo.name('gvp'), { mtu: 1400 });
    pod.ip('addr', 'add', '10.93.0.5/24', 'dev', 'net1');
    pod.ip('route', 'add', '10.250.0.0/16', 'via', '10.93.0.1');
    const mac = pod.json<{ address: string }>('link', 'show', 'net1')[0]!.address;
    const before = await settledNetnsView(pod);
    const cache0 = rig.cacheEntries();
    const result = {
      cniVersion: '0.4.0',
      interfaces: [{ name: 'net1', mac, sandbox: pod.path }],
      ips: [{ version: '4', address: '10.93.0.5/24', gateway: '10.93.0.1', interface: 0 }],
      routes: [{ dst: '10.250.0.0/16', gw: '10.93.0.1' }, { dst: '0.0.0.0/0', gw: '10.93.0.1' }],
    };
    const i = await rt.attachInterface('gv', { ifName: 'net1', cniResult: JSON.stringify(result) });
    closeIface(i);
    assert.deepEqual([i.kind, i.mac, i.mtu, i.ips], ['tap', mac, 1400, [{ address: '10.93.0.5/24', gateway: '10.93.0.1' }]]);
    assert.ok(poolOf(rt).isServing('gv/net1'));
    assert.deepEqual(rig.cacheEntries(), cache0, 'no CNI ran');
    const yaml = rt.cloudInit('gv')!.networkConfigV1Yaml;
    assert.match(yaml, /10\.250\.0\.0/);
    await rt.detachInterface('gv', 'net1');
    await assertNetnsRestored(pod, before, 'net1 as the caller left it');
    assert.deepEqual(rig.cacheEntries(), cache0);
    await rt.teardownPod('gv');
  });
});

void test('an attach that fails mid-setup undoes that interface only: the pod stays ready, eth0 serves on, the error is recorded', async () => {
  await withRig(async (rig, rt) => {
    const pod = rig.pod('fl');
    closeFds(await rt.setupPod({ podId: 'fl', netnsPath: pod.path, annotations: { cni: 'neta' } }));
    // A link of another kind under the bridge name netlet would make: plumbing refuses it.
    pod.ip('link', 'add', 'nb-eth1', 'type', 'veth', 'peer', 'name', 'nbx');
    const allocs0 = rig.allocations();
    const before = await settledNetnsView(pod);
    await assert.rejects(rt.attachInterface('fl', { ifName: 'eth1', network: 'netb' }), (e: { code?: string; message: string }) => {
      assert.match(e.message, /attach of eth1 failed: .*nb-eth1.*rolled back/);
      return true;
    });
    const st = rt.getPod('fl')!;
    assert.equal(st.phase, 'ready');
    assert.deepEqual(st.interfaces.map((i) => [i.name, i.state]), [['eth0', 'ready']]);
    assert.equal(st.lastChange?.outcome, 'rolledBack');
    assert.match(st.lastChange?.error ?? '', /nb-eth1/);
    assert.ok(poolOf(rt).isServing('fl/eth0'));
    await assertNetnsRestored(pod, before, 'eth1 gone again (CNI DEL), the rest untouched');
    assert.deepEqual(rig.allocations(), allocs0);
    assert.equal(rig.cacheEntries().filter((e) => e.startsWith('netb-')).length, 0);
    pod.ip('link', 'del', 'nb-eth1');
    closeIface(await rt.attachInterface('fl', { ifName: 'eth1', network: 'netb' }));
    await rt.teardownPod('fl');
  });
});
