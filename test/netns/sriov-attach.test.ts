// SR-IOV hot-plug through the real Pod wiring over the fake sysfs tree and PF: a ready pod
// with a veth (bridge + TAP + DHCP) gets a VF attached (the CNI result's pciID), which goes
// to vfio-pci with its MAC set on the PF and shows in status and network with its PCI
// address; detach gives the VF back to its host driver and the tree and PF table equal
// their state before the attach. A failing sysfs write during the attach undoes the VF
// alone: the veth keeps serving, and a retried attach works.
// Root: the Pod opens rtnetlink in the pod netns (the veth is real; the VF is in the fake tree).
import assert from 'node:assert/strict';
import { closeSync as closeFd, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, test } from 'node:test';
import pino from 'pino';
import { Pod, type PodRequest } from '../../src/actors/pod.js';
import { runtimeOptionsSchema, validate } from '../../src/actors/options.js';
import { DhcpPool } from '../../src/io/dhcp-pool.js';
import { StateStore } from '../../src/io/state-store.js';
import type { NetletError } from '../../src/model/errors.js';
import { FakeSysfsTree } from '../support/fake-sysfs.js';
import { Topology, vethPair, type Netns } from '../support/netns.js';
import { makeWorld, type World } from '../unit/sriov/harness.js';

const VF = '0001:5e:00.3'; // mlx5, net1 in the fake netns pod2, PF ens2f0 VF 1
const VF_MAC = '02:00:00:00:00:02';
const PROBE = /^bus\/pci\/drivers_probe$/;

let w: World;
let topo: Topology;
let pod: Netns;
let dir: string;
let store: StateStore;
let dhcp: DhcpPool;

beforeEach(() => {
  w = makeWorld();
  topo = new Topology();
  pod = topo.ns('pod');
  vethPair(pod, 'eth0', topo.ns('node'), topo.name('h0'));
  pod.ip('addr', 'add', '10.95.0.5/24', 'dev', 'eth0');
  dir = mkdtempSync(join(tmpdir(), 'netlet-sriov-attach-'));
  store = new StateStore(join(dir, 'state'));
  dhcp = new DhcpPool(1);
});
afterEach(async () => {
  await dhcp.close();
  topo.destroy();
  rmSync(dir, { recursive: true, force: true });
  w.cleanup();
});

function newPod(): Pod {
  const opts = validate(runtimeOptionsSchema, { stateDir: store.dir, runDir: join(dir, 'run'), sriov: { enabled: true }, monitorIntervalMs: 0, debugSocket: false }, 'test options');
  const mac = pod.json<{ address: string }>('link', 'show', 'eth0')[0]!.address;
  const veth = { cniVersion: '1.0.0', interfaces: [{ name: 'eth0', mac, sandbox: pod.path }], ips: [{ address: '10.95.0.5/24', gateway: '10.95.0.1', interface: 0 }] };
  const req: PodRequest = { podId: 'pod-attach', netnsPath: pod.path, cniResult: [veth] };
  return new Pod({ opts, store, pool: dhcp, sriovIo: () => w.io, log: pino({ level: 'silent' }) }, req);
}

const vfResult = { cniVersion: '1.1.0', interfaces: [{ name: 'net1', mac: VF_MAC, sandbox: FakeSysfsTree.sandbox('pod2'), pciID: VF }], ips: [] };

/** The veth still serves: ready, its TAP in the network, and DHCP running on it. */
function assertVethServing(p: Pod): void {
  const st = p.status();
  assert.equal(st.phase, 'ready');
  const eth0 = st.interfaces.find((i) => i.name === 'eth0');
  assert.equal(eth0?.state, 'ready');
  assert.ok(dhcp.isServing('pod-attach/eth0'), 'eth0 has its DHCP server');
  const net = p.network();
  assert.deepEqual(net.interfaces.map((i) => `${i.kind} ${i.name}`), ['tap eth0']);
  for (const i of net.interfaces) if (i.kind === 'tap') for (const fd of i.fds) closeFd(fd);
  assert.ok(pod.links().some((l) => l.startsWith('nt-eth0')), 'the TAP is there');
}


void test('attach a VF to a ready pod: vfio-pci, MAC on the PF, status and network with its PCI address; detach: host driver back, tree and PF as before', async () => {
  const p = newPod();
  await p.setup();
  assert.equal(p.phase, 'ready');
  const before = w.state();
  const writesBefore = w.kernel.writes.length;
  const callsBefore = w.pf.calls.length;

  const nic = await p.attach({ ifName: 'net1', network: 'sriov-net', cniResult: vfResult });
  assert.deepEqual({ ...nic, ips: undefined }, { kind: 'sriov', name: 'net1', pciAddress: VF, mac: VF_MAC, vlan: 100, mtu: nic.mtu, ips: undefined });
  assert.equal(w.tree.driverOf(VF), 'vfio-pci');
  const writes = w.kernel.writes.slice(writesBefore);
  assert.deepEqual(writes.map((x) => `${x.path} ${x.value.trim()}`), [
    `bus/pci/drivers/mlx5_core/unbind ${VF}`,
    `bus/pci/devices/${VF}/driver_override vfio-pci`,
    `bus/pci/drivers_probe ${VF}`,
  ], 'off the host driver, onto vfio-pci by driver_override + drivers_probe');
  const calls = w.pf.calls.slice(callsBefore);
  assert.ok(calls.some((c) => c.op === 'setVfMac' && c.pf === 'ens2f0' && c.vf === 1 && c.mac === VF_MAC), `MAC set on the PF: ${JSON.stringify(calls)}`);
  assert.deepEqual({ mac: w.pf.table.get('ens2f0')!.get(1)!.mac, vlan: w.pf.table.get('ens2f0')!.get(1)!.vlan }, { mac: VF_MAC, vlan: 100 });

  const st = p.status();
  assert.equal(st.phase, 'ready');
  const net1 = st.interfaces.find((i) => i.name === 'net1');
  assert.equal(net1?.state, 'ready');
  assert.equal(net1?.pciAddress, VF);
  assert.ok(net1?.attachedAt, 'marked as hot-plugged');
  assert.equal(st.lastChange?.outcome, 'done');
  const inNetwork = p.network(['net1']).interfaces[0];
  assert.equal(inNetwork?.kind === 'sriov' ? inNetwork.pciAddress : undefined, VF);

  await p.detach('net1');
  assert.equal(w.tree.driverOf(VF), 'mlx5_core', 'the VF is back on its host driver');
  assert.deepEqual(w.state(), before, 'tree and PF table as before the attach');
  assert.equal(p.status().interfaces.find((i) => i.name === 'net1'), undefined);
  assertVethServing(p);
  await p.teardown();
});

void test('a sysfs write failing during the attach undoes the VF alone: the veth keeps serving; a retried attach works', async () => {
  const p = newPod();
  await p.setup();
  const before = w.state();
  w.kernel.failWrite(PROBE, 1, 'EBUSY', VF);

  await assert.rejects(p.attach({ ifName: 'net1', network: 'sriov-net', cniResult: vfResult }), (e: NetletError) =>
    /attach of net1 failed: .*drivers_probe.*rolled back, the pod's other interfaces are untouched/.test(e.message));
  assert.equal(w.tree.driverOf(VF), 'mlx5_core');
  assert.deepEqual(w.state(), before, 'the VF undone: tree and PF table as before');
  assert.equal(p.status().lastChange?.outcome, 'rolledBack');
  assert.equal(p.status().interfaces.find((i) => i.name === 'net1'), undefined);
  assertVethServing(p);

  const nic = await p.attach({ ifName: 'net1', network: 'sriov-net', cniResult: vfResult });
  assert.equal(nic.kind === 'sriov' ? nic.pciAddress : undefined, VF);
  await p.detach('net1');
  assert.deepEqual(w.state(), before);
  await p.teardown();
  assert.equal(p.phase, 'gone');
});
