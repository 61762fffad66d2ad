// Reply sizing (RFC 2131 §2, RFC 2132 §9.10): option 57 honoured, 576 otherwise, options
// dropped in DROP_ORDER, never 1/3/51/53/54; and the rate limit turned off.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { serialize, serializedLength } from '../../../src/dhcp/codec.js';
import { DROP_ORDER, fitOptions, maxMessageSize, NEVER_DROPPED } from '../../../src/dhcp/fit.js';
import { decodeClasslessRoutes, decodeIpv4, Opt } from '../../../src/dhcp/options.js';
import { DhcpServer } from '../../../src/dhcp/server.js';
import type { DhcpServerConfig } from '../../../src/dhcp/config.js';
import { codes, discover, request } from './clients.js';
import { baseConfig } from './fixtures.js';

const T0 = 1_700_000_000_000;
/** Everything netlet can send, 249 included. */
const PRL = [1, 3, 6, 12, 15, 26, 28, 119, 121, 249];
const SEARCH = Array.from({ length: 8 }, (_, i) => `ns${i}.svc.cluster-with-a-rather-long-name-${i}.example.org`);

/** A plan with `n` routes besides the default, long search domains and a domain. */
const bigConfig = (n: number): DhcpServerConfig => baseConfig({
  routes: [
    { dst: '0.0.0.0/0', family: 4, gateway: '10.1.0.1' },
    ...Array.from({ length: n }, (_, i) => ({ dst: `10.${100 + i}.0.0/16`, family: 4 as const, gateway: '10.1.0.254' })),
  ],
  dns: { nameservers: ['10.96.0.10', '10.96.0.11'], search: SEARCH, domain: 'cluster.local' },
});

const maxSize = (size: number): [number, number[]] => [Opt.MaxMessageSize, [size >> 8, size & 255]];

void describe('maxMessageSize', () => {
  void it('is 576 - 28 without option 57, and option 57 - 28 above 576', () => {
    assert.equal(maxMessageSize(discover()), 548);
    assert.equal(maxMessageSize(discover({ extra: [maxSize(1500)] })), 1472);
    assert.equal(maxMessageSize(discover({ extra: [maxSize(576)] })), 548);
  });

  void it('treats option 57 below 576, or malformed, as 576', () => {
    assert.equal(maxMessageSize(discover({ extra: [maxSize(300)] })), 548);
    assert.equal(maxMessageSize(discover({ extra: [maxSize(0)] })), 548);
    assert.equal(maxMessageSize(discover({ extra: [[Opt.MaxMessageSize, [9]]] })), 548);
  });
});

void describe('replies sized to the client', () => {
  void it('a client with option 57 = 1500 gets every option it asked for', () => {
    const s = new DhcpServer(bigConfig(40));
    const r = s.handle(discover({ prl: PRL, extra: [maxSize(1500)] }), T0);
    assert.equal(r.trimmed, undefined);
    // 3 is left out only because 121 carries the default route (RFC 3442).
    assert.deepEqual(codes(r.reply!), [53, 54, 51, 58, 59, 1, 6, 12, 15, 26, 28, 119, 121, 249]);
    const len = serialize(r.reply!).length;
    assert.ok(len > 548 && len <= 1472, `${len} octets`);
    assert.deepEqual(s.status(T0).trimmed, { replies: 0, options: 0 });
  });

  void it('without option 57: at most 548 octets, 249 then 119 dropped first', () => {
    const r = new DhcpServer(bigConfig(20)).handle(discover({ prl: PRL }), T0);
    assert.deepEqual(r.trimmed?.dropped, [249, 119]);
    assert.equal(r.trimmed?.maxSize, 548);
    assert.ok((r.trimmed?.fullSize ?? 0) > 548);
    const wire = serialize(r.reply!);
    assert.equal(wire.length, r.trimmed?.size);
    assert.ok(wire.length <= 548, `${wire.length} octets`);
    assert.deepEqual(codes(r.reply!), [53, 54, 51, 58, 59, 1, 6, 12, 15, 26, 28, 121]);
  });

  void it('when 121 must go too, the default route goes back into option 3', () => {
    const r = new DhcpServer(bigConfig(60)).handle(discover({ prl: PRL }), T0);
    assert.deepEqual(r.trimmed?.dropped, [...DROP_ORDER]);
    assert.deepEqual(codes(r.reply!), [53, 54, 51, 1, 3]);
    assert.equal(decodeIpv4(r.reply!.options.get(Opt.Router)!), '10.1.0.1');
    assert.ok(serialize(r.reply!).length <= 548);
  });

  void it('keeps the priority order for any number of routes: only the least essential options go', () => {
    for (let n = 0; n <= 70; n += 2) {
      const r = new DhcpServer(bigConfig(n)).handle(request({ prl: PRL, requested: '10.1.0.5' }), T0);
      const sent = codes(r.reply!);
      const dropped = r.trimmed?.dropped ?? [];
      assert.ok(serialize(r.reply!).length <= 548, `n=${n}`);
      // What was dropped is exactly the first options of DROP_ORDER the reply had.
      const had = DROP_ORDER.filter((c) => sent.includes(c) || dropped.includes(c));
      assert.deepEqual(dropped, had.slice(0, dropped.length), `n=${n}`);
      for (const c of [Opt.MessageType, Opt.ServerId, Opt.LeaseTime, Opt.SubnetMask]) assert.ok(sent.includes(c), `n=${n}: ${c} sent`);
      // The default route is always there: in 121 (last entry) or in 3.
      const classless = r.reply!.options.get(Opt.ClasslessRoutes);
      const viaClassless = classless && decodeClasslessRoutes(classless)?.at(-1)?.prefixLength === 0;
      assert.ok(viaClassless || sent.includes(Opt.Router), `n=${n}: a default route`);
    }
  });

  void it('treats option 57 below 576 as 576', () => {
    const plain = new DhcpServer(bigConfig(20)).handle(discover({ prl: PRL }), T0);
    const small = new DhcpServer(bigConfig(20)).handle(discover({ prl: PRL, extra: [maxSize(400)] }), T0);
    assert.deepEqual(small.trimmed, plain.trimmed);
    assert.deepEqual(codes(small.reply!).filter((c) => c !== Opt.MaxMessageSize), codes(plain.reply!));
  });

  void it('counts trimmed replies and dropped options in the status', () => {
    const s = new DhcpServer(bigConfig(20));
    s.handle(discover({ prl: PRL }), T0);
    s.handle(discover({ prl: PRL, extra: [maxSize(1500)] }), T0);
    s.handle(request({ prl: PRL, requested: '10.1.0.5' }), T0);
    const st = s.status(T0);
    assert.deepEqual(st.trimmed, { replies: 2, options: 4 });
    assert.equal(st.counters.received, 3);
    assert.equal(st.counters.offered + st.counters.acked, 3);
  });
});

void describe('fitOptions', () => {
  void it('never drops 53, 54, 51, 1 or 3, however small the limit', () => {
    const options = new DhcpServer(bigConfig(10)).handle(discover({ prl: [...PRL, 3], extra: [maxSize(1500)] }), T0).reply!.options;
    const fit = fitOptions(options, 0, Uint8Array.of(10, 1, 0, 1));
    assert.deepEqual([...fit.options.keys()].sort((a, b) => a - b), [...NEVER_DROPPED].sort((a, b) => a - b));
    assert.equal(fit.size, serializedLength(fit.options));
  });

  void it('drops an option it does not know before the listed ones, and nothing when it fits', () => {
    const options = new Map([[Opt.MessageType, Uint8Array.of(2)], [Opt.DomainSearch, new Uint8Array(100)], [150, new Uint8Array(100)]]);
    assert.deepEqual(fitOptions(options, 548).dropped, []);
    assert.deepEqual(fitOptions(options, 400).dropped, [150]);
    assert.deepEqual(fitOptions(options, 300).dropped, [150, Opt.DomainSearch]);
  });
});

void describe('rate limit off', () => {
  void it('with false, a burst far beyond the default bucket is answered in full', () => {
    const s = new DhcpServer(baseConfig(), false);
    const kinds = Array.from({ length: 1000 }, () => s.receive(serialize(discover()), T0).event.kind);
    assert.ok(kinds.every((k) => k === 'offered'));
    assert.equal(s.status(T0).counters.ratelimited, 0);
    // The default bucket (burst 100) would have stopped it.
    const limited = new DhcpServer(baseConfig());
    const answered = Array.from({ length: 1000 }, () => limited.handle(discover(), T0).event.kind).filter((k) => k === 'offered').length;
    assert.equal(answered, 100);
  });
});
