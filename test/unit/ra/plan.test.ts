import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { encodeRouterAdvertisement, parseRouterAdvertisement } from '../../../src/ra/advert.js';
import { checksumOk, icmpv6Checksum, withChecksum } from '../../../src/ra/checksum.js';
import { RaConfigError } from '../../../src/ra/errors.js';
import { MAX_RA_SIZE, raFromPlan } from '../../../src/ra/plan.js';
import { BRIDGE_MAC, bridgeIface, calicoIface, hex, podDns, unhex } from '../dhcp6/fixtures.js';

const SRC = 'fe80::42:acff:fe11:2';
const DST = 'ff02::1';
// Hand-computed for bridgeIface + podDns; tshark decodes it the same and calls checksum 0x0832 correct.
const GOLDEN_RA = `
  86 00 0832 40 c0 0708 00000000 00000000
  01 01 0242ac110002
  05 01 0000 000005aa
  03 04 40 80 00015180 00015180 00000000 fd000000000000000000000000000000
  18 02 30 00 00000708 20010db800010000
  19 03 0000 00000708 fd000000000000000000000000000010
  1f 03 0000 00000708 07636c7573746572 056c6f63616c 00 00`;

void describe('raFromPlan', () => {
  void it('bridge plugin /64: M, O, router lifetime, SLLA, MTU, PIO L=1 A=0, RIO, RDNSS, DNSSL (golden bytes)', () => {
    const { advertisement: ra, dropped } = raFromPlan(bridgeIface(), podDns(), { bridgeMac: BRIDGE_MAC });
    assert.equal(dropped, undefined);
    assert.deepEqual(ra.prefixes, [{ prefix: 'fd00::', prefixLength: 64, onLink: true, autonomous: false, validLifetime: 86400, preferredLifetime: 86400 }]);
    assert.deepEqual(ra.routes, [{ prefix: '2001:db8:1::', prefixLength: 48, preference: 'medium', lifetime: 1800 }]);
    const bytes = withChecksum(SRC, DST, encodeRouterAdvertisement(ra));
    assert.equal(hex(bytes), hex(unhex(GOLDEN_RA)));
    assert.ok(checksumOk(SRC, DST, bytes));
  });

  void it('Calico /128: no PIO; the default route via the link-local gateway still makes us a default router', () => {
    const { advertisement: ra } = raFromPlan(calicoIface(), undefined, { bridgeMac: BRIDGE_MAC });
    assert.deepEqual(ra.prefixes, []);
    assert.deepEqual(ra.routes, []);
    assert.equal(ra.routerLifetime, 1800);
    assert.equal(ra.mtu, undefined);
    assert.deepEqual([ra.rdnss, ra.dnssl], [[], []]);
    assert.ok(ra.managed && ra.other);
  });

  void it('no IPv6 default route: router lifetime 0; on-link routes become PIOs, link-local ones nothing', () => {
    const iface = {
      ...bridgeIface(),
      routes: [
        { dst: 'fd00:2::/64', family: 6 as const },
        { dst: 'fe80::/64', family: 6 as const },
        { dst: '2001:db8::/32', family: 6 as const, gateway: 'fd00::1' },
        { dst: '2001:db8::/32', family: 6 as const, gateway: 'fd00::2' },
        { dst: '2001:db8:5::1/128', family: 6 as const, gateway: 'fd00::1' },
      ],
    };
    const { advertisement: ra } = raFromPlan(iface, undefined, { bridgeMac: BRIDGE_MAC, mtu: 9000 });
    assert.equal(ra.routerLifetime, 0);
    assert.equal(ra.mtu, 9000);
    assert.deepEqual(ra.prefixes.map((p) => `${p.prefix}/${p.prefixLength}`), ['fd00::/64', 'fd00:2::/64']);
    assert.deepEqual(ra.routes.map((r) => `${r.prefix}/${r.prefixLength}`), ['2001:db8::/32', '2001:db8:5::1/128']);
    const parsed = parseRouterAdvertisement(encodeRouterAdvertisement(ra));
    assert.ok(parsed.ok);
    assert.deepEqual(parsed.message.routes, ra.routes);
  });

  void it('an oversized plan drops DNSSL, then routes, and always fits', () => {
    const routes = Array.from({ length: 80 }, (_, i) => ({ dst: `2001:db8:${i.toString(16)}::/48`, family: 6 as const, gateway: 'fd00::1' }));
    const dns = { nameservers: ['fd00::10'], search: Array.from({ length: 10 }, (_, i) => `${'s'.repeat(40)}.d${i}.example`), options: [] };
    const plan = raFromPlan({ ...bridgeIface(), routes: [{ dst: '::/0', family: 6, gateway: 'fd00::1' }, ...routes] }, dns, { bridgeMac: BRIDGE_MAC });
    assert.ok(encodeRouterAdvertisement(plan.advertisement).length <= MAX_RA_SIZE);
    assert.equal(plan.dropped?.[0], 'dnssl');
    assert.match(plan.dropped?.[1] ?? '', /^rio /);
    assert.equal(plan.advertisement.rdnss.length, 1);
  });

  void it('refuses an MTU under 1280 and a router lifetime over 9000', () => {
    assert.throws(() => raFromPlan(bridgeIface(), undefined, { bridgeMac: BRIDGE_MAC, mtu: 1000 }), RaConfigError);
    assert.throws(() => raFromPlan(bridgeIface(), undefined, { bridgeMac: BRIDGE_MAC, routerLifetime: 9001 }), RaConfigError);
    assert.throws(() => raFromPlan(bridgeIface(), undefined, { bridgeMac: 'x' }), RaConfigError);
  });
});

void describe('ICMPv6 checksum', () => {
  void it('matches RFC 1071 arithmetic on a known Router Solicitation', () => {
    // RS from fe80::1 to ff02::2, no options. Sum of the pseudo-header and message words:
    // fe80 + 0001 + ff02 + 0002 + 0008 (length) + 003a (next header 58) + 8500 = 0x282c7,
    // folded 0x82c9, complemented 0x7d36.
    const rs = unhex('85 00 0000 00000000');
    assert.equal(icmpv6Checksum('fe80::1', 'ff02::2', rs).toString(16), '7d36');
  });
});
