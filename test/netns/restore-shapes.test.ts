// Exact restore for the shapes real CNI setups leave: two default routes (IPv4 and IPv6),
// destinations reached through both interfaces in interleaved order, a metric, a custom
// table with policy rules, the real sbr plugin (routes in table 100 + a rule, the main
// prefix route removed), a real dual-stack host-local network. Compared with the strict
// view of test/support/netns-view.ts (every table, both families, rules, order).
import assert from 'node:assert/strict';
import { closeSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import pino from 'pino';
import { createRuntime, type PodNetwork } from '../../src/index.js';
import { captureIface, restoreIface, stripIface, type IfaceState } from '../../src/io/iface-state.js';
import { dumpRoutes } from '../../src/io/routes.js';
import { Rtnl } from '../../src/io/rtnl.js';
import { routeOrder } from '../../src/model/kernel-route.js';
import { Topology, type Netns } from '../support/netns.js';
import { assertNoNetnsLeft } from '../support/leaks.js';
import { assertNetnsRestored, settledNetnsView, type NetnsView } from '../support/netns-view.js';
import { bridgePlugin, realPluginResult, twoNetworkShape, type PluginRun } from '../support/pod-shapes.js';

const silent = pino({ level: 'silent' });
const closeFds = (n: PodNetwork): void => n.interfaces.forEach((i) => i.kind === 'tap' && i.fds.forEach((fd) => closeSync(fd)));

async function withTopo(fn: (topo: Topology, dir: string) => Promise<void>): Promise<void> {
  const topo = new Topology();
  const dir = mkdtempSync(join(tmpdir(), `netlet-restore-${topo.tag}-`));
  try {
    await fn(topo, dir);
  } finally {
    topo.destroy();
    rmSync(dir, { recursive: true, force: true });
  }
  assertNoNetnsLeft(topo.tag);
}

/** While the VM holds them, the veths keep no address but the link-local and no route in any table. */
function assertStripped(view: NetnsView, ifNames: string[]): void {
  for (const ifName of ifNames) {
    const addrs = view.addresses.filter((a) => a.startsWith(`${ifName} `) && !a.includes('"scope":"link"'));
    assert.deepEqual(addrs, [], `${ifName} keeps no address`);
    const routes = [...view.routes4, ...view.routes6].filter((r) => r.includes(`dev ${ifName} `) && !r.includes('fe80::') && !r.includes('ff00::') && !r.startsWith('local fe80'));
    assert.deepEqual(routes, [], `${ifName} carries no route`);
  }
}

/** IPv4 default routes the VM is told about (cloud-init v1: subnet gateways and 0.0.0.0/0 routes). */
function vmDefaults(net: PodNetwork): number {
  const cfg = net.cloudInit.networkConfigV1 as { config: { subnets?: { type: string; gateway?: string; routes?: { network: string; netmask: string }[] }[] }[] };
  return cfg.config.flatMap((c) => c.subnets ?? []).filter((s) => s.type === 'static').reduce((n, s) =>
    n + (s.gateway ? 1 : 0) + (s.routes ?? []).filter((r) => r.network === '0.0.0.0' && r.netmask === '0.0.0.0').length, 0);
}

/**
 * setupPod with the given results in a fresh runtime; `during` checks the pod netns and the
 * network while the VM holds it; teardownPod must leave the netns as `before`.
 */
async function roundTrip(dir: string, pod: Netns, cniResult: unknown, ifNames: string[], during: (view: NetnsView, net: PodNetwork) => void = () => undefined): Promise<void> {
  const before = await settledNetnsView(pod);
  const rt = await createRuntime({ stateDir: join(dir, 'state'), runDir: join(dir, 'run'), monitorIntervalMs: 0, logger: silent });
  try {
    const net = await rt.setupPod({ podId: 'shape', netnsPath: pod.path, cniResult });
    closeFds(net);
    const view = await settledNetnsView(pod);
    assertStripped(view, ifNames);
    during(view, net);
    await rt.teardownPod('shape');
    await assertNetnsRestored(pod, before, 'after teardownPod');
  } finally {
    await rt.close();
  }
}

void test('io: two networks stripped and restored in either order, or at once, come back exactly (order, tables, both families, rules)', async () => {
  await withTopo(async (topo) => {
    const pod = topo.ns('pod');
    const peer = topo.ns('peer');
    twoNetworkShape(pod, peer, (s) => topo.name(s));
    const before = await settledNetnsView(pod);
    const rt = Rtnl.open(pod.path);
    try {
      const baseline = routeOrder((await dumpRoutes(rt)).routes);
      assert.ok(Object.keys(baseline).length >= 4, 'the shape has competing routes');
      const orders: [string, string[] | 'parallel'][] = [['eth1 first', ['eth1', 'eth0']], ['eth0 first', ['eth0', 'eth1']], ['at once', 'parallel']];
      for (const [what, order] of orders) {
        const states: Record<string, IfaceState> = {};
        for (const ifName of ['eth0', 'eth1']) {
          const links = await rt.links();
          states[ifName] = await captureIface(rt, rt.named(ifName, links), links, baseline);
        }
        assert.equal(states.eth0!.routes.length + states.eth1!.routes.length, 13, `${what}: every route through the veths is captured`);
        for (const ifName of ['eth0', 'eth1']) await stripIface(rt, ifName, states[ifName]!);
        const stripped = await settledNetnsView(pod);
        assertStripped(stripped, ['eth0', 'eth1']);
        assert.deepEqual([stripped.rules4, stripped.rules6], [before.rules4, before.rules6], 'policy rules are not touched');
        if (order === 'parallel') await Promise.all(['eth0', 'eth1'].map((i) => restoreIface(rt, i, states[i]!)));
        else for (const ifName of order) await restoreIface(rt, ifName, states[ifName]!);
        await assertNetnsRestored(pod, before, what);
      }
    } finally {
      rt.close();
    }
  });
});

void test('runtime: a pod on two given networks (two default routes, tables, rules, dual stack) is restored exactly; the VM gets one default route', async () => {
  await withTopo(async (topo, dir) => {
    const pod = topo.ns('pod');
    const peer = topo.ns('peer');
    const results = twoNetworkShape(pod, peer, (s) => topo.name(s));
    await roundTrip(dir, pod, results, ['eth0', 'eth1'], (_v, net) => assert.equal(vmDefaults(net), 1, 'the VM gets exactly one IPv4 default route'));
  });
});

void test('the real sbr plugin (routes in table 100, a rule, no main prefix route) and a second network: restored exactly; the VM gets the sbr interface\'s routes', async () => {
  await withTopo(async (topo, dir) => {
    const node = topo.ns('node');
    const pod = topo.ns('pod');
    const run = (bridge: string): PluginRun => ({ node, dir, bridge: topo.name(bridge) });
    const r0 = await realPluginResult(run('b0'), pod, 'eth0', [bridgePlugin(run('b0'), [{ subnet: '10.95.0.0/24', gateway: '10.95.0.1' }], [{ dst: '0.0.0.0/0' }])], 'plain');
    const r1 = await realPluginResult(run('b1'), pod, 'eth1', [
      bridgePlugin(run('b1'), [{ subnet: '10.96.0.0/24', gateway: '10.96.0.1' }], [{ dst: '10.55.0.0/16' }]),
      { type: 'sbr' },
    ], 'withsbr');
    const before = await settledNetnsView(pod);
    assert.ok(before.routes4.some((r) => /dev eth1 table 100/.test(r)), `sbr put eth1's routes in table 100: ${before.routes4.join('\n')}`);
    assert.ok(before.rules4.some((r) => /lookup 100/.test(r)), 'and a rule');
    assert.ok(!before.routes4.some((r) => /^10\.96\.0\.0\/24 dev eth1 proto kernel/.test(r)), 'and removed the main prefix route');
    await roundTrip(dir, pod, [r0, r1], ['eth0', 'eth1'], (_v, net) =>
      assert.match(JSON.stringify(net.cloudInit.networkConfigV1), /"network":"10\.55\.0\.0"/, 'the VM gets the route CNI reported for eth1'));
  });
});

void test('a real dual-stack host-local network (IPv4 + IPv6 ranges): both families restored exactly, link-local kept throughout', async () => {
  await withTopo(async (topo, dir) => {
    const node = topo.ns('node');
    const pod = topo.ns('pod');
    const run: PluginRun = { node, dir, bridge: topo.name('b') };
    const r = await realPluginResult(run, pod, 'eth0', [bridgePlugin(run, [
      { subnet: '10.97.0.0/24', gateway: '10.97.0.1' },
      { subnet: 'fd00:97::/64', gateway: 'fd00:97::1' },
    ], [{ dst: '0.0.0.0/0' }, { dst: '::/0' }])], 'dual');
    const before = await settledNetnsView(pod);
    assert.ok(before.addresses.some((a) => a.startsWith('eth0 ') && a.includes('fd00:97::')), 'the plugin gave eth0 an IPv6 address');
    assert.ok(before.routes6.some((r) => r.startsWith('default via fd00:97::1 dev eth0')), 'and an IPv6 default route');
    const linkLocal = before.addresses.find((a) => a.startsWith('eth0 ') && a.includes('"scope":"link"'));
    await roundTrip(dir, pod, r, ['eth0'], (during) => assert.ok(linkLocal && during.addresses.includes(linkLocal), 'the link-local stays on the veth'));
  });
});

