import { test } from 'node:test';
import assert from 'node:assert/strict';
import { NetletError } from '../../../src/model/errors.js';
import {
  CniResultInvalidError,
  CniVersionMissingError,
  CniVersionUnsupportedError,
  normaliseCniResult,
  parseCniResult,
} from '../../../src/cni/index.js';
import { fixture, fixtureText } from './fixtures.js';

const ctx = { network: 'ahnet', ifName: 'eth0' };

const realCases: { file: string; address: string; mac: string; routes: { dst: string; gateway?: string }[]; ns: string[] }[] = [];
for (const v of ['0.3.0', '0.3.1', '0.4.0', '1.0.0']) {
  const br = [{ dst: '0.0.0.0/0', gateway: '10.22.0.1' }, { dst: '192.168.100.0/24', gateway: '10.22.0.254' }];
  realCases.push({ file: `bridge-hostlocal-${v}-ADD.json`, address: '', mac: '', routes: br, ns: ['10.22.0.53', '8.8.8.8'] });
  realCases.push({ file: `tuning-chained-${v}-ADD.json`, address: '', mac: '52:54:00:12:34:56', routes: br, ns: ['10.22.0.53', '8.8.8.8'] });
  realCases.push({ file: `ptp-hostlocal-${v}-ADD.json`, address: '', mac: '', routes: [{ dst: '0.0.0.0/0', gateway: '10.33.0.1' }], ns: ['10.33.0.53'] });
  realCases.push({
    file: `macvlan-static-${v}-ADD.json`,
    address: '10.44.0.10',
    mac: '',
    routes: [{ dst: '0.0.0.0/0', gateway: '10.44.0.1' }, { dst: '172.16.0.0/16', gateway: '10.44.0.2' }],
    ns: [],
  });
}

for (const c of realCases) {
  void test(`real fixture ${c.file} normalises to one pod interface with its IP, routes and DNS`, () => {
    const raw = fixture(c.file);
    const pod = (raw.interfaces as any[]).find((i) => i.sandbox);
    const [plan, ...rest] = parseCniResult(raw, ctx);
    assert.equal(rest.length, 0, 'host-side interfaces are dropped');
    assert.ok(plan);
    assert.equal(plan.name, 'eth0');
    assert.equal(plan.network, 'ahnet');
    assert.equal(plan.mac, (c.mac || pod.mac).toLowerCase());
    assert.equal(plan.sandbox, pod.sandbox);
    const [addr, bits] = raw.ips[0].address.split('/');
    if (c.address) assert.equal(addr, c.address);
    assert.deepEqual(plan.ips, [{ address: addr, prefixLength: Number(bits), family: 4, gateway: raw.ips[0].gateway }]);
    assert.deepEqual(plan.routes, c.routes.map((r) => ({ ...r, family: 4 })));
    assert.deepEqual(plan.dns.nameservers, c.ns);
  });
}

void test('bridge DNS keeps domain, search and options', () => {
  const [p] = parseCniResult(fixture('bridge-hostlocal-1.0.0-ADD.json'), ctx);
  assert.deepEqual(p!.dns, { nameservers: ['10.22.0.53', '8.8.8.8'], domain: 'ah.local', search: ['ah.local', 'svc.ah.local'], options: ['ndots:5'] });
});

void test('a JSON string input is accepted and gives the same plan as the object', () => {
  const text = fixtureText('ptp-hostlocal-1.0.0-ADD.json');
  assert.deepEqual(parseCniResult(text, ctx), parseCniResult(JSON.parse(text), ctx));
});

void test('0.4.0 and 1.0.0 results of the same ADD normalise to the same plan', () => {
  const a = parseCniResult(fixture('own-bridge-sameadd-0.4.0.json'), ctx);
  const b = parseCniResult(fixture('bridge-hostlocal-1.0.0-ADD.json'), ctx);
  assert.deepEqual(a, b);
  assert.equal(a[0]!.ips[0]!.address, '10.22.0.5');
});

void test('the eth1 result of a second network: no routes, empty DNS, ifname from the result', () => {
  const [p] = parseCniResult(fixture('bridge-hostlocal-1.0.0-ADD-eth1.json'), { network: 'net2', ifName: 'eth1' });
  assert.equal(p!.name, 'eth1');
  assert.deepEqual(p!.routes, []);
  assert.deepEqual(p!.dns, { nameservers: [], search: [], options: [] });
});

for (const v of ['0.1.0', '0.2.0']) {
  void test(`${v} (legacy ip4 shape) is refused naming ${v} and 0.3.0`, () => {
    assert.throws(
      () => parseCniResult(fixture(`bridge-hostlocal-${v}-ADD.json`), ctx),
      (e: unknown) => e instanceof CniVersionUnsupportedError && e.code === 'CNI_VERSION_UNSUPPORTED' && e.message.includes(v) && e.message.includes('0.3.0') && e.found === v,
    );
  });
}

void test('unknown future versions are refused', () => {
  for (const v of ['9.9.9', '1.2.0', '0.5.0', 'one']) {
    assert.throws(() => parseCniResult({ cniVersion: v, ips: [] }, ctx), (e: unknown) => e instanceof CniVersionUnsupportedError && e.message.includes(v));
  }
});

void test('missing cniVersion is CNI_VERSION_MISSING (a plugin error JSON has none)', () => {
  assert.throws(() => parseCniResult(fixture('bridge-hostlocal-1.1.0-ADD.error.json'), ctx), (e: unknown) => e instanceof CniVersionMissingError && e.code === 'CNI_VERSION_MISSING' && /cniVersion/.test(e.message));
  assert.throws(() => parseCniResult({ interfaces: [] }, ctx), CniVersionMissingError);
});

void test('malformed results name the JSON path, what was found and what is needed', () => {
  const base = fixture('bridge-hostlocal-1.0.0-ADD.json');
  const cases: [(r: any) => void, string, RegExp][] = [
    [(r) => (r.ips[0].address = '10.22.0.5'), 'ips[0].address', /CIDR/],
    [(r) => (r.ips[0].address = 42), 'ips[0].address', /42/],
    [(r) => (r.ips[0].gateway = 'nope'), 'ips[0].gateway', /"nope"/],
    [(r) => (r.ips[0].gateway = 'fd00::1'), 'ips[0].gateway', /family/],
    [(r) => (r.ips[0].interface = -1), 'ips[0].interface', /-1/],
    [(r) => (r.routes[1].dst = '192.168.100.0/33'), 'routes[1].dst', /CIDR/],
    [(r) => (r.routes[1].gw = '::1'), 'routes[1].gw', /family/],
    [(r) => (r.interfaces[2].mac = 'zz:zz'), 'interfaces[2].mac', /MAC/],
    [(r) => (r.interfaces[1].name = ''), 'interfaces[1].name', /name/],
    [(r) => (r.interfaces = {}), 'interfaces', /array/],
    [(r) => (r.dns.nameservers = 'x'), 'dns.nameservers', /array/],
    [(r) => (r.cniVersion = 1), 'cniVersion', /string/],
  ];
  for (const [mutate, path, detail] of cases) {
    const r = structuredClone(base);
    mutate(r);
    assert.throws(
      () => parseCniResult(r, ctx),
      (e: unknown) => e instanceof CniResultInvalidError && e.code === 'CNI_RESULT_INVALID' && e.message.includes(` ${path}:`) && detail.test(e.message),
      path,
    );
  }
});

void test('non-object and non-JSON inputs are typed errors', () => {
  for (const bad of [null, 1, 'x', '{', '[]', [], true, undefined]) {
    assert.throws(() => parseCniResult(bad, ctx), (e: unknown) => e instanceof CniResultInvalidError && /JSON|object/.test(e.message));
  }
});

void test('address family comes from the address, never from ips[].version', () => {
  const r = fixture('own-dualstack-1.0.0.json');
  r.cniVersion = '0.3.1';
  r.ips[0].version = '6';
  r.ips[1].version = '4';
  const [p] = parseCniResult(r, ctx);
  assert.deepEqual(p!.ips.map((i) => i.family), [4, 6]);
});

void test('dual-stack: routes without gw go via the same-family gateway; MAC lowercased', () => {
  const plans = parseCniResult(fixture('own-dualstack-1.0.0.json'), ctx);
  assert.equal(plans.length, 1);
  const p = plans[0]!;
  assert.equal(p.mac, '0a:58:0a:01:00:05');
  assert.deepEqual(p.ips, [
    { address: '10.1.0.5', prefixLength: 24, family: 4, gateway: '10.1.0.1' },
    { address: 'fd00:1::5', prefixLength: 64, family: 6, gateway: 'fd00:1::1' },
  ]);
  assert.deepEqual(p.routes, [
    { dst: '0.0.0.0/0', family: 4, gateway: '10.1.0.1' },
    { dst: '::/0', family: 6, gateway: 'fd00:1::1' },
    { dst: 'fd00:2::/64', family: 6, gateway: 'fd00:1::99' },
  ]);
  assert.deepEqual(p.dns.nameservers, ['10.1.0.53', 'fd00:1::53']);
});

void test('Calico-shaped 0.3.1: no interfaces, /32 kept, on-link route to the gateway moved before the default route', () => {
  const plans = parseCniResult(fixture('own-calico-0.3.1.json'), { network: 'k8s-pod-network', ifName: 'eth0' });
  assert.deepEqual(plans, [
    {
      name: 'eth0',
      network: 'k8s-pod-network',
      ips: [{ address: '10.244.1.5', prefixLength: 32, family: 4, gateway: '169.254.1.1' }],
      routes: [
        { dst: '169.254.1.1/32', family: 4 },
        { dst: '0.0.0.0/0', family: 4, gateway: '169.254.1.1' },
      ],
      dns: { nameservers: [], search: [], options: [] },
    },
  ]);
});

void test('Calico-shaped 1.1.0 dual-stack: IPs without interface go to the requested ifname; v6 default via fe80::1', () => {
  const [p, ...rest] = parseCniResult(fixture('own-calico-1.1.0.json'), { network: 'k8s', ifName: 'net3' });
  assert.equal(rest.length, 0);
  assert.equal(p!.name, 'net3');
  assert.deepEqual(p!.ips.map((i) => `${i.address}/${i.prefixLength}`), ['10.244.1.6/32', 'fd00:10:244::6/128']);
  assert.deepEqual(p!.routes, [
    { dst: '169.254.1.1/32', family: 4 },
    { dst: '0.0.0.0/0', family: 4, gateway: '169.254.1.1' },
    { dst: '::/0', family: 6, gateway: 'fe80::1' },
  ]);
});

void test('a route is on-link when its interface has no gateway of its family', () => {
  const [p] = parseCniResult({ cniVersion: '1.0.0', ips: [{ address: '10.9.0.2/24' }], routes: [{ dst: '0.0.0.0/0' }] }, ctx);
  assert.deepEqual(p!.routes, [{ dst: '0.0.0.0/0', family: 4 }]);
});

void test('1.1.0 result: mtu, pciID, socketPath kept; unknown fields ignored', () => {
  const [p] = parseCniResult(fixture('own-full-1.1.0.json'), ctx);
  assert.deepEqual(p, {
    name: 'eth0',
    network: 'ahnet',
    mac: '0a:58:0a:01:00:07',
    mtu: 9000,
    sandbox: '/run/netns/p3',
    pciID: '0000:3b:02.1',
    socketPath: '/run/vhost/p3.sock',
    ips: [{ address: '10.7.0.7', prefixLength: 24, family: 4, gateway: '10.7.0.1' }],
    routes: [
      { dst: '0.0.0.0/0', family: 4, gateway: '10.7.0.1' },
      { dst: '10.8.0.0/16', family: 4, gateway: '10.7.0.2' },
    ],
    dns: { nameservers: ['10.7.0.53'], domain: 'p3.local', search: ['p3.local'], options: ['ndots:2'] },
  });
});

void test('multi-interface: IPs by index, missing/out-of-range index to the ifname, host-side IPs left out', () => {
  const n = normaliseCniResult(fixture('own-multi-interface-1.0.0.json'), ctx);
  assert.deepEqual(n.interfaces.map((i) => i.name), ['eth0', 'eth0v100']);
  const [eth0, vlan] = n.interfaces;
  assert.deepEqual(eth0!.ips.map((i) => i.address), ['10.2.0.5', '10.3.0.5', '10.4.0.5']);
  assert.deepEqual(vlan!.ips.map((i) => i.address), ['10.100.0.5']);
  assert.equal(vlan!.mtu, 1400);
  assert.deepEqual(eth0!.routes, [{ dst: '0.0.0.0/0', family: 4, gateway: '10.2.0.1' }]);
  assert.deepEqual(vlan!.routes, [{ dst: '172.20.0.0/16', family: 4, gateway: '10.100.0.254' }]);
  assert.equal(n.notes.length, 1);
  assert.match(n.notes[0]!, /br0/);
});

void test('missing dns, null lists and empty-string gateways are fine', () => {
  const [p] = parseCniResult({ cniVersion: '0.4.0', interfaces: null, ips: [{ version: '4', address: '10.0.0.2/8', gateway: '' }], routes: null }, ctx);
  assert.deepEqual(p, { name: 'eth0', network: 'ahnet', ips: [{ address: '10.0.0.2', prefixLength: 8, family: 4 }], routes: [], dns: { nameservers: [], search: [], options: [] } });
});

void test('errors are NetletErrors with stable codes', () => {
  try {
    parseCniResult({}, ctx);
    assert.fail('no throw');
  } catch (e) {
    assert.ok(e instanceof NetletError);
    assert.equal(e.code, 'CNI_VERSION_MISSING');
  }
});
