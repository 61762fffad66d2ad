// receiveWire() (whole replies cached by request octets) against receive() + serialize():
// the same octets, destinations, events, lease and counters for any sequence of requests.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { serialize } from '../../../src/dhcp/codec.js';
import type { DhcpServerConfig } from '../../../src/dhcp/config.js';
import { MessageType } from '../../../src/dhcp/options.js';
import { ReplyCache } from '../../../src/dhcp/reply-cache.js';
import { DhcpServer, replyDestination, type Arrival } from '../../../src/dhcp/server.js';
import { clientMessage, DHCLIENT_PRL, discover, request, UDHCPC_PRL, WINDOWS_PRL } from './clients.js';
import { baseConfig, SERVER_ID } from './fixtures.js';

const T0 = 1_700_000_000_000;

/** Long search domains: replies to a client without option 57 lose options to fit. */
const crowded = (): DhcpServerConfig => baseConfig({
  dns: { nameservers: ['10.96.0.10'], search: Array.from({ length: 12 }, (_, i) => `namespace-${i}.svc.cluster-number-${i}.example`) },
});

/** Requests a client sends again and again (few shapes, new xid and secs each time), and some others. */
const step = fc.record({
  type: fc.constantFrom(MessageType.Discover, MessageType.Request, MessageType.Request, MessageType.Inform, MessageType.Release, MessageType.Decline, 2, 11),
  xid: fc.nat(),
  secs: fc.integer({ min: 0, max: 0xffff }),
  flags: fc.constantFrom(0, 0x8000),
  ciaddr: fc.constantFrom('0.0.0.0', '10.1.0.5', '10.1.0.6'),
  requested: fc.option(fc.constantFrom('10.1.0.5', '10.1.0.7')),
  serverId: fc.option(fc.constantFrom(SERVER_ID, '10.1.0.1')),
  prl: fc.constantFrom(DHCLIENT_PRL, UDHCPC_PRL, WINDOWS_PRL, null),
  maxSize: fc.option(fc.constantFrom(576, 1500)),
  mac: fc.constantFrom('52:54:00:12:34:56', '52:54:00:12:34:56', '02:00:00:00:00:01'),
  broadcast: fc.boolean(),
  dt: fc.nat({ max: 5000 }),
  reconfigure: fc.option(fc.constantFrom('10.1.0.5', '10.1.0.6'), { freq: 12 }),
});

void describe('receiveWire', () => {
  void it('answers any sequence as receive() + serialize() do, cached or not', () => {
    fc.assert(fc.property(fc.boolean(), fc.array(step, { maxLength: 40 }), (trim, steps) => {
      const config = trim ? crowded() : baseConfig();
      const plain = new DhcpServer(config, { ratePerSecond: 5, burst: 8 });
      const wired = new DhcpServer(config, { ratePerSecond: 5, burst: 8 });
      let now = T0;
      for (const s of steps) {
        now += s.dt;
        if (s.reconfigure) {
          plain.reconfigure({ ...config, address: s.reconfigure });
          wired.reconfigure({ ...config, address: s.reconfigure });
        }
        const msg = {
          ...clientMessage(s.type, {
            mac: s.mac, xid: s.xid, flags: s.flags, ciaddr: s.ciaddr, prl: s.prl,
            ...(s.requested ? { requested: s.requested } : {}), ...(s.serverId ? { serverId: s.serverId } : {}),
            ...(s.maxSize ? { extra: [[57, [s.maxSize >> 8, s.maxSize & 255]]] as [number, number[]][] } : {}),
          }),
          secs: s.secs,
        };
        const packet = Buffer.from(serialize(msg));
        const arrival: Arrival = { broadcast: s.broadcast };
        const a = plain.receive(packet, now, arrival);
        const b = wired.receiveWire(packet, now, arrival);
        assert.deepEqual(b.event, a.event);
        assert.deepEqual(b.trimmed, a.trimmed);
        if (!a.reply) assert.equal(b.reply, undefined);
        else {
          assert.deepEqual(Buffer.from(b.reply!.bytes), Buffer.from(serialize(a.reply)));
          assert.equal(b.reply!.to, replyDestination(a.reply, a.deliver!));
        }
        assert.deepEqual(wired.status(now), plain.status(now));
      }
    }), { numRuns: 500 });
  });

  void it('a repeated DISCOVER gets the cached octets with its own xid; the rate limit still applies', () => {
    const s = new DhcpServer(baseConfig(), { ratePerSecond: 1, burst: 2 });
    const first = s.receiveWire(serialize(discover({ xid: 1 })), T0);
    const again = s.receiveWire(serialize({ ...discover({ xid: 2 }), secs: 9 }), T0);
    assert.equal(again.event.kind, 'offered');
    assert.deepEqual([...again.reply!.bytes.subarray(4, 8)], [0, 0, 0, 2]);
    assert.deepEqual([...again.reply!.bytes.subarray(8)], [...first.reply!.bytes.subarray(8)]);
    assert.notEqual(again.reply!.bytes.buffer, first.reply!.bytes.buffer);
    assert.equal(s.receiveWire(serialize(discover({ xid: 3 })), T0).event.kind, 'ratelimited');
    assert.deepEqual(s.status(T0).counters, { ...s.status(T0).counters, received: 3, offered: 2, ratelimited: 1 });
  });

  void it('a plan change is answered at once: the cache is dropped on reconfigure', () => {
    const s = new DhcpServer(baseConfig(), false);
    const req = serialize(request({ requested: '10.1.0.5', serverId: SERVER_ID }));
    assert.equal(s.receiveWire(req, T0).event.kind, 'acked');
    s.reconfigure(baseConfig({ address: '10.1.0.9' }));
    assert.equal(s.receiveWire(req, T0 + 1).event.kind, 'naked');
    const offer = s.receiveWire(serialize(discover()), T0 + 2);
    assert.deepEqual([...offer.reply!.bytes.subarray(16, 20)], [10, 1, 0, 9]);
  });
});

void describe('ReplyCache', () => {
  const packet = (xid: number, secs = 0, flags = 0): Uint8Array => serialize({ ...discover({ xid, flags }), secs });

  void it('matches the same octets but xid and secs, nothing else', () => {
    const c = new ReplyCache<string>();
    c.add(packet(1), Uint8Array.of(9, 9, 9, 9, 0, 0, 0, 0, 7), 'offer');
    const hit = c.find(packet(0xa0b0c0d0, 77));
    assert.equal(hit?.meta, 'offer');
    assert.deepEqual([...c.replyTo(hit, packet(0xa0b0c0d0))], [9, 9, 9, 9, 0xa0, 0xb0, 0xc0, 0xd0, 7]);
    assert.equal(c.find(packet(1, 0, 0x8000)), undefined);
    assert.equal(c.find(packet(1).subarray(0, 299)), undefined);
  });

  void it('keeps at most its size, dropping the oldest', () => {
    const c = new ReplyCache<number>(2);
    const p = (flags: number): Uint8Array => packet(1, 0, flags);
    c.add(p(1), new Uint8Array(8), 1);
    c.add(p(2), new Uint8Array(8), 2);
    c.add(p(3), new Uint8Array(8), 3);
    assert.equal(c.length, 2);
    assert.equal(c.find(p(1)), undefined);
    assert.equal(c.find(p(2))?.meta, 2);
    assert.equal(c.find(p(3))?.meta, 3);
  });
});
