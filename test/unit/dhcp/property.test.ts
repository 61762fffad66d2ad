// Property tests: whatever bytes a VM sends, parse and the server never throw.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { parse, serialize } from '../../../src/dhcp/codec.js';
import { DhcpParseError } from '../../../src/dhcp/errors.js';
import { decodeClasslessRoutes, decodeDomainSearch, encodeClasslessRoutes, encodeDomainSearch, MessageType } from '../../../src/dhcp/options.js';
import { DhcpServer } from '../../../src/dhcp/server.js';
import { ipv4Network } from '../../../src/model/ip.js';
import { clientMessage, DHCLIENT_PRL, MAC, WINDOWS_PRL } from './clients.js';
import { baseConfig, SERVER_ID } from './fixtures.js';

const T0 = 1_700_000_000_000;
const RUNS = { numRuns: 2000 };

/** Valid client packets for our MAC, of every message type and shape. */
const validPacket = fc
  .record({
    type: fc.integer({ min: 0, max: 10 }),
    ciaddr: fc.constantFrom('0.0.0.0', '10.1.0.5', '10.1.0.6'),
    requested: fc.option(fc.constantFrom('10.1.0.5', '10.1.0.7')),
    serverId: fc.option(fc.constantFrom(SERVER_ID, '10.1.0.1')),
    flags: fc.constantFrom(0, 0x8000),
    prl: fc.constantFrom(DHCLIENT_PRL, WINDOWS_PRL, null, [121, 3, 3, 0, 255]),
  })
  .map((o) => serialize(clientMessage(o.type, {
    ciaddr: o.ciaddr, flags: o.flags, prl: o.prl,
    ...(o.requested ? { requested: o.requested } : {}), ...(o.serverId ? { serverId: o.serverId } : {}),
  })));

/** A valid packet with some octets overwritten, truncated or extended. */
const mutatedPacket = fc
  .tuple(validPacket, fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 12 }), fc.option(fc.nat()), fc.uint8Array({ maxLength: 64 }))
  .map(([p, edits, cut, tail]) => {
    const out = Uint8Array.from([...p, ...tail]);
    // Bias edits towards the option area, where the interesting parsing is.
    for (const [at, value] of edits) out[at % 3 === 0 ? at % out.length : 236 + (at % (out.length - 236))] = value;
    return cut === null ? out : out.subarray(0, cut % (out.length + 1));
  });

const anyBytes = fc.oneof(fc.uint8Array({ maxLength: 700 }), mutatedPacket);

void describe('parse on arbitrary input', () => {
  void it('never throws and returns either a message or a typed DhcpParseError', () => {
    fc.assert(fc.property(anyBytes, (bytes) => {
      const r = parse(bytes);
      if (!r.ok) assert.ok(r.error instanceof DhcpParseError);
      else assert.ok(r.message.chaddr.length === 16 && r.message.options instanceof Map);
    }), RUNS);
  });

  void it('a parsed message re-serializes and parses to the same message', () => {
    fc.assert(fc.property(mutatedPacket, (bytes) => {
      const r = parse(bytes);
      if (!r.ok) return;
      const back = parse(serialize(r.message));
      assert.ok(back.ok);
      assert.deepEqual(back.message, r.message);
    }), RUNS);
  });
});

void describe('server on arbitrary input', () => {
  void it('never throws; replies serialize; counters add up', () => {
    fc.assert(fc.property(fc.array(anyBytes, { maxLength: 20 }), (packets) => {
      const s = new DhcpServer(baseConfig(), { ratePerSecond: 1000, burst: 10 });
      packets.forEach((p, i) => {
        const r = s.receive(p, T0 + i, { broadcast: i % 2 === 0 });
        if (r.reply) {
          assert.ok(r.deliver);
          assert.equal(r.reply.op, 2);
          assert.ok(serialize(r.reply).length >= 300);
        }
      });
      const c = s.status(T0 + packets.length).counters;
      const { received, ...outcomes } = c;
      assert.equal(received, packets.length);
      assert.equal(Object.values(outcomes).reduce((a, b) => a + b, 0), received);
    }), { numRuns: 300 });
  });

  void it('only ever offers or acks the configured address', () => {
    fc.assert(fc.property(validPacket, (p) => {
      const r = new DhcpServer(baseConfig()).receive(p, T0);
      const type = r.reply?.options.get(53)?.[0];
      if (type === MessageType.Offer) assert.equal(r.reply?.yiaddr, '10.1.0.5');
      if (type === MessageType.Ack) assert.ok(['10.1.0.5', '0.0.0.0'].includes(r.reply!.yiaddr));
      if (type === MessageType.Nak) assert.equal(r.deliver, 'broadcast');
      assert.equal(r.reply === undefined || r.reply.chaddr.subarray(0, 6).every((b, i) => b === parseInt(MAC.split(':')[i]!, 16)), true);
    }), RUNS);
  });
});

void describe('option codecs round-trip', () => {
  const label = fc.stringMatching(/^[a-z0-9-]{1,20}$/);
  const name = fc.array(label, { minLength: 1, maxLength: 5 }).map((l) => l.join('.'));

  void it('domain search decode(encode(names)) = names', () => {
    fc.assert(fc.property(fc.array(name, { minLength: 1, maxLength: 8 }), (names) => {
      assert.deepEqual(decodeDomainSearch(encodeDomainSearch(names)), names);
    }), RUNS);
  });

  void it('domain search decode never throws on arbitrary bytes', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => { decodeDomainSearch(bytes); }), RUNS);
  });

  void it('classless routes decode(encode(routes)) = routes with host bits cleared', () => {
    const octet = fc.integer({ min: 0, max: 255 });
    const addr = fc.tuple(octet, octet, octet, octet).map((o) => o.join('.'));
    const route = fc.record({ destination: addr, prefixLength: fc.integer({ min: 0, max: 32 }), router: addr });
    fc.assert(fc.property(fc.array(route, { minLength: 1, maxLength: 10 }), (routes) => {
      const decoded = decodeClasslessRoutes(encodeClasslessRoutes(routes));
      assert.deepEqual(decoded, routes.map((r) => ({ ...r, destination: ipv4Network(r.destination, r.prefixLength) })));
    }), RUNS);
  });
});
