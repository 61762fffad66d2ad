import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { InterfacePlan, Route } from '../../../src/model/plan.js';
import { applyDefaultRoutePolicy } from '../../../src/cni/index.js';

const iface = (name: string, network: string, v4: string | undefined, routes: Route[], v6?: string): InterfacePlan => ({
  name,
  network,
  ips: [
    ...(v4 ? [{ address: v4, prefixLength: 24, family: 4 as const, gateway: v4.replace(/\.\d+$/, '.1') }] : []),
    ...(v6 ? [{ address: v6, prefixLength: 64, family: 6 as const, gateway: 'fd00::1' }] : []),
  ],
  routes,
  dns: { nameservers: [], search: [], options: [] },
});
const def4 = (gw: string): Route => ({ dst: '0.0.0.0/0', family: 4, gateway: gw });
const def6 = (gw: string): Route => ({ dst: '::/0', family: 6, gateway: gw });
const net = (gw: string): Route => ({ dst: '10.50.0.0/16', family: 4, gateway: gw });

void test('without a marked network the first network keeps its default routes; others are dropped and reported', () => {
  const r = applyDefaultRoutePolicy([
    { network: 'a', ifName: 'eth0', interfaces: [iface('eth0', 'a', '10.0.0.5', [def4('10.0.0.1'), def6('fd00::1')], 'fd00::5')] },
    { network: 'b', ifName: 'eth1', interfaces: [iface('eth1', 'b', '10.1.0.5', [def4('10.1.0.1'), net('10.1.0.1'), def6('fd01::1')])] },
  ]);
  assert.deepEqual(r.interfaces[0]![0]!.routes, [def4('10.0.0.1'), def6('fd00::1')]);
  assert.deepEqual(r.interfaces[1]![0]!.routes, [net('10.1.0.1')]);
  assert.deepEqual(r.dropped.map((d) => [d.network, d.interface, d.route.dst]), [['b', 'eth1', '0.0.0.0/0'], ['b', 'eth1', '::/0']]);
  assert.match(r.dropped[0]!.reason, /network a/);
});

void test('the network marked default-route wins; the default network loses its default route', () => {
  const r = applyDefaultRoutePolicy([
    { network: 'a', ifName: 'eth0', interfaces: [iface('eth0', 'a', '10.0.0.5', [def4('10.0.0.1')])] },
    { network: 'b', ifName: 'eth1', defaultRoute: ['10.1.0.1'], interfaces: [iface('eth1', 'b', '10.1.0.5', [def4('10.1.0.1')])] },
  ]);
  assert.deepEqual(r.interfaces[0]![0]!.routes, []);
  assert.deepEqual(r.interfaces[1]![0]!.routes, [def4('10.1.0.1')]);
  assert.equal(r.dropped.length, 1);
  assert.match(r.dropped[0]!.reason, /marked default-route/);
});

void test('a marked network without a default route gets one via its named gateway', () => {
  const r = applyDefaultRoutePolicy([
    { network: 'a', ifName: 'eth0', interfaces: [iface('eth0', 'a', '10.0.0.5', [def4('10.0.0.1')])] },
    { network: 'b', ifName: 'eth1', defaultRoute: ['10.1.0.254'], interfaces: [iface('eth1', 'b', '10.1.0.5', [])] },
  ]);
  assert.deepEqual(r.interfaces[1]![0]!.routes, [def4('10.1.0.254')]);
  assert.deepEqual(r.interfaces[0]![0]!.routes, []);
});

void test('the marked network only claims the families it has; IPv6 falls back to the first network with one', () => {
  const r = applyDefaultRoutePolicy([
    { network: 'a', ifName: 'eth0', interfaces: [iface('eth0', 'a', '10.0.0.5', [def4('10.0.0.1'), def6('fd00::1')], 'fd00::5')] },
    { network: 'b', ifName: 'eth1', defaultRoute: ['10.1.0.1'], interfaces: [iface('eth1', 'b', '10.1.0.5', [def4('10.1.0.1')])] },
  ]);
  assert.deepEqual(r.interfaces[0]![0]!.routes, [def6('fd00::1')]);
  assert.deepEqual(r.interfaces[1]![0]!.routes, [def4('10.1.0.1')]);
});

void test('two default routes inside one network: only the first is kept; inputs are not mutated', () => {
  const input = [{ network: 'a', ifName: 'eth0', interfaces: [iface('eth0', 'a', '10.0.0.5', [def4('10.0.0.1')]), iface('eth0v1', 'a', '10.2.0.5', [def4('10.2.0.1')])] }];
  const r = applyDefaultRoutePolicy(input);
  assert.deepEqual(r.interfaces[0]!.map((i) => i.routes.length), [1, 0]);
  assert.match(r.dropped[0]!.reason, /second IPv4 default route/);
  assert.equal(input[0]!.interfaces[1]!.routes.length, 1);
});
