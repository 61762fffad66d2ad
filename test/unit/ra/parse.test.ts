import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { encodeRouterAdvertisement, parseRouterAdvertisement, type RouterAdvertisement } from '../../../src/ra/advert.js';
import { withChecksum } from '../../../src/ra/checksum.js';
import { NdParseError } from '../../../src/ra/errors.js';
import { encodeRouterSolicitation, parseRouterSolicitation } from '../../../src/ra/solicit.js';
import { hex, unhex } from '../dhcp6/fixtures.js';

const reason = <T>(r: { ok: true; message: T } | { ok: false; error: NdParseError }): string | undefined => {
  if (r.ok) return undefined;
  assert.ok(r.error instanceof NdParseError);
  return r.error.reason;
};

void describe('Router Solicitation', () => {
  void it('parses a host RS with its source link-layer address (as the Linux kernel sends it)', () => {
    const rs = unhex('85 00 0000 00000000 01 01 525400123456');
    const r = parseRouterSolicitation(rs, { hopLimit: 255 });
    assert.ok(r.ok);
    assert.equal(r.message.sourceLinkLayer, '52:54:00:12:34:56');
    assert.equal(hex(encodeRouterSolicitation('52:54:00:12:34:56')), hex(rs));
    const bare = parseRouterSolicitation(unhex('85 00 0000 00000000'), { sourceUnspecified: true });
    assert.ok(bare.ok && bare.message.sourceLinkLayer === undefined);
  });

  void it('validates as RFC 4861 section 6.1.1 says', () => {
    assert.equal(reason(parseRouterSolicitation(unhex('85 00 0000 000000'))), 'too-short');
    assert.equal(reason(parseRouterSolicitation(unhex('86 00 0000 00000000'))), 'bad-type');
    assert.equal(reason(parseRouterSolicitation(unhex('85 01 0000 00000000'))), 'bad-code');
    assert.equal(reason(parseRouterSolicitation(unhex('85 00 0000 00000000'), { hopLimit: 64 })), 'bad-hop-limit');
    assert.equal(reason(parseRouterSolicitation(unhex('85 00 0000 00000000 01 00 000000000000'))), 'zero-length-option');
    assert.equal(reason(parseRouterSolicitation(unhex('85 00 0000 00000000 01 02 525400123456'))), 'option-overrun');
    assert.equal(reason(parseRouterSolicitation(unhex('85 00 0000 00000000 01'))), 'option-overrun');
    assert.equal(reason(parseRouterSolicitation(unhex('85 00 0000 00000000 01 01 525400123456'), { sourceUnspecified: true })), 'slla-from-unspecified');
    assert.equal(reason(parseRouterSolicitation(unhex('85 00 1234 00000000'), { source: 'fe80::1', destination: 'ff02::2' })), 'bad-checksum');
    assert.ok(parseRouterSolicitation(withChecksum('fe80::1', 'ff02::2', unhex('85 00 0000 00000000')), { source: 'fe80::1', destination: 'ff02::2' }).ok);
  });
});

void describe('Router Advertisement parser', () => {
  const ra: RouterAdvertisement = {
    curHopLimit: 64, managed: false, other: true, preference: 'high', routerLifetime: 600, reachableTime: 30000, retransTimer: 1000,
    sourceLinkLayer: 'aa:bb:cc:dd:ee:ff', mtu: 1500,
    prefixes: [{ prefix: '2001:db8::', prefixLength: 64, onLink: true, autonomous: true, validLifetime: 7200, preferredLifetime: 3600 }],
    routes: [
      { prefix: '::', prefixLength: 0, preference: 'low', lifetime: 60 },
      { prefix: '2001:db8:1::', prefixLength: 48, preference: 'medium', lifetime: 60 },
      { prefix: '2001:db8:2::1', prefixLength: 128, preference: 'high', lifetime: 60 },
    ],
    rdnss: [{ lifetime: 300, servers: ['2001:db8::53', '2001:db8::54'] }],
    dnssl: [{ lifetime: 300, domains: ['example.com', 'corp.example.com'] }],
  };

  void it('round-trips what the encoder writes (a cluster-side RA, as radvd would send it)', () => {
    const r = parseRouterAdvertisement(encodeRouterAdvertisement(ra), { hopLimit: 255 });
    assert.ok(r.ok);
    assert.deepEqual(r.message, { ...ra, unknown: [] });
  });

  void it('keeps unknown options and RIOs with the reserved preference aside; rejects malformed known ones', () => {
    const base = hex(encodeRouterAdvertisement({ ...ra, sourceLinkLayer: undefined, mtu: undefined, prefixes: [], routes: [], rdnss: [], dnssl: [] }));
    const r = parseRouterAdvertisement(unhex(`${base} 26 01 000000000000 18 01 00 10 00000000`));
    assert.ok(r.ok);
    assert.deepEqual(r.message.unknown.map((o) => o.type), [0x26, 24]);
    assert.equal(reason(parseRouterAdvertisement(unhex(`${base} 05 02 0000 000005dc 0000000000000000`))), 'bad-option'); // MTU of 16 octets
    assert.equal(reason(parseRouterAdvertisement(unhex(`${base} 03 01 40c0 00000000`))), 'bad-option'); // PIO of 8 octets
    assert.equal(reason(parseRouterAdvertisement(unhex(`${base} 18 01 40 00 00000000`))), 'bad-option'); // RIO /64 without its prefix
    assert.equal(reason(parseRouterAdvertisement(unhex(`${base} 19 01 0000 00000000`))), 'bad-option'); // RDNSS without address
    assert.equal(reason(parseRouterAdvertisement(unhex(`${base} 1f 02 0000 00000000 c00c000000000000`))), 'bad-option'); // DNSSL pointer
    assert.equal(reason(parseRouterAdvertisement(unhex('86 00 0000 40 00 0000 00000000 000000'))), 'too-short');
  });
});
