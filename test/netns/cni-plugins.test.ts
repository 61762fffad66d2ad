// Real CNI plugins (containernetworking-plugins in /usr/lib/cni), every cniVersion they
// and netlet share. The "node" side lives in a throwaway netns: plugins run through
// `ip netns exec <node>` so the bridge, host veths and macvlan master never touch the root netns.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { InterfacePlan } from '../../src/model/plan.js';
import { Topology, type Netns } from '../support/netns.js';
import { addNetworks, checkNetworks, delNetworkList, delNetworks, listAttachments, loadNetworkConfig } from '../../src/cni/index.js';

const VERSIONS = ['0.3.0', '0.3.1', '0.4.0', '1.0.0'] as const;

interface Rig {
  topo: Topology;
  node: Netns;
  pod: Netns;
  dir: string;
  confDir: string;
  cacheDir: string;
  ipamDir: string;
  wrapper: string[];
}

function rig(t: { after: (f: () => void) => void }): Rig {
  const topo = new Topology();
  const dir = mkdtempSync(join(tmpdir(), 'netlet-cni-'));
  t.after(() => {
    topo.destroy();
    rmSync(dir, { recursive: true, force: true });
  });
  const node = topo.ns('node');
  const pod = topo.ns('pod');
  const confDir = join(dir, 'net.d');
  mkdirSync(confDir);
  return { topo, node, pod, dir, confDir, cacheDir: join(dir, 'cache'), ipamDir: join(dir, 'ipam'), wrapper: ['ip', 'netns', 'exec', node.name] };
}

/** The plan must be what the kernel shows in the pod netns. */
function assertPlanMatchesNetns(pod: Netns, plan: InterfacePlan): void {
  const [link] = pod.json('addr', 'show', 'dev', plan.name);
  assert.ok(link, `${plan.name} exists in the pod netns`);
  assert.equal(link.address, plan.mac, 'MAC');
  if (plan.mtu) assert.equal(link.mtu, plan.mtu);
  const kernelV4 = (link.addr_info as any[]).filter((a) => a.family === 'inet').map((a) => `${a.local}/${a.prefixlen}`);
  assert.deepEqual(kernelV4, plan.ips.filter((i) => i.family === 4).map((i) => `${i.address}/${i.prefixLength}`), 'addresses');
  const routes = pod.json('-4', 'route', 'show', 'dev', plan.name);
  for (const r of plan.routes.filter((x) => x.family === 4)) {
    const dst = r.dst === '0.0.0.0/0' ? 'default' : r.dst.replace(/\/32$/, '');
    const hit = routes.find((k: any) => k.dst === dst && k.gateway === r.gateway);
    assert.ok(hit, `route ${r.dst} via ${r.gateway ?? 'link'} in ${JSON.stringify(routes)}`);
  }
}

async function roundTrip(r: Rig, network: string, version: string, check: (plan: InterfacePlan) => void): Promise<void> {
  const base = { podId: `pod${r.topo.tag}`, confDir: r.confDir, cacheDir: r.cacheDir, wrapper: r.wrapper, timeoutMs: 10_000 };
  const added = await addNetworks({ ...base, podName: 'web-0', podNamespace: 'default', netnsPath: r.pod.path, defaultNetworks: [network] });
  assert.equal(added.interfaces.length, 1);
  const plan = added.interfaces[0]!;
  assert.equal(plan.name, 'eth0');
  assert.equal(plan.network, network);
  assertPlanMatchesNetns(r.pod, plan);
  check(plan);
  assert.equal((await listAttachments(r.cacheDir, base.podId)).length, 1);
  if (version !== '0.3.0' && version !== '0.3.1') assert.equal((await checkNetworks(base)).checked.length, 1);

  assert.deepEqual((await delNetworks(base)).deleted.map((d) => d.ifName), ['eth0']);
  assert.deepEqual(r.pod.links(), ['lo'], 'DEL leaves only lo');
  assert.deepEqual(await listAttachments(r.cacheDir, base.podId), []);
  // host-local released its address (its reservations are files named by IP).
  const ipam = join(r.ipamDir, network);
  const reserved = (() => { try { return readdirSync(ipam).filter((f) => /^\d+\.\d+\.\d+\.\d+$/.test(f)); } catch { return []; } })();
  assert.deepEqual(reserved, [], 'no IP left reserved');
  // A second DEL succeeds: via the cache (nothing to do) and straight to the plugins.
  assert.deepEqual((await delNetworks(base)).deleted, []);
  await delNetworkList(await loadNetworkConfig(r.confDir, network), { containerId: base.podId, netns: r.pod.path, ifName: 'eth0' }, base);
}

const bridgeConf = (r: Rig, v: string, name: string, extra: object[] = []) => ({
  cniVersion: v,
  name,
  plugins: [
    {
      type: 'bridge',
      bridge: r.topo.name('br'),
      isGateway: true,
      ipMasq: false,
      ipam: { type: 'host-local', dataDir: r.ipamDir, ranges: [[{ subnet: '10.22.0.0/24', gateway: '10.22.0.1' }]], routes: [{ dst: '0.0.0.0/0' }, { dst: '192.168.100.0/24', gw: '10.22.0.254' }] },
      dns: { nameservers: ['10.22.0.53'], search: ['ah.local'] },
    },
    ...extra,
  ],
});

for (const v of VERSIONS) {
  void test(`bridge + host-local, cniVersion ${v}`, async (t) => {
    const r = rig(t);
    writeFileSync(join(r.confDir, '10-br.conflist'), JSON.stringify(bridgeConf(r, v, 'brnet')));
    await roundTrip(r, 'brnet', v, (p) => {
      assert.deepEqual(p.routes, [{ dst: '0.0.0.0/0', family: 4, gateway: '10.22.0.1' }, { dst: '192.168.100.0/24', family: 4, gateway: '10.22.0.254' }]);
      assert.equal(p.ips[0]!.gateway, '10.22.0.1');
      assert.equal(p.sandbox, r.pod.path);
    });
  });

  void test(`ptp + host-local, cniVersion ${v}`, async (t) => {
    const r = rig(t);
    writeFileSync(join(r.confDir, '10-ptp.conf'), JSON.stringify({ cniVersion: v, name: 'ptpnet', type: 'ptp', ipMasq: false, mtu: 1400, ipam: { type: 'host-local', dataDir: r.ipamDir, subnet: '10.33.0.0/24', routes: [{ dst: '0.0.0.0/0' }] } }));
    await roundTrip(r, 'ptpnet', v, (p) => {
      assert.equal(p.ips[0]!.prefixLength, 24);
      assert.deepEqual(p.routes, [{ dst: '0.0.0.0/0', family: 4, gateway: '10.33.0.1' }]);
      assert.equal(r.pod.json('link', 'show', 'eth0')[0].mtu, 1400);
    });
  });

  void test(`macvlan + static, cniVersion ${v}`, async (t) => {
    const r = rig(t);
    const master = r.topo.name('m0');
    r.node.ip('link', 'add', master, 'type', 'veth', 'peer', 'name', r.topo.name('m1'));
    r.node.ip('link', 'set', master, 'up');
    writeFileSync(join(r.confDir, '10-mv.conf'), JSON.stringify({
      cniVersion: v,
      name: 'mvnet',
      type: 'macvlan',
      master,
      mode: 'bridge',
      ipam: { type: 'static', addresses: [{ address: '10.44.0.10/24', gateway: '10.44.0.1' }], routes: [{ dst: '0.0.0.0/0' }, { dst: '172.16.0.0/16', gw: '10.44.0.2' }] },
    }));
    await roundTrip(r, 'mvnet', v, (p) => {
      assert.deepEqual(p.ips, [{ address: '10.44.0.10', prefixLength: 24, family: 4, gateway: '10.44.0.1' }]);
      assert.deepEqual(p.routes, [{ dst: '0.0.0.0/0', family: 4, gateway: '10.44.0.1' }, { dst: '172.16.0.0/16', family: 4, gateway: '10.44.0.2' }]);
    });
    assert.ok(r.node.links().includes(master), 'master untouched by DEL');
  });

  void test(`bridge + tuning chained via prevResult, cniVersion ${v}`, async (t) => {
    const r = rig(t);
    writeFileSync(join(r.confDir, '10-tn.conflist'), JSON.stringify(bridgeConf(r, v, 'tunet', [{ type: 'tuning', mtu: 1400, mac: '52:54:00:12:34:56' }])));
    await roundTrip(r, 'tunet', v, (p) => {
      assert.equal(p.mac, '52:54:00:12:34:56');
      const [l] = r.pod.json('link', 'show', 'eth0');
      assert.equal(l.mtu, 1400);
      assert.equal(l.address, '52:54:00:12:34:56');
    });
  });
}

void test('two networks (default + Multus): one default route, the other dropped and reported; DEL removes both', async (t) => {
  const r = rig(t);
  writeFileSync(join(r.confDir, '10-br.conflist'), JSON.stringify(bridgeConf(r, '1.0.0', 'brnet')));
  writeFileSync(join(r.confDir, '20-ptp.conf'), JSON.stringify({ cniVersion: '1.0.0', name: 'ptpnet', type: 'ptp', ipam: { type: 'host-local', dataDir: r.ipamDir, subnet: '10.33.0.0/24', routes: [{ dst: '0.0.0.0/0' }] } }));
  const base = { podId: `pod${r.topo.tag}`, confDir: r.confDir, cacheDir: r.cacheDir, wrapper: r.wrapper };
  const out = await addNetworks({ ...base, podName: 'p', podNamespace: 'ns', netnsPath: r.pod.path, defaultNetworks: ['brnet'], annotations: { 'k8s.v1.cni.cncf.io/networks': 'other/ptpnet' } });
  assert.deepEqual(out.interfaces.map((i) => [i.name, i.network]), [['eth0', 'brnet'], ['eth1', 'ptpnet']]);
  const defaults = out.interfaces.flatMap((i) => i.routes.filter((x) => x.dst === '0.0.0.0/0').map((x) => `${i.name} via ${x.gateway}`));
  assert.deepEqual(defaults, ['eth0 via 10.22.0.1']);
  assert.deepEqual(out.dropped.map((d) => [d.network, d.interface, d.route.gateway]), [['ptpnet', 'eth1', '10.33.0.1']]);
  assert.deepEqual(out.dns.nameservers, ['10.22.0.53']);
  for (const i of out.interfaces) assertPlanMatchesNetns(r.pod, { ...i, routes: i.routes.filter((x) => x.dst !== '0.0.0.0/0') });
  await delNetworks(base);
  assert.deepEqual(r.pod.links(), ['lo']);
});

void test('failure of the second network rolls back the first: pod netns back to lo, IP released, cache empty', async (t) => {
  const r = rig(t);
  writeFileSync(join(r.confDir, '10-br.conflist'), JSON.stringify(bridgeConf(r, '1.0.0', 'brnet')));
  writeFileSync(join(r.confDir, '20-mv.conf'), JSON.stringify({ cniVersion: '1.0.0', name: 'mvnet', type: 'macvlan', master: r.topo.name('nomst'), ipam: { type: 'static', addresses: [{ address: '10.44.0.10/24' }] } }));
  const base = { podId: `pod${r.topo.tag}`, confDir: r.confDir, cacheDir: r.cacheDir, wrapper: r.wrapper };
  await assert.rejects(addNetworks({ ...base, podName: 'p', podNamespace: 'ns', netnsPath: r.pod.path, defaultNetworks: ['brnet'], annotations: { 'k8s.v1.cni.cncf.io/networks': 'mvnet' } }), /macvlan ADD failed/);
  assert.deepEqual(r.pod.links(), ['lo']);
  assert.deepEqual(await listAttachments(r.cacheDir), []);
  assert.deepEqual(readdirSync(join(r.ipamDir, 'brnet')).filter((f) => /^\d+\./.test(f)), []);
});

void test('DEL after the pod netns is gone succeeds and clears the cache', async (t) => {
  const r = rig(t);
  writeFileSync(join(r.confDir, '10-br.conflist'), JSON.stringify(bridgeConf(r, '1.0.0', 'brnet')));
  const base = { podId: `pod${r.topo.tag}`, confDir: r.confDir, cacheDir: r.cacheDir, wrapper: r.wrapper };
  await addNetworks({ ...base, podName: 'p', podNamespace: 'ns', netnsPath: r.pod.path, defaultNetworks: ['brnet'] });
  r.pod.delete();
  assert.equal((await delNetworks(base)).deleted.length, 1);
  assert.deepEqual(await listAttachments(r.cacheDir), []);
  assert.deepEqual(readdirSync(join(r.ipamDir, 'brnet')).filter((f) => /^\d+\./.test(f)), [], 'host-local released the IP');
});
