import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { configFromPlan, DEFAULT_LEASE_SECONDS, validateConfig } from '../../../src/dhcp/config.js';
import { DhcpConfigError } from '../../../src/dhcp/errors.js';
import { baseConfig, bridgeIface, calicoIface, podDns, SERVER_ID } from './fixtures.js';

void describe('configFromPlan', () => {
  void it('takes the IPv4 address, IPv4 routes, the default gateway, MTU and the pod DNS', () => {
    const c = configFromPlan(bridgeIface(), podDns(), { serverId: SERVER_ID, hostname: 'vm01' });
    assert.deepEqual(c, {
      clientMac: '52:54:00:12:34:56',
      address: '10.1.0.5',
      prefixLength: 24,
      gateway: '10.1.0.1',
      routes: [{ dst: '0.0.0.0/0', family: 4, gateway: '10.1.0.1' }],
      dns: { nameservers: ['10.96.0.10'], search: ['default.svc.cluster.local', 'svc.cluster.local', 'cluster.local'] },
      hostname: 'vm01',
      mtu: 1450,
      leaseSeconds: DEFAULT_LEASE_SECONDS,
      serverId: SERVER_ID,
    });
  });

  void it("uses the CNI result's DNS when the pod has none, and never invents a nameserver", () => {
    assert.deepEqual(configFromPlan(bridgeIface(), undefined, { serverId: SERVER_ID }).dns, { nameservers: ['10.1.0.53'], search: ['cni.local'] });
    assert.deepEqual(configFromPlan(calicoIface(), undefined, { serverId: SERVER_ID }).dns, { nameservers: [], search: [] });
  });

  void it('keeps the DNS domain and lets options override lease and MTU', () => {
    const c = configFromPlan(bridgeIface(), { ...podDns(), domain: 'example.org' }, { serverId: SERVER_ID, leaseSeconds: 600, mtu: 9000 });
    assert.equal(c.dns.domain, 'example.org');
    assert.equal(c.leaseSeconds, 600);
    assert.equal(c.mtu, 9000);
  });

  void it('has no gateway when the plan has no IPv4 default route, even if the address names one', () => {
    const iface = { ...bridgeIface(), routes: [{ dst: '10.2.0.0/16', family: 4 as const, gateway: '10.1.0.1' }] };
    const c = configFromPlan(iface, undefined, { serverId: SERVER_ID });
    assert.equal(c.gateway, undefined);
    assert.equal(c.mtu, 1450);
  });

  void it('normalises the MAC and rejects interfaces it cannot serve', () => {
    assert.equal(configFromPlan({ ...bridgeIface(), mac: '52-54-00-AB-CD-EF' }, undefined, { serverId: SERVER_ID }).clientMac, '52:54:00:ab:cd:ef');
    const { mac: _mac, ...noMac } = bridgeIface();
    assert.throws(() => configFromPlan(noMac, undefined, { serverId: SERVER_ID }), DhcpConfigError);
    assert.throws(() => configFromPlan({ ...bridgeIface(), mac: 'nope' }, undefined, { serverId: SERVER_ID }), DhcpConfigError);
    const v6only = { ...bridgeIface(), ips: [{ address: 'fd00::5', prefixLength: 64, family: 6 as const }] };
    assert.throws(() => configFromPlan(v6only, undefined, { serverId: SERVER_ID }), /no IPv4 address/);
    assert.throws(() => configFromPlan(bridgeIface(), { ...podDns(), search: ['bad..name'] }, { serverId: SERVER_ID }), DhcpConfigError);
    assert.throws(() => configFromPlan(bridgeIface(), undefined, { serverId: 'fd00::1' }), DhcpConfigError);
  });
});

void describe('validateConfig', () => {
  void it('accepts the base config', () => {
    assert.doesNotThrow(() => validateConfig(baseConfig()));
    assert.doesNotThrow(() => validateConfig(baseConfig({ routes: [{ dst: 'not-checked', family: 6 }] })));
  });

  const bad: [string, Parameters<typeof baseConfig>[0]][] = [
    ['clientMac', { clientMac: '52:54:00:12:34:5G' }],
    ['clientMac', { clientMac: '52:54:00:AB:CD:EF' }],
    ['address', { address: '10.1.0' }],
    ['prefixLength', { prefixLength: 0 }],
    ['prefixLength', { prefixLength: 33 }],
    ['serverId', { serverId: '' }],
    ['gateway', { gateway: 'fd00::1' }],
    ['routes.dst', { routes: [{ dst: '10.0.0.0/33', family: 4 }] }],
    ['routes.gateway', { routes: [{ dst: '10.0.0.0/8', family: 4, gateway: 'x' }] }],
    ['dns.nameservers', { dns: { nameservers: ['fd00::10'], search: [] } }],
    ['dns.search', { dns: { nameservers: [], search: ['a b'] } }],
    ['dns.domain', { dns: { nameservers: [], search: [], domain: '' } }],
    ['hostname', { hostname: 'é' }],
    ['mtu', { mtu: 67 }],
    ['leaseSeconds', { leaseSeconds: 0 }],
    ['leaseSeconds', { leaseSeconds: 2 ** 32 }],
  ];
  for (const [field, over] of bad) {
    void it(`rejects a bad ${field} (${JSON.stringify(over)})`, () => {
      assert.throws(() => validateConfig(baseConfig(over)), (e: unknown) => e instanceof DhcpConfigError && e.details?.field === field);
    });
  }
});
