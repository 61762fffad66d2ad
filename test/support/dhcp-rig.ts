// A pod set up the way netlet does it, for DHCP tests: the real bridge + host-local CNI
// plugins give the pod its veth (node side in a throwaway node netns), src/cni parses
// the result, the VethInterface machine plumbs bridge + TAP + isolation and the DHCP
// pool serves the interface. A "VM" is a client netns attached to the pod's bridge.
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createActor, waitFor, type Actor } from 'xstate';
import { provideVeth } from '../../src/actors/veth-wiring.js';
import { addNetworks, delNetworks } from '../../src/cni/index.js';
import { configFromPlan, type DhcpServerConfig } from '../../src/dhcp/index.js';
import { DhcpPool } from '../../src/io/dhcp-pool.js';
import { Rtnl } from '../../src/io/rtnl.js';
import { vethKernelIo } from '../../src/io/veth.js';
import type { VethSettings } from '../../src/machines/veth-contract.js';
import { bridgeMacFor, interfaceNames } from '../../src/model/names.js';
import type { Dns, InterfacePlan } from '../../src/model/plan.js';
import { Topology, type Netns } from './netns.js';

/** What the CNI config below gives the pod (and so what every client must end up with). */
export const CNI_NET = {
  subnet: '10.22.0.0/24',
  prefixLength: 24,
  gateway: '10.22.0.1',
  extraRoute: { dst: '192.168.100.0/24', gateway: '10.22.0.254' },
  nameservers: ['10.22.0.53', '10.22.0.54'],
  search: ['ah.local', 'svc.ah.local'],
  mtu: 1400,
} as const;

export const SERVER_ID = '169.254.253.1';

export interface PodRig {
  topo: Topology;
  node: Netns;
  pod: Netns;
  dir: string;
  /** The node netns bridge the CNI bridge plugin made (it holds the gateway IP). */
  nodeBridge: string;
  /** The host side of the pod's veth, in the node netns. */
  nodeVeth: string;
  plan: InterfacePlan;
  dns: Dns;
  settings: VethSettings;
  key: string;
  config: DhcpServerConfig;
  pool: DhcpPool;
  rt: Rtnl;
  actor: Actor<ReturnType<typeof provideVeth>>;
  vmIp: string;
  /** Machine teardown, pool close, CNI DEL, netns and temp dir removal. Safe to call twice. */
  close(): Promise<void>;
}

export interface PodRigOptions {
  leaseSeconds?: number;
  poolSize?: number;
  /** The kernel io's antiSpoofing (default on, as in the runtime). */
  antiSpoofing?: boolean;
  /** Addresses the VM may use besides CNI's IPv4 (the CNI here gives no IPv6). */
  extraAddresses?: string[];
}

export async function setupPod(opts: PodRigOptions = {}): Promise<PodRig> {
  const topo = new Topology();
  const dir = mkdtempSync(join(tmpdir(), 'netlet-dhcp-'));
  const confDir = join(dir, 'net.d');
  mkdirSync(confDir);
  const cleanups: (() => Promise<void> | void)[] = [() => rmSync(dir, { recursive: true, force: true }), () => topo.destroy()];
  let closed = false;
  const close = async (): Promise<void> => {
    if (closed) return;
    closed = true;
    const errors: unknown[] = [];
    for (const c of cleanups.splice(0).reverse()) {
      try {
        await c();
      } catch (e) {
        errors.push(e);
      }
    }
    if (errors.length) throw errors[0];
  };
  try {
    const node = topo.ns('node');
    const pod = topo.ns('pod');
    const nodeBridge = topo.name('br');
    writeFileSync(join(confDir, '10-br.conflist'), JSON.stringify({
      cniVersion: '1.0.0',
      name: 'dhcpnet',
      plugins: [{
        type: 'bridge',
        bridge: nodeBridge,
        isGateway: true,
        ipMasq: false,
        mtu: CNI_NET.mtu,
        ipam: {
          type: 'host-local',
          dataDir: join(dir, 'ipam'),
          ranges: [[{ subnet: CNI_NET.subnet, gateway: CNI_NET.gateway }]],
          routes: [{ dst: '0.0.0.0/0' }, { dst: CNI_NET.extraRoute.dst, gw: CNI_NET.extraRoute.gateway }],
        },
        dns: { nameservers: CNI_NET.nameservers, search: CNI_NET.search },
      }],
    }));
    const cniBase = { podId: `pod${topo.tag}`, confDir, cacheDir: join(dir, 'cache'), wrapper: ['ip', 'netns', 'exec', node.name], timeoutMs: 10_000 };
    const added = await addNetworks({ ...cniBase, podName: 'vm-0', podNamespace: 'default', netnsPath: pod.path, defaultNetworks: ['dhcpnet'] });
    cleanups.push(async () => { await delNetworks(cniBase); });
    const plan = added.interfaces[0];
    if (!plan?.mac) throw new Error(`CNI gave no interface with a MAC: ${JSON.stringify(added.interfaces)}`);
    const vmIp = plan.ips.find((i) => i.family === 4)?.address;
    if (!vmIp) throw new Error('CNI gave no IPv4 address');
    const nodeVeth = node.json<{ ifname: string; master?: string }>('link').find((l) => l.master === nodeBridge)?.ifname;
    if (!nodeVeth) throw new Error('no host veth on the node bridge');
    const mtu = pod.json<{ mtu: number }>('link', 'show', plan.name)[0]?.mtu;

    const rt = Rtnl.open(pod.path);
    cleanups.push(() => rt.close());
    const pool = new DhcpPool(opts.poolSize ?? 2);
    cleanups.push(() => pool.close());
    const key = `${cniBase.podId}/${plan.name}`;
    const settings: VethSettings = {
      ...interfaceNames(plan.name),
      bridgeAddress: SERVER_ID,
      bridgeMac: bridgeMacFor(cniBase.podId, plan.name),
      vmMac: plan.mac,
      vmAddress: vmIp,
      vmAddresses: [...plan.ips.map((i) => i.address), ...(opts.extraAddresses ?? [])],
      queues: 1,
    };
    const config = configFromPlan(plan, added.dns, { serverId: SERVER_ID, leaseSeconds: opts.leaseSeconds ?? 600, ...(mtu ? { mtu } : {}) });
    const io = {
      ...vethKernelIo(rt, opts.antiSpoofing === undefined ? {} : { antiSpoofing: opts.antiSpoofing }),
      startDhcp: async ({ settings: s, rebind }: { settings: VethSettings; rebind?: boolean }) => {
        const req = { key, netnsPath: pod.path, bridge: s.bridge, config };
        await (rebind ? pool.rebind(req) : pool.serve(req));
      },
      stopDhcp: async () => pool.stop(key),
    };
    const actor = createActor(provideVeth(io), { input: { ifName: plan.name, settings } }).start();
    cleanups.push(async () => {
      actor.send({ type: 'TEARDOWN' });
      const s = await waitFor(actor, (x) => x.status === 'done' || x.matches('teardownFailed') || x.matches('failed'), { timeout: 15_000 });
      actor.stop();
      if (s.matches('teardownFailed')) throw new Error(`teardown failed: ${JSON.stringify(s.context.undoError)}`);
    });
    actor.send({ type: 'START' });
    const s = await waitFor(actor, (x) => x.matches('ready') || x.matches('failed'), { timeout: 15_000 });
    if (!s.matches('ready')) throw new Error(`veth machine did not get ready: ${JSON.stringify(s.context.error)}`);
    return { topo, node, pod, dir, nodeBridge, nodeVeth, plan, dns: added.dns, settings, key, config, pool, rt, actor, vmIp, close };
  } catch (e) {
    await close().catch(() => undefined);
    throw e;
  }
}

/**
 * A "VM": a client netns whose eth0 (the VM's MAC, MTU 1500 so a client setting 1400
 * is visible) is a veth into the pod bridge. Its pod-side end takes the TAP's name (the
 * TAP is deleted first), so the isolation rules, which name the TAP, apply to it as
 * they would to the VM's traffic. detach() deletes the client netns (and so the port).
 */
export function attachVm(rig: PodRig, suffix: string): { vm: Netns; detach: () => void } {
  const port = rig.settings.tap;
  // The port of an earlier VM goes away with its netns, asynchronously in the kernel:
  // delete it if it is still there (it may vanish meanwhile), then wait until it is gone.
  spawnSync('ip', ['-n', rig.pod.name, 'link', 'del', port], { stdio: 'ignore' });
  for (const deadline = Date.now() + 5000; rig.pod.links().includes(port); ) {
    if (Date.now() > deadline) throw new Error(`${port} still present in ${rig.pod.name}`);
    spawnSync('sleep', ['0.02']);
  }
  const vm = rig.topo.ns(suffix);
  rig.pod.ip('link', 'add', port, 'mtu', String(CNI_NET.mtu), 'type', 'veth', 'peer', 'name', 'eth0', 'netns', vm.name);
  rig.pod.ip('link', 'set', port, 'master', rig.settings.bridge, 'up');
  vm.ip('link', 'set', 'eth0', 'address', rig.settings.vmMac, 'mtu', '1500', 'up');
  return { vm, detach: () => vm.delete() };
}
