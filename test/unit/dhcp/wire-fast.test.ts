// The string-free helpers on the reply path against what they replace: writeIpv4 against
// isIPv4 + ipv4Bytes, isEthernetMac against ethernetMac.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { isIPv4 } from 'node:net';
import fc from 'fast-check';
import { ethernetMac, isEthernetMac } from '../../../src/dhcp/codec.js';
import { writeIpv4 } from '../../../src/dhcp/options.js';
import { ipv4Bytes } from '../../../src/model/ip.js';
import { discover } from './clients.js';

const RUNS = { numRuns: 5000 };

/** Near-addresses: the characters and shapes that make isIPv4 say yes or no. */
const addressLike = fc.oneof(
  fc.tuple(fc.nat({ max: 300 }), fc.nat({ max: 300 }), fc.nat({ max: 300 }), fc.nat({ max: 300 })).map((o) => o.join('.')),
  fc.array(fc.constantFrom('0', '1', '2', '5', '9', '00', '01', '255', '256', '.', '..', ' ', 'a', '-', '+', '1e2', '٣'), { maxLength: 9 }).map((p) => p.join('')),
  fc.string({ maxLength: 16 }),
);

void describe('writeIpv4', () => {
  void it('accepts what isIPv4 accepts, writes what ipv4Bytes gives, and leaves the rest unwritten', () => {
    fc.assert(fc.property(addressLike, (a) => {
      const out = new Uint8Array(6).fill(0xee);
      const ok = writeIpv4(a, out, 1);
      assert.equal(ok, isIPv4(a), a);
      assert.deepEqual([...out], ok ? [0xee, ...ipv4Bytes(a), 0xee] : new Array<number>(6).fill(0xee));
    }), RUNS);
  });

  void it('edge cases', () => {
    for (const a of ['0.0.0.0', '255.255.255.255', '10.1.0.5', '1.2.3.4']) assert.equal(writeIpv4(a, new Uint8Array(4), 0), true, a);
    for (const a of ['', '1.2.3', '1.2.3.4.5', '01.2.3.4', '1.2.3.256', '1..2.3', '.1.2.3', '1.2.3.4.', '1.2.3.0004', ' 1.2.3.4']) {
      assert.equal(writeIpv4(a, new Uint8Array(4), 0), false, a);
    }
  });
});

void describe('isEthernetMac', () => {
  void it('is ethernetMac(m) === the MAC, without a string', () => {
    const mac = Uint8Array.of(0x52, 0x54, 0, 0x12, 0x34, 0x56);
    const octet = fc.integer({ min: 0, max: 255 });
    fc.assert(fc.property(fc.array(octet, { minLength: 6, maxLength: 6 }), fc.constantFrom(1, 6), fc.constantFrom(6, 5, 16), fc.boolean(), (chaddr, htype, hlen, same) => {
      const m = { ...discover(), htype, hlen, chaddr: Uint8Array.from([...(same ? mac : chaddr), ...new Array<number>(10).fill(0)]) };
      assert.equal(isEthernetMac(m, mac), ethernetMac(m) === '52:54:00:12:34:56');
    }), RUNS);
  });
});
