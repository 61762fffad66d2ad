// Behaviours behind the goldens: SR-IOV renders like veth, on-link routes come first,
// defaults stay on one interface, bad input fails with a typed error.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parse } from 'yaml';
import { networkConfigV1, networkConfigV2, networkData, renderCloudInit } from '../../../src/cloudinit/index.js';
import { ipv6PrefixToMask } from '../../../src/cloudinit/ipv6-mask.js';
import { NetletError, type InterfacePlan, type PodNetworkPlan } from '../../../src/model/index.js';
import { goldenCases, sriovVf } from './plans.js';

const plan = (iface: Partial<InterfacePlan>): PodNetworkPlan => ({
  podId: 'ns/p',
  interfaces: [{ name: 'eth0', network: 'n', mac: '0a:58:00:00:00:01', ips: [], routes: [], dns: { nameservers: [], search: [], options: [] }, ...iface }],
  dns: { nameservers: [], search: [], options: [] },
});

const calicoLike = (routes: InterfacePlan['routes']): PodNetworkPlan =>
  plan({ ips: [{ address: '10.0.0.9', prefixLength: 32, family: 4 }], routes });

void describe('cloud-init renderers', () => {
  void it('render an SR-IOV interface exactly like a veth', () => {
    const sriov = goldenCases.sriov!;
    const { pciID: _pci, ...asVeth } = sriovVf;
    const vethPlan: PodNetworkPlan = { ...sriov, interfaces: [sriov.interfaces[0]!, asVeth] };
    assert.deepEqual(renderCloudInit(vethPlan), renderCloudInit(sriov));
  });

  void it('put a missing on-link route before the route through its gateway', () => {
    const v1 = networkConfigV1(calicoLike([{ dst: '0.0.0.0/0', family: 4, gateway: '169.254.1.1' }]));
    const phy = v1.config[0];
    assert.ok(phy?.type === 'physical');
    assert.deepEqual(phy.subnets[0], {
      type: 'static',
      address: '10.0.0.9',
      netmask: '255.255.255.255',
      routes: [
        { network: '169.254.1.1', netmask: '255.255.255.255', gateway: '0.0.0.0' },
        { network: '0.0.0.0', netmask: '0.0.0.0', gateway: '169.254.1.1' },
      ],
    });
  });

  void it('move a later on-link route up, and list it once', () => {
    const v2 = networkConfigV2(
      calicoLike([
        { dst: '0.0.0.0/0', family: 4, gateway: '169.254.1.1' },
        { dst: '169.254.1.1/32', family: 4 },
      ]),
    );
    assert.deepEqual(v2.ethernets.eth0?.routes, [
      { to: '169.254.1.1/32', via: '0.0.0.0' },
      { to: '0.0.0.0/0', via: '169.254.1.1', 'on-link': true },
    ]);
  });

  void it('treat an IPv6 link-local gateway as on the link (no extra route) and send the v6 default as gateway6', () => {
    const p = plan({ ips: [{ address: 'fd00:1::5', prefixLength: 128, family: 6 }], routes: [{ dst: '::/0', family: 6, gateway: 'fe80::ecee:eeff:feee:eeee' }] });
    const phy = networkConfigV1(p).config[0];
    assert.ok(phy?.type === 'physical');
    assert.deepEqual(phy.subnets, [{ type: 'static6', address: 'fd00:1::5/128', gateway: 'fe80::ecee:eeff:feee:eeee' }]);
    const eth0 = networkConfigV2(p).ethernets.eth0;
    assert.equal(eth0?.gateway6, 'fe80::ecee:eeff:feee:eeee');
    assert.equal(eth0?.routes, undefined);
  });

  void it('keep the IPv4 default on the first interface that has one, drop later ones', () => {
    const several = goldenCases.several!;
    const v2 = networkConfigV2(several);
    const defaults = Object.entries(v2.ethernets).flatMap(([name, e]) => (e.routes ?? []).filter((r) => r.to === '0.0.0.0/0').map(() => name));
    assert.deepEqual(defaults, ['eth0']);
    const v1Gateways = networkConfigV1(several).config.flatMap((c) => (c.type === 'physical' ? c.subnets.flatMap((s) => ('gateway' in s && s.gateway ? [`${c.name}:${s.gateway}`] : [])) : []));
    assert.deepEqual(v1Gateways, ['eth0:10.244.0.1']);
  });

  void it('give an interface without addresses DHCP and no routes', () => {
    const p = plan({ routes: [{ dst: '10.9.0.0/16', family: 4, gateway: '10.8.0.1' }] });
    assert.deepEqual((networkConfigV1(p).config[0] as { subnets: unknown }).subnets, [{ type: 'dhcp' }]);
    assert.equal(networkConfigV2(p).ethernets.eth0?.routes, undefined);
    assert.deepEqual(networkData(p).networks, [{ id: 'network0', type: 'ipv4_dhcp', link: 'eth0', network_id: 'n' }]);
  });

  void it('omit the nameserver entry when the plan has no DNS', () => {
    assert.deepEqual(networkConfigV1(plan({})).config.filter((c) => c.type === 'nameserver'), []);
    assert.equal(networkConfigV2(plan({})).ethernets.eth0?.nameservers, undefined);
  });

  void it('lowercase the MAC and refuse an interface without one', () => {
    assert.equal(networkConfigV2(plan({ mac: '0A:58:00:00:00:0B' })).ethernets.eth0?.match.macaddress, '0a:58:00:00:00:0b');
    assert.throws(() => renderCloudInit(plan({ mac: undefined })), (e: unknown) => e instanceof NetletError && e.code === 'CLOUDINIT_NO_MAC');
    assert.throws(() => renderCloudInit(plan({ mac: 'not-a-mac' })), (e: unknown) => e instanceof NetletError && e.code === 'CLOUDINIT_NO_MAC');
  });

  void it('refuse a route whose destination is not a CIDR', () => {
    const p = plan({ ips: [{ address: '10.0.0.9', prefixLength: 24, family: 4 }], routes: [{ dst: '10.1.0.0', family: 4, gateway: '10.0.0.1' }] });
    assert.throws(() => renderCloudInit(p), (e: unknown) => e instanceof NetletError && e.code === 'CLOUDINIT_BAD_ROUTE');
  });

  void it('spell IPv6 masks the way network_data.json does', () => {
    assert.equal(ipv6PrefixToMask(64), 'ffff:ffff:ffff:ffff::');
    assert.equal(ipv6PrefixToMask(128), 'ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff');
    assert.equal(ipv6PrefixToMask(0), '::');
    assert.equal(ipv6PrefixToMask(56), 'ffff:ffff:ffff:ff00::');
    assert.equal(ipv6PrefixToMask(112), 'ffff:ffff:ffff:ffff:ffff:ffff:ffff:0');
  });

  void it('emit YAML that parses back, strictly, to the same objects', () => {
    for (const [name, p] of Object.entries(goldenCases)) {
      const r = renderCloudInit(p);
      for (const [text, obj] of [[r.networkConfigV1Yaml, r.networkConfigV1], [r.networkConfigV2Yaml, r.networkConfigV2]] as const) {
        for (const version of ['1.1', '1.2'] as const) {
          assert.deepEqual(parse(text, { version, strict: true, uniqueKeys: true, prettyErrors: true }), obj, `${name} YAML ${version}`);
        }
      }
    }
  });

  void it('quote a digits-only MAC, which YAML 1.1 (PyYAML) would read as a base-60 number', () => {
    const r = renderCloudInit(plan({ mac: '00:11:22:33:44:55' }));
    assert.match(r.networkConfigV1Yaml, /mac_address: "00:11:22:33:44:55"/);
    assert.equal((parse(r.networkConfigV2Yaml, { version: '1.1' }) as typeof r.networkConfigV2).ethernets.eth0?.match.macaddress, '00:11:22:33:44:55');
  });
});
