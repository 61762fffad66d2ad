// Property tests: whatever a VM sends, parse and the server never throw anything but the
// typed error, and no reply exceeds MAX_REPLY_SIZE.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { parse, serialize } from '../../../src/dhcp6/codec.js';
import { dhcp6ConfigFromPlan } from '../../../src/dhcp6/config.js';
import { Dhcp6ParseError } from '../../../src/dhcp6/errors.js';
import { Msg6, Opt6 } from '../../../src/dhcp6/options.js';
import { Dhcp6Server, MAX_REPLY_SIZE } from '../../../src/dhcp6/server.js';
import { BRIDGE_MAC, bridgeIface, clientMessage, IAID, podDns, SERVER_DUID, T0 } from './fixtures.js';

const RUNS = { numRuns: 10_000 };
const address = fc.constantFrom('fd00::5', 'fd00::6', '2001:db8::1', 'fe80::1', '::');

const validPacket = fc
  .record({
    type: fc.integer({ min: 0, max: 14 }),
    serverId: fc.option(fc.constantFrom(SERVER_DUID, Uint8Array.of(0, 3, 0, 1, 1, 2, 3, 4, 5, 6))),
    noClientId: fc.boolean(),
    ias: fc.array(fc.record({ iaid: fc.constantFrom(IAID, 1, 2), addresses: fc.array(address, { maxLength: 10 }) }), { maxLength: 10 }),
    oro: fc.option(fc.array(fc.constantFrom(23, 24, 32, 82, 39), { maxLength: 6 })),
    rapidCommit: fc.boolean(),
  })
  .map((o) => serialize(clientMessage(o.type === 12 || o.type === 13 ? Msg6.Solicit : o.type, {
    ias: o.ias, oro: o.oro, rapidCommit: o.rapidCommit, ...(o.serverId ? { serverId: o.serverId } : {}), ...(o.noClientId ? { clientId: null } : {}),
  })));

const mutatedPacket = fc
  .tuple(validPacket, fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 12 }), fc.option(fc.nat()), fc.uint8Array({ maxLength: 64 }))
  .map(([p, edits, cut, tail]) => {
    const out = Uint8Array.from([...p, ...tail]);
    for (const [at, value] of edits) out[at % out.length] = value;
    return cut === null ? out : out.subarray(0, cut % (out.length + 1));
  });

const anyBytes = fc.oneof(fc.uint8Array({ maxLength: 1500 }), mutatedPacket, validPacket);

void describe('DHCPv6 on arbitrary input', () => {
  void it('parse never throws and returns a message or a typed Dhcp6ParseError', () => {
    fc.assert(fc.property(anyBytes, (bytes) => {
      const r = parse(bytes);
      if (!r.ok) assert.ok(r.error instanceof Dhcp6ParseError);
      else assert.ok(Array.isArray(r.message.options));
    }), RUNS);
  });

  void it('a parsed message re-serializes to the same bytes', () => {
    fc.assert(fc.property(mutatedPacket, (bytes) => {
      const r = parse(bytes);
      if (r.ok) assert.deepEqual(serialize(r.message), bytes);
    }), RUNS);
  });

  void it('the server never throws, counts each message once, and replies within MAX_REPLY_SIZE', () => {
    const big = { ...podDns(), search: Array.from({ length: 20 }, (_, i) => `${'a'.repeat(60)}.n${i}.example`) };
    const configs = [
      dhcp6ConfigFromPlan(bridgeIface(), podDns(), { bridgeMac: BRIDGE_MAC }),
      dhcp6ConfigFromPlan(bridgeIface(), big, { bridgeMac: BRIDGE_MAC }),
    ];
    fc.assert(fc.property(fc.array(anyBytes, { minLength: 1, maxLength: 5 }), fc.boolean(), fc.nat(1), (packets, unicast, which) => {
      const s = new Dhcp6Server(configs[which]!, { ratePerSecond: 50, burst: 4 });
      packets.forEach((p, i) => {
        const r = s.receive(p, T0 + i, { unicast });
        if (r.reply) {
          const out = serialize(r.reply);
          assert.ok(out.length <= MAX_REPLY_SIZE, `reply of ${out.length} octets`);
          assert.ok(parse(out).ok);
          assert.deepEqual(r.reply.options[0]?.code, Opt6.ServerId);
        }
      });
      const c = s.status(T0).counters;
      const { received, ...rest } = c;
      assert.equal(Object.values(rest).reduce((a, b) => a + b, 0), received);
    }), { numRuns: 4000 }); // ~12,000 messages
  });
});
