// The in-process API end to end with real namespaces and the real bridge plugin (run in
// a throwaway node netns): setupPod/teardownPod/getNetwork/getPod/podEvents, given CNI
// results, bad requests, an interface failing mid-setup, and the monitor (a TAP deleted
// behind netlet's back; a DHCP worker killed). Each test builds its own rig and removes it.
import assert from 'node:assert/strict';
import { closeSync, readFileSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import pino from 'pino';
import { createRuntime, type PodNetwork, type Runtime } from '../../src/index.js';
import type { DhcpPool } from '../../src/io/dhcp-pool.js';
import { vethPair, type Netns } from '../support/netns.js';
import { assertNoFdLeak, assertNoNetnsLeft, fdSnapshot } from '../support/leaks.js';
import { RuntimeRig } from '../support/runtime-rig.js';
import { assertNetnsRestored, settledNetnsView, type NetnsView } from '../support/netns-view.js';
import { deletions } from './veth-rig.js';

const silent = pino({ level: 'silent' });
const closeFds = (n: PodNetwork | undefined): void => n?.interfaces.forEach((i) => i.kind === 'tap' && i.fds.forEach((fd) => closeSync(fd)));
const taps = (n: PodNetwork) => n.interfaces.flatMap((i) => (i.kind === 'tap' ? [i] : []));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
async function until<T>(what: string, f: () => T | undefined | false, timeoutMs = 8000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = f();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(25);
  }
}
/** Whether a TAP has a reader/writer: a persistent TAP with no fd attached has no carrier. */
const carrier = (ns: Netns, tap: string): boolean => !(ns.json<{ flags: string[] }>('link', 'show', tap)[0]?.flags ?? []).includes('NO-CARRIER');

/** The MAC CNI reported for a pod's interface, from the CNI cache (libcni layout). */
function cniMac(rig: RuntimeRig, network: string, ifName: string): string {
  const f = rig.cacheEntries().find((e) => e.startsWith(`${network}-`) && e.endsWith(`-${ifName}`));
  assert.ok(f, `a cache entry for ${network}/${ifName}`);
  const c = JSON.parse(readFileSync(join(rig.paths.cache, 'results', f), 'utf8')) as { result: { interfaces: { name: string; mac: string; sandbox?: string }[] } };
  return c.result.interfaces.find((i) => i.name === ifName && i.sandbox)!.mac;
}

async function withRig(fn: (rig: RuntimeRig, open: (extra?: Record<string, unknown>) => Promise<Runtime>) => Promise<void>): Promise<void> {
  const fds = fdSnapshot();
  const rig = new RuntimeRig();
  const runtimes: Runtime[] = [];
  try {
    await fn(rig, async (extra = {}) => {
      const rt = await createRuntime({ ...rig.options(extra), logger: silent });
      runtimes.push(rt);
      return rt;
    });
  } finally {
    for (const rt of runtimes) await rt.close();
    rig.destroy();
  }
  assertNoNetnsLeft(rig.topo.tag);
  assertNoFdLeak(fds, 'the runtime');
}

void test('setupPod with two CNI networks → ready; repeated setupPod: same network, fresh fds, no CNI; teardownPod idempotent; netns as before CNI', async (t) => {
  await withRig(async (rig, open) => {
    const pod = rig.pod('pod');
    const before = await settledNetnsView(pod);
    const rt = await open();
    let t0 = performance.now();
    const net = await rt.setupPod({ podId: 'p1', podName: 'vm', podNamespace: 'default', netnsPath: pod.path, annotations: { cni: 'neta,netb' }, hostname: 'vm1' });
    const setupMs = performance.now() - t0;
    try {
      assert.equal(rt.getPod('p1')?.phase, 'ready');
      assert.deepEqual(rt.getPod('p1')?.interfaces.map((i) => [i.name, i.kind, i.state]), [['eth0', 'tap', 'ready'], ['eth1', 'tap', 'ready']]);
      const [a, b] = taps(net);
      assert.ok(a && b && net.interfaces.length === 2);
      assert.deepEqual([a.name, a.tapName, a.bridgeName, a.mtu], ['eth0', 'nt-eth0', 'nb-eth0', 1450]);
      assert.deepEqual([b.name, b.tapName, b.bridgeName, b.mtu], ['eth1', 'nt-eth1', 'nb-eth1', 1500]);
      assert.equal(a.mac, cniMac(rig, 'neta', 'eth0'), 'the VM gets the MAC CNI gave the veth');
      assert.equal(b.mac, cniMac(rig, 'netb', 'eth1'));
      assert.match(a.ips[0]!.address, /^10\.91\.0\.\d+\/24$/);
      assert.equal(a.ips[0]!.gateway, '10.91.0.1');
      assert.match(b.ips[0]!.address, /^10\.92\.0\.\d+\/24$/);
      // The fds are the TAPs: attached, they give the TAP its carrier.
      for (const i of [a, b]) {
        assert.equal(i.fd, i.fds[0]);
        assert.equal(readlinkSync(`/proc/self/fd/${i.fd}`), '/dev/net/tun');
        assert.ok(carrier(pod, i.tapName), `${i.tapName} has a carrier while the fd is open`);
      }
      assert.match(net.cloudInit.networkConfigV1Yaml, new RegExp(`mac_address: ${a.mac}[\\s\\S]*address: ${a.ips[0]!.address.split('/')[0]}`));
      assert.match(net.cloudInit.networkConfigV2Yaml, /eth1/);
      assert.ok(net.cloudInit.instanceId.length > 0);
      const allocs = rig.allocations();
      assert.equal(Object.keys(allocs).length, 2, 'two host-local allocations');
      const cache = rig.cacheEntries();
      assert.equal(cache.length, 2);
      const events = rt.podEvents('p1')!.length;

      // The VM runtime closes its fds (a single-queue TAP takes one at a time); the TAP stays.
      const firstFds = taps(net).flatMap((i) => i.fds);
      closeFds(net);
      assert.ok(pod.links().includes('nt-eth0') && !carrier(pod, 'nt-eth0'), 'the TAP is persistent');
      // Again: same network, fresh fds, no CNI run (allocations and cache untouched, no new events).
      t0 = performance.now();
      const again = await rt.setupPod({ podId: 'p1', netnsPath: pod.path, annotations: { cni: 'neta,netb' } });
      const againMs = performance.now() - t0;
      const strip = (n: PodNetwork) => JSON.stringify({ ...n, interfaces: n.interfaces.map((i) => ({ ...i, fd: 0, fds: [] })) });
      try {
        assert.equal(strip(again), strip(net));
        assert.ok(carrier(pod, 'nt-eth0') && carrier(pod, 'nt-eth1'), 'the fresh fds are attached');
        // While the VM holds the fds, another set is refused (the kernel allows one per queue).
        assert.throws(() => rt.getNetwork('p1'), /EBUSY|busy/i);
        assert.deepEqual(rig.allocations(), allocs);
        assert.deepEqual(rig.cacheEntries(), cache);
        assert.equal(rt.podEvents('p1')!.length, events);
      } finally {
        closeFds(again);
      }
      const viaGet = rt.getNetwork('p1')!;
      closeFds(viaGet);
      assert.equal(strip(viaGet), strip(net));
      t.diagnostic(`fds: first ${firstFds.join(',')}, again ${taps(again).flatMap((i) => i.fds).join(',')}, getNetwork ${taps(viaGet).flatMap((i) => i.fds).join(',')}`);

      t0 = performance.now();
      // Both interfaces' bridges and TAPs are in the pod's link group: one deletion for all four.
      const { calls } = await deletions(() => rt.teardownPod('p1'));
      const teardownMs = performance.now() - t0;
      assert.deepEqual(calls, ['deleteGroup'], 'one link deletion for the whole pod');
      await rt.teardownPod('p1');
      await rt.teardownPod('never-seen');
      assert.equal(rt.getPod('p1'), undefined);
      await assertNetnsRestored(pod, before, 'the pod netns is as it was before CNI ADD');
      assert.deepEqual(rig.cacheEntries(), [], 'CNI DEL ran');
      assert.deepEqual(rig.allocations(), {}, 'IPs released');
      assert.deepEqual(rig.records(), []);
      t.diagnostic(`setup ${setupMs.toFixed(0)} ms, repeated setup ${againMs.toFixed(1)} ms, teardown ${teardownMs.toFixed(0)} ms`);
    } catch (e) {
      try { closeFds(net); } catch { /* closed already */ }
      throw e;
    }
  });
});

void test('setupPod on different pods runs in parallel', async (t) => {
  await withRig(async (rig, open) => {
    const pods = ['pa', 'pb', 'pc'].map((s) => rig.pod(s));
    const rt = await open();
    const t0 = performance.now();
    const nets = await Promise.all(pods.map((p, i) => rt.setupPod({ podId: `c${i}`, netnsPath: p.path, annotations: { cni: 'neta,netb' } })));
    const wall = performance.now() - t0;
    nets.forEach(closeFds);
    const span = (id: string) => {
      const ev = rt.podEvents(id)!.filter((e) => e.machine === 'pod');
      return [Date.parse(ev.find((e) => e.to === 'settingUp')!.at), Date.parse(ev.find((e) => e.to === 'ready')!.at)] as const;
    };
    const spans = ['c0', 'c1', 'c2'].map(span);
    assert.ok(Math.max(...spans.map((s) => s[0])) < Math.min(...spans.map((s) => s[1])), `setups overlap: ${JSON.stringify(spans)}`);
    assert.equal(Object.keys(rig.allocations()).length, 6);
    await Promise.all(['c0', 'c1', 'c2'].map((id) => rt.teardownPod(id)));
    assert.deepEqual(rig.allocations(), {});
    assert.deepEqual(rig.cacheEntries(), []);
    t.diagnostic(`3 pods × 2 networks in ${wall.toFixed(0)} ms`);
  });
});

void test('a given cniResult (parsed, or as a JSON string) is used without running CNI', async () => {
  await withRig(async (rig, open) => {
    const rt = await open();
    for (const form of ['object', 'string'] as const) {
      const pod = rig.pod(`g${form[0]}`);
      vethPair(pod, 'eth0', rig.node, rig.topo.name(`g${form[0]}`), { mtu: 1400 });
      pod.ip('addr', 'add', '10.93.0.5/24', 'dev', 'eth0');
      pod.ip('route', 'add', 'default', 'via', '10.93.0.1');
      const mac = pod.json<{ address: string }>('link', 'show', 'eth0')[0]!.address;
      const before = await settledNetnsView(pod);
      const result = {
        cniVersion: '1.0.0',
        interfaces: [{ name: 'eth0', mac, sandbox: pod.path }],
        ips: [{ address: '10.93.0.5/24', gateway: '10.93.0.1', interface: 0 }],
        routes: [{ dst: '0.0.0.0/0', gw: '10.93.0.1' }],
        dns: { nameservers: ['10.93.0.53'] },
      };
      const net = await rt.setupPod({ podId: `given-${form}`, netnsPath: pod.path, cniResult: form === 'object' ? result : JSON.stringify(result) });
      closeFds(net);
      const [i] = taps(net);
      assert.deepEqual([i?.mac, i?.mtu, i?.ips], [mac, 1400, [{ address: '10.93.0.5/24', gateway: '10.93.0.1' }]]);
      assert.match(net.cloudInit.networkConfigV1Yaml, /10\.93\.0\.53/);
      assert.deepEqual(rig.cacheEntries(), [], 'no CNI ran');
      assert.deepEqual(rig.allocations(), {});
      await rt.teardownPod(`given-${form}`);
      await assertNetnsRestored(pod, before, 'the veth is back as CNI left it');
    }
  });
});

void test('bad requests are refused with a typed error naming the field; nothing is left behind', async () => {
  await withRig(async (rig, open) => {
    const pod = rig.pod('bad');
    const before = await settledNetnsView(pod);
    const rt = await open();
    await assert.rejects(rt.setupPod({ podId: 'b1' } as never), (e: { code?: string; message: string; details?: { field?: string } }) => {
      assert.equal(e.code, 'INVALID_REQUEST');
      assert.equal(e.details?.field, 'netnsPath');
      assert.match(e.message, /netnsPath/);
      return true;
    });
    await assert.rejects(rt.setupPod({ podId: '', netnsPath: pod.path }), (e: { code?: string; details?: { field?: string } }) => e.code === 'INVALID_REQUEST' && e.details?.field === 'podId');
    await assert.rejects(rt.setupPod({ podId: 'b2', netnsPath: pod.path, annotations: { cni: 'neta,bad name!' } }), (e: { code?: string; message: string }) => {
      assert.equal(e.code, 'CNI_ANNOTATION_INVALID');
      assert.match(e.message, /annotation cni/);
      return true;
    });
    await assert.rejects(rt.setupPod({ podId: 'b3', netnsPath: pod.path, annotations: { 'k8s.v1.cni.cncf.io/networks': '[{"name":' } }), (e: { code?: string; message: string }) => {
      assert.equal(e.code, 'CNI_ANNOTATION_INVALID');
      assert.match(e.message, /k8s\.v1\.cni\.cncf\.io\/networks/);
      return true;
    });
    await assert.rejects(rt.setupPod({ podId: 'b4', netnsPath: pod.path, cniResult: '{not json' }), (e: { code?: string }) => e.code === 'CNI_RESULT_INVALID');
    await assert.rejects(createRuntime({ stateDir: '' }), (e: { code?: string; details?: { field?: string } }) => e.code === 'INVALID_REQUEST' && e.details?.field === 'stateDir');
    assert.deepEqual(rt.listPods(), []);
    assert.deepEqual(rig.records(), []);
    assert.deepEqual(rig.cacheEntries(), []);
    assert.deepEqual(rig.allocations(), {});
    await assertNetnsRestored(pod, before, 'after the refusals');
  });
});

void test('an interface failing during setup: setupPod rejects with the cause, the others are rolled back and CNI DEL runs', async () => {
  await withRig(async (rig, open) => {
    const pod = rig.pod('fail');
    // A link of another kind where eth1's bridge must go: plumbing eth1 fails.
    pod.ip('link', 'add', 'nb-eth1', 'type', 'veth', 'peer', 'name', 'nbx-peer');
    const before = await settledNetnsView(pod);
    const rt = await open();
    await assert.rejects(rt.setupPod({ podId: 'f1', netnsPath: pod.path, annotations: { cni: 'neta,netb' } }), (e: { code?: string; message: string }) => {
      assert.equal(e.code, 'INTERFACE_FAILED');
      // The cause: eth1's own error (the kernel refuses to enslave into the foreign nb-eth1).
      assert.match(e.message, /\(eth1: .*(ENOTSUP|EEXIST|nb-eth1)/);
      return true;
    });
    assert.equal(rt.getPod('f1'), undefined);
    // Compared without the foreign pair: the rollback's unplumb deletes the pre-existing
    // nb-eth1 too (it deletes by name; a bug of src/io/veth.ts, reported, not fixed here).
    const foreign = (v: NetnsView): NetnsView => JSON.parse(JSON.stringify(v, (_k, x: unknown) => (Array.isArray(x) ? x.filter((l) => typeof l !== 'string' || !/nb(x-peer|-eth1)/.test(l)) : x))) as NetnsView;
    assert.deepEqual(foreign(await settledNetnsView(pod)), foreign(before), 'the netns is as before CNI ADD (CNI DEL removed the veths)');
    assert.deepEqual(rig.cacheEntries(), [], 'CNI DEL ran');
    assert.deepEqual(rig.allocations(), {}, 'IPs released');
    assert.deepEqual(rig.records(), []);
    assert.equal(rt.stats().errors.INTERFACE_FAILED, 1);
  });
});

void test('monitor: a watched pod\'s lost bridge is noticed from link events, long before its next dump', async () => {
  await withRig(async (rig, open) => {
    const pod = rig.pod('mev');
    // Ticks every second: the first starts the pod's link watch (and dumps once); the next
    // dump of a watched pod is 15 ticks later. Only an event can notice a loss within 6 s.
    const rt = await open({ monitorIntervalMs: 1000 });
    closeFds(await rt.setupPod({ podId: 'e1', netnsPath: pod.path, annotations: { cni: 'neta' } }));
    await new Promise((r) => setTimeout(r, 2500));
    assert.equal(rt.getPod('e1')!.interfaces[0]!.state, 'ready');
    const t0 = performance.now();
    pod.ip('link', 'del', 'nb-eth0');
    await until('eth0 recovering', () => rt.podEvents('e1')!.some((e) => e.interface === 'eth0' && e.to.startsWith('recovering')), 6000);
    const noticedMs = performance.now() - t0;
    await until('eth0 ready again', () => rt.getPod('e1')?.interfaces[0]?.state === 'ready' && rt.getPod('e1')!.phase === 'ready');
    assert.equal(pod.json<{ master?: string }>('link', 'show', 'nt-eth0')[0]?.master, 'nb-eth0', 'the TAP is in a bridge made again');
    assert.equal(rt.getPod('e1')!.interfaces[0]!.lastError?.code, 'LINK_LOST');
    await rt.teardownPod('e1');
    assert.ok(noticedMs < 6000, `noticed in ${noticedMs.toFixed(0)} ms`);
  });
});

void test('monitor: a TAP deleted behind netlet\'s back is re-plumbed; a killed DHCP worker is replaced and serves again', async (t) => {
  await withRig(async (rig, open) => {
    const pod = rig.pod('mon');
    const rt = await open({ monitorIntervalMs: 100 });
    closeFds(await rt.setupPod({ podId: 'm1', netnsPath: pod.path, annotations: { cni: 'neta,netb' } }));
    const t0 = performance.now();
    pod.ip('link', 'del', 'nt-eth0');
    await until('eth0 recovering', () => rt.podEvents('m1')!.some((e) => e.interface === 'eth0' && e.to.startsWith('recovering')));
    await until('eth0 ready again', () => rt.getPod('m1')?.interfaces[0]?.state === 'ready' && rt.getPod('m1')!.phase === 'ready');
    const recoverMs = performance.now() - t0;
    assert.ok(pod.links().includes('nt-eth0'), 'the TAP is back');
    assert.equal(pod.json<{ master?: string }>('link', 'show', 'nt-eth0')[0]?.master, 'nb-eth0');
    assert.equal(rt.getPod('m1')!.interfaces[0]!.lastError?.code, 'LINK_LOST');
    const net = rt.getNetwork('m1')!;
    closeFds(net);
    assert.equal(taps(net).length, 2, 'fresh fds for the re-plumbed TAP');

    const pool = (rt as unknown as Record<symbol, DhcpPool>)[Symbol.for('netlet.test.dhcpPool')]!;
    // A worker killed while it still starts (serves are not waited for) can leave a module
    // file's fd open in the process (Node's loader, not netlet's sockets): kill a started one.
    await until('the workers started', () => pool.allStarted());
    const workers = pool.workers();
    assert.ok(workers.length >= 1);
    const t1 = performance.now();
    await workers[0]!.terminate();
    await until('a replaced worker', () => rt.stats().workerRestarts >= 1);
    await until('served again', () => pool.isServing('m1/eth0') && pool.isServing('m1/eth1'));
    const restartMs = performance.now() - t1;
    assert.equal(rt.getPod('m1')!.phase, 'ready');
    await rt.teardownPod('m1');
    assert.deepEqual(rig.allocations(), {});
    t.diagnostic(`TAP re-plumbed in ${recoverMs.toFixed(0)} ms; DHCP worker replaced and serving in ${restartMs.toFixed(0)} ms`);
  });
});
