// Each rtnetlink operation does what `ip -j` then shows, in a throwaway netns.
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { Rtnl, type LinkEvent } from '../../src/io/rtnl.js';
import { NetnsHandle } from '../../src/io/netns.js';
import { native } from '../../src/io/native.js';
import { closeSync, openSync } from 'node:fs';
import { SysError } from '../../src/model/errors.js';
import { Topology, type Netns } from '../support/netns.js';
import { assertNoFdLeak, assertNoNetnsLeft, fdSnapshot } from '../support/leaks.js';

const topo = new Topology();
let pod: Netns;
let other: Netns;
let rt: Rtnl;
const fds = fdSnapshot();

before(() => {
  pod = topo.ns('rt');
  other = topo.ns('rt2');
  rt = Rtnl.open(pod.path);
});
after(() => {
  rt.close();
  topo.destroy();
  assertNoNetnsLeft(topo.tag);
  assertNoFdLeak(fds, 'rtnl tests');
});

const errno = (name: string) => (e: unknown) => e instanceof SysError && e.errno === name;

void test('links: bridge, up/down, MTU, MAC, master/nomaster, rename, move, delete', async () => {
  const br = topo.name('br');
  await rt.createBridge(br, { mtu: 1450, ageingSeconds: 0 });
  const [shown] = pod.json('-d', 'link', 'show', br);
  assert.equal(shown.linkinfo.info_kind, 'bridge');
  assert.equal(shown.linkinfo.info_data.ageing_time, 0);
  assert.equal(shown.mtu, 1450);
  await assert.rejects(rt.createBridge(br), errno('EEXIST'));

  const b = await rt.mustLink(br);
  assert.equal(b.kind, 'bridge');
  await rt.setUp(b.index);
  assert.ok(pod.json('link', 'show', br)[0].flags.includes('UP'));
  await rt.setUp(b.index, false);
  assert.ok(!pod.json('link', 'show', br)[0].flags.includes('UP'));

  const v = topo.name('v');
  pod.ip('link', 'add', v, 'type', 'veth', 'peer', 'name', topo.name('p'));
  const veth = await rt.mustLink(v);
  await rt.setMtu(veth.index, 9000);
  await rt.setMac(veth.index, '02:aa:bb:cc:dd:ee');
  let [vs] = pod.json('link', 'show', v);
  assert.equal(vs.mtu, 9000);
  assert.equal(vs.address, '02:aa:bb:cc:dd:ee');
  assert.equal((await rt.mustLink(v)).mac, '02:aa:bb:cc:dd:ee');

  await rt.setMaster(veth.index, b.index);
  [vs] = pod.json('link', 'show', v);
  assert.equal(vs.master, br);
  assert.equal((await rt.mustLink(v)).master, b.index);
  await rt.setMaster(veth.index, 0);
  [vs] = pod.json('link', 'show', v);
  assert.equal(vs.master, undefined);

  const renamed = topo.name('rn');
  await rt.setName(veth.index, renamed);
  assert.ok(pod.links().includes(renamed));
  assert.equal(await rt.link(v), undefined);

  const otherNs = NetnsHandle.open(other.path);
  await rt.moveToNetns(veth.index, otherNs.fd);
  otherNs.close();
  assert.ok(!pod.links().includes(renamed));
  assert.ok(other.links().includes(renamed));

  await rt.deleteLink(b.index);
  assert.ok(!pod.links().includes(br));
  await assert.rejects(rt.deleteLink(b.index), errno('ENODEV'));
  await assert.rejects(rt.mustLink(br), errno('ENODEV'));
  await assert.rejects(rt.setMtu(99999, 1500), errno('ENODEV'));
});

void test('deleteGroup (from a pool thread) deletes the group in this netns only; deleteLink of a missing link is ENODEV', async () => {
  const [a, b, c, elsewhere] = ['ga', 'gb', 'gc', 'gd'].map((n) => topo.name(n));
  await rt.createBridge(a!, { group: 4242 });
  pod.ip('tuntap', 'add', b!, 'mode', 'tap');
  pod.ip('link', 'set', b!, 'group', '4242');
  await rt.createBridge(c!, { group: 4243 });
  other.ip('link', 'add', elsewhere!, 'group', '4242', 'type', 'bridge');
  await rt.deleteGroup(4242);
  assert.deepEqual([a, b, c].map((n) => pod.links().includes(n!)), [false, false, true]);
  assert.ok(other.links().includes(elsewhere!), 'the same group in another netns stays');
  await rt.deleteLink((await rt.mustLink(c!)).index);
  await assert.rejects(rt.deleteLink(999999), errno('ENODEV'));
  other.ip('link', 'del', elsewhere!);
});

void test('offLoop: from pool threads the same replies as the event loop (a dump of many parts too), the same writes and errors', async () => {
  const off = rt.offLoop;
  assert.equal(rt.offLoop, off, 'one view per Rtnl');
  // ~80 links: a link dump of ~100 KiB, more than one 32 KiB read.
  const names = Array.from({ length: 80 }, (_, i) => topo.name(`ol${i}`));
  pod.exec('ip', ['-batch', '-'], names.map((n) => `link add ${n} type bridge`).join('\n'));
  const d = names[0]!;
  const l = await off.mustLink(d);
  await off.setUp(l.index);
  await off.setMac(l.index, '02:00:5e:10:20:30');
  await off.addAddress(l.index, '10.77.0.2/24');
  await off.addAddress(l.index, 'fd00:77::2/64', { flags: ['nodad'] });
  await off.addRoute({ dst: '10.78.0.0/16', gateway: '10.77.0.1', oif: l.index });
  const shown = pod.json('link', 'show', d)[0];
  assert.equal(shown.address, '02:00:5e:10:20:30');
  assert.ok(shown.flags.includes('UP'));
  assert.deepEqual(await off.links(), await rt.links());
  assert.ok((await off.links()).length >= 81);
  assert.deepEqual(await off.addresses(), await rt.addresses());
  for (const family of [4, 6] as const) assert.deepEqual(await off.routes(family), await rt.routes(family));
  assert.ok((await off.routes(4)).some((r) => r.dst === '10.78.0.0/16' && r.gateway === '10.77.0.1'));
  await assert.rejects(off.addAddress(l.index, '10.77.0.2/24'), errno('EEXIST'));
  await assert.rejects(off.setMtu(999999, 1500), errno('ENODEV'));
  assert.equal(await off.link(topo.name('none')), undefined);
  pod.exec('ip', ['-batch', '-'], names.map((n) => `link del ${n}`).join('\n'));
});

void test('addresses: add and delete, IPv4 and IPv6, as ip -j shows them', async () => {
  const d = topo.name('ad');
  pod.ip('link', 'add', d, 'type', 'bridge');
  const l = await rt.mustLink(d);
  await rt.setUp(l.index);
  await rt.addAddress(l.index, '10.20.30.4/24');
  await rt.addAddress(l.index, 'fd00:1::4/64');
  const shown = pod.json('addr', 'show', d)[0].addr_info.map((a: any) => `${a.local}/${a.prefixlen}`);
  assert.ok(shown.includes('10.20.30.4/24'));
  assert.ok(shown.includes('fd00:1::4/64'));
  assert.equal(pod.json('addr', 'show', d)[0].addr_info.find((a: any) => a.local === '10.20.30.4').broadcast, '10.20.30.255');
  const mine = (await rt.addresses(l.index)).map((a) => `${a.address}/${a.prefixLength}`);
  assert.ok(mine.includes('10.20.30.4/24') && mine.includes('fd00:1::4/64'));
  await assert.rejects(rt.addAddress(l.index, '10.20.30.4/24'), errno('EEXIST'));
  await rt.delAddress(l.index, '10.20.30.4/24');
  await rt.delAddress(l.index, 'fd00:1::4/64');
  const left = pod.json('addr', 'show', d)[0].addr_info.map((a: any) => a.local);
  assert.ok(!left.includes('10.20.30.4') && !left.includes('fd00:1::4'));
  await assert.rejects(rt.delAddress(l.index, '10.20.30.4/24'), errno('EADDRNOTAVAIL'));
  await assert.rejects(rt.addAddress(l.index, 'not-an-address'), errno('EINVAL'));
  await rt.deleteLink(l.index);
});

void test('addresses: every field as ip -j reads it (flags, peer, broadcast, scope, dynamic)', async () => {
  const d = topo.name('af');
  pod.exec('ip', ['-batch', '-'], [
    `link add ${d} type veth peer name ${topo.name('afp')}`,
    `addr add 10.61.0.2/24 dev ${d}`, `addr add 10.61.0.3/24 dev ${d}`, `addr add 10.61.1.2/31 dev ${d}`,
    `addr add 10.61.2.2/24 brd 10.61.2.7 dev ${d}`, `addr add 10.61.3.1 peer 10.61.3.2/32 dev ${d}`, `addr add 10.62.0.1/8 scope link dev ${d}`,
    `addr add fd61::2/64 dev ${d} nodad`, `addr add fd61:1::2/64 dev ${d} noprefixroute nodad`, `addr add fd61:2::2/64 dev ${d} mngtmpaddr nodad`,
    `addr add fd61:3::2/64 dev ${d} home nodad`, `addr add fd61:4::2/64 dev ${d} valid_lft 600 preferred_lft 300 nodad`,
    `link set ${d} up`,
  ].join('\n'));
  const l = await rt.mustLink(d);
  const flagNames: Record<string, string> = { nodad: 'nodad', noprefixroute: 'noprefixroute', mngtmpaddr: 'managetempaddr', home: 'homeaddress' };
  const scopes: Record<string, number> = { global: 0, link: 253, host: 254 };
  const shown = pod.json('addr', 'show', 'dev', d)[0].addr_info.map((a: any) => ({
    ...(a.broadcast ? { broadcast: a.broadcast } : {}),
    index: l.index, family: a.family === 'inet' ? 4 : 6, address: a.local, prefixLength: a.prefixlen, scope: scopes[a.scope],
    permanent: !a.dynamic, flags: Object.keys(flagNames).filter((f) => a[f]).map((f) => flagNames[f]),
  }));
  const key = (a: { address: string }) => a.address;
  const mine = await rt.addresses(l.index);
  assert.deepEqual([...mine].sort((a, b) => key(a).localeCompare(key(b))), [...shown].sort((a: any, b: any) => key(a).localeCompare(key(b))));
  // The ones that make each field differ are there.
  assert.ok(mine.some((a) => a.address === 'fd61:4::2' && !a.permanent));
  assert.ok(mine.some((a) => a.address === '10.61.2.2' && a.broadcast === '10.61.2.7'));
  assert.ok(mine.some((a) => a.address === 'fd61:1::2' && a.flags.join() === 'nodad,noprefixroute'));
  assert.ok(mine.some((a) => a.address === '10.61.3.1' && a.prefixLength === 32));
  assert.ok(mine.some((a) => a.address === '10.62.0.1' && a.scope === 253));
  // Without an index: every link's, this one's among them.
  assert.equal((await rt.addresses()).filter((a) => a.index === l.index).length, mine.length);
  await rt.deleteLink(l.index);
});

void test('requests go on this thread over one socket made in the netns; a closed Rtnl refuses (EBADF), off the loop too, and holds no fd', async () => {
  const name = topo.name('same');
  const a = Rtnl.open(pod.path);
  const b = Rtnl.open(other.path);
  const before = fdSnapshot();
  await a.createBridge(name);
  assert.ok((await a.links()).some((l) => l.name === name));
  assert.ok(!(await b.links()).some((l) => l.name === name));
  await b.createBridge(name);
  assert.equal(other.json('link', 'show', name)[0].ifname, name);
  // No fd per request.
  for (let i = 0; i < 50; i++) await a.links();
  assertNoFdLeak(before, 'requests');
  await a.deleteLink((await a.mustLink(name)).index);
  await b.deleteLink((await b.mustLink(name)).index);
  b.close();
  // A bridge in the other netns that nothing sent through the closed `a` may reach.
  const keep = topo.name('keep');
  other.ip('link', 'add', keep, 'type', 'bridge');
  const keepIndex: number = other.json('link', 'show', keep)[0].ifindex;
  const offA = a.offLoop;
  a.close();
  a.close();
  // The numbers of a's netns fd and socket reopened on the other netns.
  const taken = [0, 1, 2, 3].map(() => native.moveHigh(openSync(other.path, 'r')));
  try {
    await assert.rejects(a.links(), errno('EBADF'));
    await assert.rejects(offA.links(), errno('EBADF'));
    await assert.rejects(a.deleteLink(keepIndex), errno('EBADF'));
    assert.equal(other.json('link', 'show', keep)[0].ifname, keep);
  } finally {
    taken.forEach((fd) => closeSync(fd));
    other.ip('link', 'del', keep);
  }
  // A netns handle its owner closed: an Rtnl made in it refuses off the loop as well.
  const h = NetnsHandle.open(pod.path);
  const c = Rtnl.in(h);
  h.close();
  await assert.rejects(c.offLoop.links(), errno('EBADF'));
  c.close();
});

void test('routes: via gateway, gateway-less scope link, default, IPv6; delete', async () => {
  const d = topo.name('rd');
  pod.ip('link', 'add', d, 'type', 'bridge');
  const l = await rt.mustLink(d);
  await rt.setUp(l.index);
  await rt.addAddress(l.index, '10.40.0.2/32');
  await rt.addRoute({ dst: '169.254.1.1/32', oif: l.index });
  await rt.addRoute({ dst: '0.0.0.0/0', gateway: '169.254.1.1', oif: l.index });
  await rt.addRoute({ dst: '10.50.0.0/16', gateway: '169.254.1.1', oif: l.index, metric: 50 });
  const shown = pod.json('route', 'show', 'dev', d);
  const onlink = shown.find((r: any) => r.dst === '169.254.1.1');
  assert.equal(onlink.scope, 'link');
  assert.equal(onlink.gateway, undefined);
  assert.equal(shown.find((r: any) => r.dst === 'default').gateway, '169.254.1.1');
  assert.equal(shown.find((r: any) => r.dst === '10.50.0.0/16').metric, 50);
  const mine = await rt.routes(4);
  assert.deepEqual(
    mine.filter((r) => r.oif === l.index && r.protocol === 'boot').map((r) => [r.dst, r.gateway ?? '-', r.scope]).sort(),
    [['0.0.0.0/0', '169.254.1.1', 'universe'], ['10.50.0.0/16', '169.254.1.1', 'universe'], ['169.254.1.1/32', '-', 'link']],
  );
  await assert.rejects(rt.addRoute({ dst: '0.0.0.0/0', gateway: '169.254.1.1', oif: l.index }), errno('EEXIST'));
  await rt.addAddress(l.index, 'fd00:2::2/64');
  await rt.addRoute({ dst: 'fd00:3::/64', gateway: 'fd00:2::1', oif: l.index });
  assert.ok(pod.json('-6', 'route', 'show', 'dev', d).some((r: any) => r.dst === 'fd00:3::/64' && r.gateway === 'fd00:2::1'));
  assert.ok((await rt.routes(6)).some((r) => r.dst === 'fd00:3::/64' && r.gateway === 'fd00:2::1'));
  await rt.delRoute({ dst: '0.0.0.0/0', gateway: '169.254.1.1', oif: l.index });
  await rt.delRoute({ dst: '169.254.1.1/32', oif: l.index });
  await rt.delRoute({ dst: 'fd00:3::/64', gateway: 'fd00:2::1', oif: l.index });
  const after4 = pod.json('route', 'show', 'dev', d).map((r: any) => r.dst);
  assert.ok(!after4.includes('default') && !after4.includes('169.254.1.1'));
  await assert.rejects(rt.delRoute({ dst: '169.254.1.1/32', oif: l.index }), errno('ESRCH'));
  await assert.rejects(rt.addRoute({ dst: '10.0.0.0/8', gateway: 'fd00::1', oif: l.index }), errno('EINVAL'));
  await rt.deleteLink(l.index);
});

void test('neighbours: permanent entry added, listed and deleted', async () => {
  const d = topo.name('nd');
  pod.ip('link', 'add', d, 'type', 'bridge');
  const l = await rt.mustLink(d);
  await rt.setUp(l.index);
  await rt.addAddress(l.index, '10.60.0.1/24');
  await rt.addNeighbour(l.index, '10.60.0.5', '02:00:00:00:00:05');
  const shown = pod.json('neigh', 'show', 'dev', d);
  assert.deepEqual(shown.map((n: any) => [n.dst, n.lladdr, n.state[0]]), [['10.60.0.5', '02:00:00:00:00:05', 'PERMANENT']]);
  assert.deepEqual((await rt.neighbours(l.index)).map((n) => [n.address, n.mac, n.permanent]), [['10.60.0.5', '02:00:00:00:00:05', true]]);
  await assert.rejects(rt.addNeighbour(l.index, '10.60.0.5', '02:00:00:00:00:06'), errno('EEXIST'));
  await rt.addNeighbour(l.index, '10.60.0.5', '02:00:00:00:00:06', { replace: true });
  assert.equal(pod.json('neigh', 'show', 'dev', d)[0].lladdr, '02:00:00:00:00:06');
  await rt.delNeighbour(l.index, '10.60.0.5');
  assert.deepEqual(pod.json('neigh', 'show', 'dev', d), []);
  await assert.rejects(rt.delNeighbour(l.index, '10.60.0.5'), errno('ENOENT'));
  await rt.deleteLink(l.index);
});

void test('watchLinks: the netns\'s own link events as they happen; lost ones when its buffer overruns; nothing after close', async () => {
  const events: LinkEvent[] = [];
  const w = rt.watchLinks((e) => events.push(e));
  const nextTurns = async (pred: () => boolean): Promise<void> => {
    for (let i = 0; i < 200 && !pred(); i++) await new Promise((r) => setTimeout(r, 10));
  };
  const d = topo.name('wd');
  pod.ip('link', 'add', d, 'type', 'bridge');
  other.ip('link', 'add', topo.name('wo'), 'type', 'bridge');
  pod.ip('link', 'del', d);
  await nextTurns(() => events.some((e) => 'link' in e && e.deleted));
  const seen = events.map((e) => ('lost' in e ? 'lost' : `${e.deleted ? 'del' : 'new'} ${e.link.name}`));
  assert.equal(seen[0], `new ${d}`);
  assert.equal(seen.at(-1), `del ${d}`);
  assert.ok(!seen.some((x) => x.includes(topo.name('wo'))), 'another netns\'s links are not its news');

  // The event loop held while a link goes up and down 1500 times (each an event): the kernel
  // drops what the socket cannot hold (ENOBUFS).
  events.length = 0;
  pod.ip('link', 'add', d, 'type', 'bridge');
  pod.exec('ip', ['-batch', '-'], Array.from({ length: 1500 }, () => `link set ${d} up\nlink set ${d} down`).join('\n'));
  pod.ip('link', 'del', d);
  await nextTurns(() => events.some((e) => 'lost' in e));
  assert.ok(events.some((e) => 'lost' in e), `an overrun is told (${events.length} events read)`);

  w.close();
  events.length = 0;
  pod.ip('link', 'add', d, 'type', 'bridge');
  pod.ip('link', 'del', d);
  await new Promise((r) => setTimeout(r, 100));
  assert.deepEqual(events, [], 'closed: no more events');
});

void test('a netns that does not exist is a typed ENOENT, nothing opened', () => {
  assert.throws(() => Rtnl.open(`/run/netns/${topo.tag}-missing`), errno('ENOENT'));
});
