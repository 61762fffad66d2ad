import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { encodeOptions, ethernetMac, MIN_PACKET_LEN, parse, serialize, type DhcpMessage } from '../../../src/dhcp/codec.js';
import { DhcpEncodeError, DhcpParseError } from '../../../src/dhcp/errors.js';
import { decodeDomainSearch, decodeParameterList, Opt } from '../../../src/dhcp/options.js';
import { DHCLIENT_PRL, discover, hex, MAC } from './clients.js';

const zeros = (n: number): string => '00'.repeat(n);

/** A DISCOVER laid out octet by octet as ISC dhclient sends it (300-octet BOOTP payload). */
const dhclientDiscover = (): Uint8Array => {
  const head = hex(
    '01 01 06 00' + // op BOOTREQUEST, htype Ethernet, hlen 6, hops 0
    '3903f326' + // xid
    '0004 0000' + // secs 4, flags 0 (dhclient does not set the broadcast bit)
    zeros(16) + // ciaddr yiaddr siaddr giaddr
    '525400123456' + zeros(10) + // chaddr
    zeros(64) + zeros(128) + // sname, file
    '63825363' + // magic cookie
    '3501 01' + // 53 DISCOVER
    '3204 0a010005' + // 50 requested 10.1.0.5 (from the old lease file)
    '0c04 766d3031' + // 12 hostname "vm01"
    '370d 011c02030f06770c2c2f1a792a' + // 55: 1 28 2 3 15 6 119 12 44 47 26 121 42
    'ff',
  );
  const packet = new Uint8Array(300);
  packet.set(head);
  return packet;
};

void describe('parse', () => {
  void it('reads a dhclient DISCOVER field by field', () => {
    const r = parse(dhclientDiscover());
    assert.ok(r.ok);
    const m = r.message;
    assert.equal(m.op, 1);
    assert.equal(m.xid, 0x3903f326);
    assert.equal(m.secs, 4);
    assert.equal(m.flags, 0);
    assert.equal(m.ciaddr, '0.0.0.0');
    assert.equal(ethernetMac(m), MAC);
    assert.equal(m.sname, '');
    assert.deepEqual([...m.options.keys()], [53, 50, 12, 55]);
    assert.deepEqual(decodeParameterList(m.options.get(55)!), DHCLIENT_PRL);
    assert.deepEqual(m.options.get(50), Uint8Array.of(10, 1, 0, 5));
  });

  void it('tolerates a missing End option and trailing bytes after End', () => {
    const noEnd = dhclientDiscover().slice(0, 240 + 3);
    const r = parse(noEnd);
    assert.ok(r.ok);
    assert.deepEqual(r.message.options.get(53), Uint8Array.of(1));
    const junkAfterEnd = dhclientDiscover();
    junkAfterEnd.fill(0x99, 280);
    assert.ok(parse(junkAfterEnd).ok);
  });

  void it('concatenates split long options (RFC 3396), as the RFC 3397 example sends 119 in three parts', () => {
    const packet = dhclientDiscover().slice(0, 240);
    const options = hex(
      '7709 03656e67056170706c' +
      '7709 6503636f6d00096d61' +
      '3501 01' + // a different option in between does not break the concatenation
      '7709 726b6574696e67c004' +
      'ff',
    );
    const r = parse(Uint8Array.from([...packet, ...options]));
    assert.ok(r.ok);
    assert.deepEqual(decodeDomainSearch(r.message.options.get(Opt.DomainSearch)!), ['eng.apple.com', 'marketing.apple.com']);
    assert.deepEqual([...r.message.options.keys()], [119, 53]);
  });

  void it('reads options overloaded into file and sname (option 52), in RFC 3396 order', () => {
    const p = dhclientDiscover();
    p.fill(0, 240);
    p.set(hex('3501 03  3401 03  0c02 6162  ff'), 240); // REQUEST, overload both, hostname "ab"
    p.set(hex('0c01 63  3204 0a000001  ff'), 108); // file: hostname "c", requested ip
    p.set(hex('0c01 64  ff'), 44); // sname: hostname "d"
    const r = parse(p);
    assert.ok(r.ok);
    assert.equal(r.message.options.has(Opt.Overload), false);
    assert.equal(new TextDecoder().decode(r.message.options.get(12)), 'abcd');
    assert.deepEqual(r.message.options.get(50), Uint8Array.of(10, 0, 0, 1));
    assert.equal(r.message.sname, '');
    assert.equal(r.message.file, '');
  });

  void it('keeps sname and file as text when not overloaded', () => {
    const p = dhclientDiscover();
    p.set(hex('7376 00'), 44);
    p.set(hex('70786500'), 108);
    const r = parse(p);
    assert.ok(r.ok);
    assert.equal(r.message.sname, 'sv');
    assert.equal(r.message.file, 'pxe');
  });

  const failures: [string, () => Uint8Array, string][] = [
    ['empty', () => new Uint8Array(0), 'too-short'],
    ['235 octets', () => new Uint8Array(235), 'too-short'],
    ['header without cookie', () => dhclientDiscover().slice(0, 238), 'no-magic-cookie'],
    ['op 3', () => { const p = dhclientDiscover(); p[0] = 3; return p; }, 'bad-op'],
    ['hlen 17', () => { const p = dhclientDiscover(); p[2] = 17; return p; }, 'bad-hlen'],
    ['wrong cookie', () => { const p = dhclientDiscover(); p[239] = 0x64; return p; }, 'no-magic-cookie'],
    ['option length past the end', () => Uint8Array.from([...dhclientDiscover().slice(0, 240), 12, 10, 65]), 'option-overrun'],
    ['option code as the last octet', () => Uint8Array.from([...dhclientDiscover().slice(0, 240), 12]), 'option-overrun'],
    ['overload value 4', () => { const p = dhclientDiscover(); p.set(hex('3401 04 ff'), 240); return p; }, 'bad-overload'],
    ['overload of two octets', () => { const p = dhclientDiscover(); p.set(hex('3402 0101 ff'), 240); return p; }, 'bad-overload'],
    ['overrun inside the overloaded file', () => {
      const p = dhclientDiscover(); p.fill(0, 240); p.set(hex('3401 01 ff'), 240); p.set(hex('0cff 41'), 108 + 120); return p;
    }, 'option-overrun'],
  ];
  for (const [name, make, reason] of failures) {
    void it(`returns a typed error for ${name}`, () => {
      const r = parse(make());
      assert.equal(r.ok, false);
      if (r.ok) return;
      assert.ok(r.error instanceof DhcpParseError);
      assert.equal(r.error.reason, reason);
      assert.equal(r.error.code, 'DHCP_PARSE');
    });
  }
});

void describe('serialize', () => {
  void it('round-trips through parse', () => {
    const m: DhcpMessage = { ...discover({ xid: 0xdeadbeef, flags: 0x8000, ciaddr: '10.1.0.5' }), secs: 65535, hops: 2, sname: 'server', file: 'boot/pxe' };
    const r = parse(serialize(m));
    assert.ok(r.ok);
    assert.deepEqual(r.message, m);
  });

  void it('writes the 300-octet BOOTP minimum, zero padded after End', () => {
    const packet = serialize(discover());
    assert.equal(packet.length, MIN_PACKET_LEN);
    const end = packet.indexOf(0xff, 240);
    assert.ok(end > 240);
    assert.ok(packet.subarray(end + 1).every((b) => b === 0));
    assert.deepEqual(packet.subarray(236, 240), Uint8Array.of(99, 130, 83, 99));
  });

  void it('reproduces the dhclient DISCOVER octet for octet', () => {
    const original = dhclientDiscover();
    const r = parse(original);
    assert.ok(r.ok);
    assert.deepEqual(serialize(r.message), original);
  });

  void it('splits options longer than 255 octets into consecutive instances', () => {
    const long = Uint8Array.from({ length: 600 }, (_, i) => i & 0xff);
    const area = encodeOptions(new Map([[121, long]]));
    assert.deepEqual([area[0], area[1]], [121, 255]);
    assert.deepEqual([area[257], area[258]], [121, 255]);
    assert.deepEqual([area[514], area[515]], [121, 90]);
    assert.equal(area[area.length - 1], 0xff);
    const m = discover();
    m.options.set(121, long);
    const r = parse(serialize(m));
    assert.ok(r.ok);
    assert.deepEqual(r.message.options.get(121), long);
  });

  void it('writes zero-length options and rejects framing codes as data', () => {
    assert.deepEqual(encodeOptions(new Map([[80, new Uint8Array(0)]])), Uint8Array.of(80, 0, 255));
    for (const code of [0, 52, 255, 256]) {
      assert.throws(() => encodeOptions(new Map([[code, Uint8Array.of(1)]])), DhcpEncodeError);
    }
  });

  void it('rejects fields that do not fit', () => {
    assert.throws(() => serialize({ ...discover(), ciaddr: '10.1.0' }), DhcpEncodeError);
    assert.throws(() => serialize({ ...discover(), xid: -1 }), DhcpEncodeError);
    assert.throws(() => serialize({ ...discover(), flags: 0x10000 }), DhcpEncodeError);
    assert.throws(() => serialize({ ...discover(), op: 256 }), DhcpEncodeError);
    assert.throws(() => serialize({ ...discover(), sname: 'x'.repeat(65) }), DhcpEncodeError);
    assert.throws(() => serialize({ ...discover(), chaddr: new Uint8Array(17) }), DhcpEncodeError);
  });
});

void describe('ethernetMac', () => {
  void it('is only defined for htype 1 / hlen 6', () => {
    assert.equal(ethernetMac(discover()), MAC);
    assert.equal(ethernetMac({ ...discover(), htype: 6 }), undefined);
    assert.equal(ethernetMac({ ...discover(), hlen: 16 }), undefined);
  });
});
