// Shared rig for the VethInterface netns tests: a node netns holding the real CNI bridge
// plugin's bridges, a pod netns whose veths come from real CNI ADDs (host-local IPAM in a
// per-test dataDir), the real kernel io + DHCP pool, and a normalised netns snapshot.
import assert from 'node:assert/strict';
import { assertNetnsRestored, settleDad, settledNetnsView } from '../support/netns-view.js';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createActor, waitFor, type SnapshotFrom } from 'xstate';
import { provideVeth } from '../../src/actors/veth-wiring.js';
import { VETH_UNDO_STEPS } from '../../src/machines/veth-interface.js';
import { addNetworkList, type AddResult } from '../../src/cni/list-ops.js';
import { toConfigList } from '../../src/cni/config.js';
import { configFromPlan } from '../../src/dhcp/config.js';
import { DhcpPool } from '../../src/io/dhcp-pool.js';
import { Rtnl } from '../../src/io/rtnl.js';
import { vethKernelIo } from '../../src/io/veth.js';
import type { VethInput, VethIo, VethResume, VethSettings } from '../../src/machines/veth-contract.js';
import { bridgeAddressFor, bridgeMacFor, interfaceNames } from '../../src/model/names.js';
import type { InterfacePlan } from '../../src/model/plan.js';
import { Topology, sh, type Netns } from '../support/netns.js';
import { assertNoNetnsLeft } from '../support/leaks.js';

export interface PodOptions {
  /** Number of veths (eth0..eth<count-1>), each from its own network/bridge in the node netns. */
  count: number;
  /** The bridge plugin's `mtu` (the pod veth's MTU). */
  mtu?: number;
  /** After ADD, add routes as a chained plugin could: an on-link (scope link) one, one via a gateway with a metric, one with a source. */
  extraRoutes?: boolean;
}

export interface PodRig {
  topo: Topology;
  node: Netns;
  pod: Netns;
  podId: string;
  plans: InterfacePlan[];
  rt: Rtnl;
  pool: DhcpPool;
  /** The real io: kernel effects through rtnetlink/nft, DHCP through the pool. */
  io: VethIo;
  settings(i: number): VethSettings;
  input(i: number, resume?: VethResume): VethInput;
  /** The subnet index of veth i (its addresses are 10.<60+i>.0.x). */
  subnet(i: number): string;
}

type AfterHook = { after: (f: () => void | Promise<void>) => void };

/** Makes the node + pod netns and runs CNI ADD for each veth; everything goes in t.after. */
export async function makePod(t: AfterHook, opts: PodOptions): Promise<PodRig> {
  const topo = new Topology();
  const dir = mkdtempSync(join(tmpdir(), 'netlet-veth-'));
  const opened: { rt?: Rtnl } = {};
  const pool = new DhcpPool(2);
  t.after(async () => {
    try {
      opened.rt?.close();
      await pool.close();
    } finally {
      topo.destroy();
      rmSync(dir, { recursive: true, force: true });
      assertNoNetnsLeft(topo.tag);
    }
  });
  const node = topo.ns('node');
  // Netns.create brings lo up, as the CNI loopback plugin does in a real runtime.
  const pod = topo.ns('pod');
  const podId = `pod${topo.tag}`;
  const subnet = (i: number): string => `10.${60 + i}.0`;
  const plans: InterfacePlan[] = [];
  for (let i = 0; i < opts.count; i++) {
    const ifName = `eth${i}`;
    const list = toConfigList({
      cniVersion: '1.0.0',
      name: `vnet${i}`,
      plugins: [{
        type: 'bridge',
        bridge: topo.name(`b${i}`),
        isGateway: true,
        ipMasq: false,
        ...(opts.mtu ? { mtu: opts.mtu } : {}),
        ipam: {
          type: 'host-local',
          dataDir: join(dir, 'ipam'),
          ranges: [[{ subnet: `${subnet(i)}.0/24`, gateway: `${subnet(i)}.1` }]],
          routes: i === 0 ? [{ dst: '0.0.0.0/0' }, { dst: '192.168.100.0/24' }] : [{ dst: `172.${16 + i}.0.0/16` }],
        },
        dns: { nameservers: ['10.96.0.10'], search: ['svc.cluster.local'] },
      }],
    }, `vnet${i}`);
    const added: AddResult = await addNetworkList(list, { containerId: podId, netns: pod.path, ifName }, {
      wrapper: ['ip', 'netns', 'exec', node.name],
      cacheDir: join(dir, 'cache'),
      timeoutMs: 15_000,
    }, i);
    const plan = added.interfaces.find((p) => p.name === ifName);
    assert.ok(plan?.mac, `CNI ADD gave ${ifName} with a MAC`);
    if (opts.extraRoutes) {
      const ipv4 = plan.ips.find((x) => x.family === 4)!.address;
      pod.ip('route', 'add', `192.0.2.${i * 16}/28`, 'dev', ifName);
      pod.ip('route', 'add', `198.18.${i}.0/24`, 'via', `${subnet(i)}.254`, 'dev', ifName, 'metric', '77');
      pod.ip('route', 'add', `203.0.113.${i * 16}/28`, 'dev', ifName, 'proto', 'static', 'src', ipv4);
    }
    plans.push({ ...plan, mtu: opts.mtu ?? 1500 });
  }
  // IPv6 link-locals finish DAD (their local routes appear then): snapshot a settled netns.
  await settleDad(pod);
  const rt = Rtnl.open(pod.path);
  opened.rt = rt;
  const settings = (i: number): VethSettings => {
    const plan = plans[i]!;
    const vmAddress = plan.ips.find((x) => x.family === 4)?.address;
    return {
      ...interfaceNames(plan.name),
      bridgeAddress: bridgeAddressFor(i),
      bridgeMac: bridgeMacFor(podId, plan.name),
      vmMac: plan.mac!,
      ...(vmAddress ? { vmAddress } : {}),
      queues: 1,
    };
  };
  const planOf = (s: VethSettings): InterfacePlan => {
    const p = plans.find((x) => interfaceNames(x.name).bridge === s.bridge);
    assert.ok(p, `a plan for ${s.bridge}`);
    return p;
  };
  const io: VethIo = {
    ...vethKernelIo(rt),
    startDhcp: async ({ settings: s, rebind }) => {
      const p = planOf(s);
      const req = { key: `${podId}/${p.name}`, netnsPath: pod.path, bridge: s.bridge, config: configFromPlan(p, undefined, { serverId: s.bridgeAddress, leaseSeconds: 600 }) };
      await (rebind ? pool.rebind(req) : pool.serve(req));
    },
    stopDhcp: async ({ settings: s }) => pool.stop(`${podId}/${planOf(s).name}`),
  };
  return {
    topo,
    node,
    pod,
    podId,
    plans,
    rt,
    pool,
    io,
    settings,
    input: (i, resume) => ({ settings: settings(i), ifName: plans[i]!.name, ...(resume ? { resume } : {}) }),
    subnet,
  };
}

// ---- snapshots ----

/**
 * The undo steps in `done` in the chain's order: the nft table and the links are deleted at
 * once (unisolating and unplumbing finish in either order).
 */
export const undoSteps = (done: string[], prefix: 'teardown' | 'rollback'): string[] =>
  done.filter((d) => d.startsWith(`${prefix}:`)).sort((a, b) => UNDO_ORDER.indexOf(a.slice(prefix.length + 1)) - UNDO_ORDER.indexOf(b.slice(prefix.length + 1)));
const UNDO_ORDER: readonly string[] = VETH_UNDO_STEPS;

/** The strict view of test/support/netns-view.ts (kept under the names the veth tests use). */
export const netnsSnapshot = settledNetnsView;
export const assertSameNetns = assertNetnsRestored;

// ---- running the machine ----

export type VethActor = ReturnType<typeof createActor<ReturnType<typeof provideVeth>>>;
export type VethSnap = SnapshotFrom<ReturnType<typeof provideVeth>>;

const settled = (s: VethSnap): boolean =>
  s.status !== 'active' || s.matches('ready') || s.matches('failed') || s.matches('interrupted') || s.matches('teardownFailed');

export async function startVeth(io: VethIo, input: VethInput): Promise<{ actor: VethActor; snap: VethSnap }> {
  const actor = createActor(provideVeth(io), { input });
  actor.start();
  actor.send({ type: 'START' });
  const snap = await waitFor(actor, settled, { timeout: 15_000 });
  return { actor, snap };
}

export async function teardownVeth(actor: VethActor): Promise<VethSnap> {
  actor.send({ type: 'TEARDOWN' });
  return waitFor(actor, (s) => s.status !== 'active' || s.matches('teardownFailed') || s.matches('failed'), { timeout: 15_000 });
}

/** A second, independent teardown as the durable-state layer would run it after a restart. */
export async function teardownAgain(io: VethIo, input: VethInput, prev: VethSnap): Promise<VethSnap> {
  const { actor, snap } = await startVeth(io, { ...input, resume: { done: [...prev.context.done], ...(prev.context.record ? { record: prev.context.record } : {}) } });
  assert.ok(snap.matches('interrupted'), `resumed after teardown: ${JSON.stringify(snap.value)}`);
  return teardownVeth(actor);
}

// ---- frames through a TAP fd ----

/** A child process reading frames from the TAP fd (as fd 3) and printing them as hex lines. */
export function tapReader(fd: number): { child: ChildProcess; frames: Buffer[]; waitFor: (pred: (f: Buffer) => boolean, ms?: number) => Promise<Buffer>; stop: () => Promise<void> } {
  const script = `const fs = require('node:fs'); const b = Buffer.alloc(65600);
    for (;;) { const n = fs.readSync(3, b, 0, b.length, null); process.stdout.write(b.subarray(0, n).toString('hex') + '\\n'); }`;
  const child = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'inherit', fd] });
  const frames: Buffer[] = [];
  let buf = '';
  child.stdout!.on('data', (d: Buffer) => {
    buf += d.toString();
    const parts = buf.split('\n');
    buf = parts.pop()!;
    // Strip the 10-byte virtio-net header (the TAP has IFF_VNET_HDR, as QEMU wants).
    for (const p of parts) frames.push(Buffer.from(p, 'hex').subarray(VNET_HDR));
  });
  return {
    child,
    frames,
    waitFor: async (pred, ms = 5000) => {
      const deadline = Date.now() + ms;
      for (;;) {
        const f = frames.find(pred);
        if (f) return f;
        if (Date.now() > deadline) throw new Error(`no matching frame within ${ms} ms (saw ${frames.length})`);
        await new Promise((r) => setTimeout(r, 20));
      }
    },
    stop: async () => {
      if (child.exitCode === null) {
        const gone = new Promise((r) => child.once('exit', r));
        child.kill('SIGKILL');
        await gone;
      }
    },
  };
}

export const VNET_HDR = 10;
const macBytes = (mac: string): Buffer => Buffer.from(mac.split(':').map((h) => parseInt(h, 16)));
const ipBytes = (ip: string): Buffer => Buffer.from(ip.split('.').map(Number));

/** An ARP request from (mac, ip) for `target`, as a VM would send it. */
export function arpRequest(mac: string, ip: string, target: string): Buffer {
  const eth = Buffer.concat([Buffer.alloc(6, 0xff), macBytes(mac), Buffer.from([0x08, 0x06])]);
  const arp = Buffer.concat([Buffer.from([0, 1, 8, 0, 6, 4, 0, 1]), macBytes(mac), ipBytes(ip), Buffer.alloc(6), ipBytes(target)]);
  return Buffer.concat([eth, arp]);
}

/** A broadcast UDP/IPv4 frame from `mac` (0.0.0.0 -> 255.255.255.255), e.g. a DHCPDISCOVER. */
export function udpBroadcast(mac: string, sport: number, dport: number, payload: Uint8Array): Buffer {
  const udp = Buffer.alloc(8);
  udp.writeUInt16BE(sport, 0);
  udp.writeUInt16BE(dport, 2);
  udp.writeUInt16BE(8 + payload.length, 4);
  const ip = Buffer.alloc(20);
  ip[0] = 0x45;
  ip.writeUInt16BE(20 + 8 + payload.length, 2);
  ip[8] = 64;
  ip[9] = 17;
  ip.fill(0xff, 16, 20);
  let sum = 0;
  for (let i = 0; i < 20; i += 2) sum += ip.readUInt16BE(i);
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  ip.writeUInt16BE(~sum & 0xffff, 10);
  const eth = Buffer.concat([Buffer.alloc(6, 0xff), macBytes(mac), Buffer.from([0x08, 0x00])]);
  return Buffer.concat([eth, ip, udp, Buffer.from(payload)]);
}

/** Whether `nft list table bridge <table>` succeeds in the pod netns. */
export const hasTable = (pod: Netns, table: string): boolean =>
  spawnSync('ip', ['netns', 'exec', pod.name, 'nft', 'list', 'table', 'bridge', table], { stdio: 'ignore' }).status === 0;

export { sh };

type Deleter = (this: Rtnl, ...a: unknown[]) => Promise<void>;

/** The link deletions sent through any Rtnl while `fn` runs, by method. */
export async function deletions<T>(fn: () => Promise<T>): Promise<{ result: T; calls: string[] }> {
  const calls: string[] = [];
  const proto = Rtnl.prototype as unknown as Record<'deleteGroup' | 'deleteLink', Deleter>;
  const orig = { deleteGroup: proto.deleteGroup, deleteLink: proto.deleteLink };
  for (const k of ['deleteGroup', 'deleteLink'] as const) {
    proto[k] = function (this: Rtnl, ...a: unknown[]) {
      calls.push(k);
      return orig[k].apply(this, a);
    };
  }
  try {
    return { result: await fn(), calls };
  } finally {
    Object.assign(proto, orig);
  }
}
