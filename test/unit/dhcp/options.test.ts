import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Worker } from 'node:worker_threads';
import {
  decodeClasslessRoutes, decodeClientId, decodeDomainSearch, decodeIpv4, decodeIpv4List, decodeText, decodeU16, decodeU32,
  decodeU8, encodeClasslessRoutes, encodeDestination, encodeDomainSearch, encodeIpv4, encodeIpv4List, encodeText,
  encodeU16, encodeU32, encodeU8, isEncodableDomainName,
} from '../../../src/dhcp/options.js';
import { DhcpEncodeError } from '../../../src/dhcp/errors.js';
import { hex } from './clients.js';

const bytes = (...b: number[]): Uint8Array => Uint8Array.from(b);

void describe('RFC 3442 destination encoding', () => {
  // The table in RFC 3442 section 2.
  const table: [string, number, number[]][] = [
    ['0.0.0.0', 0, [0]],
    ['10.0.0.0', 8, [8, 10]],
    ['10.0.0.0', 24, [24, 10, 0, 0]],
    ['10.17.0.0', 16, [16, 10, 17]],
    ['10.27.129.0', 24, [24, 10, 27, 129]],
    ['10.229.0.128', 25, [25, 10, 229, 0, 128]],
    ['10.198.122.47', 32, [32, 10, 198, 122, 47]],
  ];
  for (const [dst, len, expected] of table) {
    void it(`${dst}/${len} -> ${expected.join('.')}`, () => {
      assert.deepEqual(encodeDestination(dst, len), Uint8Array.from(expected));
    });
  }

  void it('clears host bits instead of leaking them into the descriptor', () => {
    assert.deepEqual(encodeDestination('10.17.99.1', 16), bytes(16, 10, 17));
    assert.deepEqual(encodeDestination('10.229.0.255', 25), bytes(25, 10, 229, 0, 128));
  });

  void it('rejects bad prefixes and addresses', () => {
    assert.throws(() => encodeDestination('10.0.0.0', 33), DhcpEncodeError);
    assert.throws(() => encodeDestination('10.0.0', 8), DhcpEncodeError);
    assert.throws(() => encodeDestination('fd00::', 8), DhcpEncodeError);
  });
});

void describe('RFC 3442 routes option (121 / 249)', () => {
  void it('encodes routes back to back, on-link routes with router 0.0.0.0, default route as a single 0', () => {
    const encoded = encodeClasslessRoutes([
      { destination: '169.254.1.1', prefixLength: 32, router: '0.0.0.0' },
      { destination: '10.17.0.0', prefixLength: 16, router: '10.1.0.254' },
      { destination: '0.0.0.0', prefixLength: 0, router: '169.254.1.1' },
    ]);
    assert.deepEqual(encoded, hex('20 a9fe0101 00000000  10 0a11 0a0100fe  00 a9fe0101'));
  });

  void it('decodes what it encodes and rejects truncated or impossible descriptors', () => {
    const routes = [
      { destination: '10.229.0.128', prefixLength: 25, router: '10.0.0.1' },
      { destination: '0.0.0.0', prefixLength: 0, router: '10.0.0.1' },
    ];
    assert.deepEqual(decodeClasslessRoutes(encodeClasslessRoutes(routes)), routes);
    assert.equal(decodeClasslessRoutes(bytes(16, 10, 17, 10, 0, 0)), undefined); // router cut short
    assert.equal(decodeClasslessRoutes(bytes(33, 1, 2, 3, 4, 5, 6, 7, 8)), undefined);
    assert.equal(decodeClasslessRoutes(bytes()), undefined);
  });

  void it('decodes a descriptor with host bits set as the network', () => {
    assert.deepEqual(decodeClasslessRoutes(bytes(8, 10, 1, 2, 3, 4)), [{ destination: '10.0.0.0', prefixLength: 8, router: '1.2.3.4' }]);
  });
});

void describe('RFC 3397 domain search (119)', () => {
  // The RFC's example, shown there as three 9-octet 119 options; concatenated it is this.
  const rfcExample = hex(
    '03 656e67 05 6170706c65 03 636f6d 00' + // eng.apple.com.
    '09 6d61726b6574696e67 c004', // marketing + pointer to offset 4 ("apple.com")
  );

  void it('encodes "eng.apple.com." and "marketing.apple.com." exactly as the RFC example', () => {
    assert.deepEqual(encodeDomainSearch(['eng.apple.com.', 'marketing.apple.com.']), rfcExample);
    assert.equal(rfcExample.length, 27);
  });

  void it('decodes the RFC example, with or without trailing dots on input', () => {
    assert.deepEqual(decodeDomainSearch(rfcExample), ['eng.apple.com', 'marketing.apple.com']);
    assert.deepEqual(decodeDomainSearch(encodeDomainSearch(['eng.apple.com', 'marketing.apple.com'])), ['eng.apple.com', 'marketing.apple.com']);
  });

  void it('terminates every name with the root label and compresses whole repeated names', () => {
    const kube = encodeDomainSearch(['default.svc.cluster.local', 'svc.cluster.local', 'cluster.local']);
    // default.svc.cluster.local. in full, then two pointers into it (offsets 8 and 12).
    assert.deepEqual(kube, hex('07 64656661756c74 03 737663 07 636c7573746572 05 6c6f63616c 00  c008  c00c'));
    assert.deepEqual(decodeDomainSearch(kube), ['default.svc.cluster.local', 'svc.cluster.local', 'cluster.local']);
  });

  void it('compresses case-insensitively but keeps the written case', () => {
    const enc = encodeDomainSearch(['A.Example.com', 'b.example.COM']);
    assert.deepEqual(decodeDomainSearch(enc), ['A.Example.com', 'b.Example.com']);
    assert.equal(enc.length, 1 + 1 + 1 + 7 + 1 + 3 + 1 + 1 + 1 + 2);
  });

  void it('rejects names that cannot be labels', () => {
    for (const bad of ['', '.', 'a..b', 'x'.repeat(64) + '.com', `${'a.'.repeat(128)}com`, 'spa ce.com']) {
      assert.equal(isEncodableDomainName(bad), false, bad);
      assert.throws(() => encodeDomainSearch([bad]), DhcpEncodeError);
    }
    assert.equal(isEncodableDomainName('x'.repeat(63) + '.com'), true);
  });

  void it('rejects malformed wire data: forward or self pointers, overruns, unterminated names', () => {
    assert.equal(decodeDomainSearch(hex('c000')), undefined); // points at itself
    assert.equal(decodeDomainSearch(hex('01 61 c005 00 00')), undefined); // forward pointer
    assert.equal(decodeDomainSearch(hex('05 6162')), undefined); // label runs past the end
    assert.equal(decodeDomainSearch(hex('01 61')), undefined); // no root label
    assert.equal(decodeDomainSearch(hex('00')), undefined); // empty name
    assert.equal(decodeDomainSearch(hex('01 61 c0')), undefined); // half a pointer
    assert.equal(decodeDomainSearch(hex('02 61 2e 00')), undefined); // "a." as one label: would come back as "a"
    assert.equal(decodeDomainSearch(hex('03 61 2e 62 00')), undefined); // "a.b" as one label: would come back as two
    assert.equal(decodeDomainSearch(hex('01 20 00')), undefined); // a space
    // Names over 255 octets, written out (4 labels of 63: 257) or reached through a pointer (257).
    const label = (n: number, c: string): string => `${n.toString(16).padStart(2, '0')} ${`${c} `.repeat(n)}`;
    assert.equal(decodeDomainSearch(hex(`${label(63, '61').repeat(4)}00`)), undefined);
    const first = `${label(63, '61').repeat(3)}00`;
    assert.equal(decodeDomainSearch(hex(`${first}${label(63, '62')}c000`)), undefined);
    assert.equal(decodeDomainSearch(hex(`${first}${label(61, '62')}c000`))?.[1]?.length, 61 + 1 + 191);
  });

  void it('rejects pointer loops and still follows chains of earlier names', async () => {
    const loops = [
      '01 61 c000', // back to its own start: reads "a" onto the same pointer again
      '01 61 00 01 62 c003', // the second name points at its own start
      '01 61 00 01 62 01 63 c005', // behind the pointer, inside the same name
    ];
    // In a worker with a small heap: a decoder that loops (and grows its label list) dies
    // there in a moment instead of taking this file's process down by running out of memory.
    const src = `const { parentPort, workerData } = require('node:worker_threads');
      import(workerData.url).then((m) => parentPort.postMessage(workerData.cases.map((h) => m.decodeDomainSearch(Buffer.from(h, 'hex')) ?? null)));`;
    const url = new URL('../../../src/dhcp/options.js', import.meta.url).href;
    const w = new Worker(src, { eval: true, workerData: { url, cases: loops.map((h) => h.replace(/ /g, '')) }, resourceLimits: { maxOldGenerationSizeMb: 32 } });
    const answer = await new Promise((resolve, reject) => { w.once('message', resolve); w.once('error', reject); });
    assert.deepEqual(answer, loops.map(() => null));
    assert.deepEqual(decodeDomainSearch(hex('01 61 00 01 62 c000 01 63 c003')), ['a', 'b.a', 'c.b.a']);
  });
});

void describe('scalar, address and text options', () => {
  void it('encodes integers big-endian and checks their range', () => {
    assert.deepEqual(encodeU32(86400), bytes(0x00, 0x01, 0x51, 0x80));
    assert.deepEqual(encodeU16(1450), bytes(0x05, 0xaa));
    assert.deepEqual(encodeU8(5), bytes(5));
    assert.equal(decodeU32(encodeU32(0xffffffff)), 0xffffffff);
    assert.equal(decodeU16(bytes(1, 2)), 0x0102);
    assert.equal(decodeU8(bytes(1, 2)), undefined);
    assert.equal(decodeU32(bytes(1, 2, 3)), undefined);
    assert.throws(() => encodeU32(2 ** 32), DhcpEncodeError);
    assert.throws(() => encodeU16(-1), DhcpEncodeError);
    assert.throws(() => encodeU8(1.5), DhcpEncodeError);
  });

  void it('encodes addresses and address lists', () => {
    assert.deepEqual(encodeIpv4('10.96.0.10'), bytes(10, 96, 0, 10));
    assert.deepEqual(encodeIpv4List(['1.2.3.4', '5.6.7.8']), bytes(1, 2, 3, 4, 5, 6, 7, 8));
    assert.deepEqual(decodeIpv4List(bytes(1, 2, 3, 4, 5, 6, 7, 8)), ['1.2.3.4', '5.6.7.8']);
    assert.equal(decodeIpv4List(bytes(1, 2, 3)), undefined);
    assert.equal(decodeIpv4List(bytes()), undefined);
    assert.equal(decodeIpv4(bytes(1, 2, 3, 4, 5)), undefined);
    assert.throws(() => encodeIpv4List([]), DhcpEncodeError);
    assert.throws(() => encodeIpv4('256.1.1.1'), DhcpEncodeError);
  });

  void it('encodes text as ASCII and decodes up to a NUL', () => {
    assert.deepEqual(encodeText('vm-1'), bytes(0x76, 0x6d, 0x2d, 0x31));
    assert.equal(decodeText(bytes(0x76, 0x6d, 0, 0x41)), 'vm');
    assert.throws(() => encodeText(''), DhcpEncodeError);
    assert.throws(() => encodeText('é'), DhcpEncodeError);
  });

  void it('splits a client id into type and id', () => {
    assert.deepEqual(decodeClientId(bytes(1, 0x52, 0x54, 0, 0x12, 0x34, 0x56)), { type: 1, id: bytes(0x52, 0x54, 0, 0x12, 0x34, 0x56) });
    assert.equal(decodeClientId(bytes(1)), undefined);
  });
});
