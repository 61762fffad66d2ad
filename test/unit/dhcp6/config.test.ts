import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { dhcp6ConfigFromPlan, renewalTimes } from '../../../src/dhcp6/config.js';
import { Dhcp6ConfigError } from '../../../src/dhcp6/errors.js';
import { BRIDGE_MAC, bridgeIface, calicoIface, hex, podDns } from './fixtures.js';

void describe('dhcp6ConfigFromPlan', () => {
  void it('serves the global IPv6 addresses, global IPv6 nameservers, the search list', () => {
    const c = dhcp6ConfigFromPlan(bridgeIface(), podDns(), { bridgeMac: BRIDGE_MAC });
    assert.equal(hex(c.serverDuid), '000300010242ac110002');
    assert.deepEqual(c.addresses, [{ address: 'fd00::5', prefixLength: 64 }]);
    assert.deepEqual(c.dns, { nameservers: ['fd00::10'], search: ['cluster.local'] });
    assert.deepEqual([c.preferredLifetime, c.validLifetime, c.rapidCommit, c.informationRefreshSeconds], [86400, 86400, true, 86400]);
  });

  void it('a Calico /128 in non-canonical form is canonicalised; the domain stands in for an empty search list', () => {
    const iface = { ...calicoIface(), ips: [{ address: 'FD00:10:244:0:0:0:1:5', prefixLength: 128, family: 6 as const }] };
    const c = dhcp6ConfigFromPlan(iface, { nameservers: [], search: [], domain: 'corp.example', options: [] }, { bridgeMac: BRIDGE_MAC });
    assert.deepEqual(c.addresses, [{ address: 'fd00:10:244::1:5', prefixLength: 128 }]);
    assert.deepEqual(c.dns.search, ['corp.example']);
  });

  void it('refuses an interface without a global IPv6 address, and bad values, naming the field', () => {
    const v4only = { ...bridgeIface(), ips: [bridgeIface().ips[0]!, { address: 'fe80::5', prefixLength: 64, family: 6 as const }] };
    assert.throws(() => dhcp6ConfigFromPlan(v4only, undefined, { bridgeMac: BRIDGE_MAC }), Dhcp6ConfigError);
    const field = (f: () => unknown): unknown => {
      try { f(); } catch (e) { assert.ok(e instanceof Dhcp6ConfigError); return e.details?.field ?? 'no field'; }
      return undefined;
    };
    assert.equal(field(() => dhcp6ConfigFromPlan(bridgeIface(), undefined, { bridgeMac: 'nope' })), 'no field');
    assert.equal(field(() => dhcp6ConfigFromPlan(bridgeIface(), undefined, { bridgeMac: BRIDGE_MAC, preferredLifetime: 100, validLifetime: 50 })), 'preferredLifetime');
    assert.equal(field(() => dhcp6ConfigFromPlan(bridgeIface(), undefined, { bridgeMac: BRIDGE_MAC, validLifetime: 0 })), 'preferredLifetime');
    assert.equal(field(() => dhcp6ConfigFromPlan(bridgeIface(), { ...podDns(), search: ['bad..name'] }, { bridgeMac: BRIDGE_MAC })), 'dns.search');
    assert.equal(field(() => dhcp6ConfigFromPlan(bridgeIface(), undefined, { bridgeMac: BRIDGE_MAC, informationRefreshSeconds: 60 })), 'informationRefreshSeconds');
  });

  void it('T1 and T2 are 0.5 and 0.8 of the preferred lifetime, infinite with it', () => {
    assert.deepEqual(renewalTimes(86400), { t1: 43200, t2: 69120 });
    assert.deepEqual(renewalTimes(0xffffffff), { t1: 0xffffffff, t2: 0xffffffff });
  });
});
