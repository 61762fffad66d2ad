// The pure part of exact restore: which routes compete for a destination, their order,
// and the fewest moves (delete + append) that put a group back in order.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { routeGroupKey, routeMemberId, routeOrder, routeOrderFor, routesToMove, type KernelRoute } from '../../../src/model/kernel-route.js';

const r = (dst: string, dev: string, extra: Partial<KernelRoute> = {}): KernelRoute =>
  ({ family: dst.includes(':') ? 6 : 4, table: 254, dst, type: 1, protocol: 3, scope: 0, dev, ...extra });

void test('routes compete only within family, table, destination, TOS and metric', () => {
  const a = r('0.0.0.0/0', 'eth0', { gateway: '10.0.0.1' });
  assert.equal(routeGroupKey(a), routeGroupKey(r('0.0.0.0/0', 'eth1', { gateway: '10.1.0.1' })));
  assert.notEqual(routeGroupKey(a), routeGroupKey({ ...a, table: 100 }));
  assert.notEqual(routeGroupKey(a), routeGroupKey({ ...a, metric: 50 }));
  assert.notEqual(routeGroupKey(a), routeGroupKey({ ...a, tos: 4 }));
  // IPv6 routes without a metric get 1024 from the kernel.
  assert.equal(routeGroupKey(r('::/0', 'eth0')), routeGroupKey(r('::/0', 'eth0', { metric: 1024 })));
  assert.notEqual(routeMemberId(a), routeMemberId({ ...a, dev: 'eth1' }));
  assert.notEqual(routeMemberId(a), routeMemberId({ ...a, type: 6 }));
});

void test('routeOrder keeps groups of two or more in kernel order; routeOrderFor picks those through a device', () => {
  const routes = [
    r('0.0.0.0/0', 'eth0', { gateway: '10.0.0.1' }),
    r('10.9.0.0/16', 'eth0', { gateway: '10.0.0.1' }),
    r('0.0.0.0/0', 'eth1', { gateway: '10.1.0.1' }),
    r('192.0.2.0/24', 'eth2', { gateway: '10.2.0.1' }),
    r('192.0.2.0/24', 'eth2', { gateway: '10.2.0.2' }),
    r('198.51.100.0/24', 'x', { nexthops: [{ dev: 'eth1', gateway: '10.1.0.1', weight: 1 }, { dev: 'eth3', gateway: '10.3.0.1', weight: 1 }] }),
    r('198.51.100.0/24', 'eth4', { gateway: '10.4.0.1' }),
  ];
  const order = routeOrder(routes);
  assert.deepEqual(Object.values(order), [
    ['t1 10.0.0.1@eth0', 't1 10.1.0.1@eth1'],
    ['t1 10.2.0.1@eth2', 't1 10.2.0.2@eth2'],
    ['t1 10.1.0.1@eth1,10.3.0.1@eth3', 't1 10.4.0.1@eth4'],
  ]);
  assert.deepEqual(Object.keys(routeOrderFor(order, 'eth1')).length, 2, 'eth1: the default and the multipath group');
  assert.deepEqual(Object.keys(routeOrderFor(order, 'eth3')).length, 1, 'a nexthop counts');
  assert.deepEqual(routeOrderFor(order, 'eth'), {}, 'names match whole');
});

void test('routesToMove: nothing when in order; the tail from the first misplaced route otherwise; strangers stay', () => {
  assert.deepEqual(routesToMove(['a', 'b', 'c'], ['a', 'b', 'c']), []);
  assert.deepEqual(routesToMove(['b', 'a'], ['a', 'b']), ['a', 'b']);
  assert.deepEqual(routesToMove(['a', 'c', 'b'], ['a', 'b', 'c']), ['b', 'c']);
  assert.deepEqual(routesToMove(['x', 'b', 'a'], ['a', 'b']), ['a', 'b']);
  assert.deepEqual(routesToMove(['a', 'x', 'b'], ['a', 'b']), [], 'a route added since is not ours to move');
  assert.deepEqual(routesToMove(['b'], ['a', 'b']), [], 'one not there yet: nothing to order');
});

void test('property: deleting and appending the routes routesToMove names always yields the wanted order', () => {
  fc.assert(fc.property(fc.uniqueArray(fc.integer({ min: 0, max: 9 }), { minLength: 0, maxLength: 8 }), fc.integer(), (ids, seed) => {
    const want = ids.map(String);
    // The kernel's current list: a permutation of `want` plus a stranger somewhere.
    const current = [...want].sort((a, b) => ((Number(a) * 7919 + seed) % 13) - ((Number(b) * 7919 + seed) % 13));
    current.splice(Math.abs(seed) % (current.length + 1), 0, 'stranger');
    let list = [...current];
    for (const m of routesToMove(current, want)) list = [...list.filter((x) => x !== m), m];
    assert.deepEqual(list.filter((x) => x !== 'stranger'), want);
  }));
});
