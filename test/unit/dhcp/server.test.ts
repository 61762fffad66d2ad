import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { configFromPlan } from '../../../src/dhcp/config.js';
import { parse, serialize, type DhcpMessage } from '../../../src/dhcp/codec.js';
import {
  decodeClasslessRoutes, decodeDomainSearch, decodeIpv4, decodeIpv4List, decodeText, decodeU16, decodeU32, MessageType, Opt,
} from '../../../src/dhcp/options.js';
import { deliveryFor, DhcpServer, type HandleResult } from '../../../src/dhcp/server.js';
import {
  clientMessage, codes, DHCLIENT_PRL, discover, hex, MAC, request, UDHCPC_PRL, WINDOWS_PRL,
} from './clients.js';
import { baseConfig, bridgeIface, calicoIface, podDns, SERVER_ID } from './fixtures.js';

const T0 = 1_700_000_000_000;
const opt = (m: DhcpMessage | undefined, code: number): Uint8Array | undefined => m?.options.get(code);
const ip = (m: DhcpMessage | undefined, code: number): string | undefined => {
  const v = opt(m, code);
  return v && decodeIpv4(v);
};
const u32 = (m: DhcpMessage | undefined, code: number): number | undefined => {
  const v = opt(m, code);
  return v && decodeU32(v);
};
const typeOf = (r: HandleResult): number | undefined => opt(r.reply, Opt.MessageType)?.[0];

const calicoServer = (): DhcpServer => new DhcpServer(configFromPlan(calicoIface(), podDns(), { serverId: SERVER_ID }));

/** Runs DISCOVER + SELECTING REQUEST so the lease is bound. */
function bind(s: DhcpServer, now = T0): void {
  assert.equal(s.handle(discover(), now).event.kind, 'offered');
  assert.equal(s.handle(request({ serverId: SERVER_ID, requested: '10.1.0.5' }), now).event.kind, 'acked');
}

void describe('DISCOVER -> OFFER', () => {
  void it('offers the plan address with the required options first, then what dhclient asked, in its order', () => {
    const s = new DhcpServer(baseConfig());
    const r = s.handle(discover(), T0);
    assert.deepEqual(r.event, { kind: 'offered', address: '10.1.0.5' });
    assert.equal(typeOf(r), MessageType.Offer);
    assert.equal(r.reply?.yiaddr, '10.1.0.5');
    assert.equal(r.reply?.ciaddr, '0.0.0.0');
    assert.equal(r.deliver, 'unicast-yiaddr');
    // dhclient asks 1 28 2 3 15 6 119 12 44 47 26 121 42; no 2/15/44/47/42 to give, no 121 needed.
    assert.deepEqual(codes(r.reply), [53, 54, 51, 58, 59, 1, 28, 3, 6, 119, 12, 26]);
    assert.equal(ip(r.reply, Opt.ServerId), SERVER_ID);
    assert.equal(ip(r.reply, Opt.SubnetMask), '255.255.255.0');
    assert.equal(ip(r.reply, Opt.BroadcastAddress), '10.1.0.255');
    assert.equal(ip(r.reply, Opt.Router), '10.1.0.1');
    assert.deepEqual(decodeIpv4List(opt(r.reply, Opt.DnsServers)!), ['10.96.0.10']);
    assert.deepEqual(decodeDomainSearch(opt(r.reply, Opt.DomainSearch)!), ['default.svc.cluster.local', 'svc.cluster.local', 'cluster.local']);
    assert.equal(decodeText(opt(r.reply, Opt.Hostname)!), 'vm01');
    assert.equal(decodeU16(opt(r.reply, Opt.InterfaceMtu)!), 1450);
    assert.equal(s.status(T0).lease.state, 'offered');
  });

  void it('answers with a BOOTREPLY header copied from the request', () => {
    const s = new DhcpServer(baseConfig());
    const req = { ...discover({ xid: 0x01020304, flags: 0x8000 }), secs: 9, hops: 0 };
    const reply = s.handle(req, T0).reply!;
    assert.equal(reply.op, 2);
    assert.equal(reply.xid, 0x01020304);
    assert.equal(reply.flags, 0x8000);
    assert.deepEqual(reply.chaddr, req.chaddr);
    assert.equal(reply.secs, 0);
    assert.equal(reply.hops, 0);
    assert.equal(reply.siaddr, '0.0.0.0');
    assert.equal(reply.giaddr, '0.0.0.0');
    assert.equal(reply.options.has(Opt.ClientId), false);
  });

  void it('broadcasts when the client sets the broadcast bit', () => {
    const s = new DhcpServer(baseConfig());
    assert.equal(s.handle(discover({ flags: 0x8000 }), T0).deliver, 'broadcast');
  });

  void it('gives udhcpc what it asks, options in its request order', () => {
    const s = new DhcpServer(baseConfig({ dns: { nameservers: ['10.96.0.10'], search: [], domain: 'cluster.local' } }));
    const r = s.handle(discover({ prl: UDHCPC_PRL, extra: [[61, [1, 0x52, 0x54, 0, 0x12, 0x34, 0x56]], [57, [2, 64]]] }), T0);
    assert.deepEqual(codes(r.reply!), [53, 54, 51, 58, 59, 1, 3, 6, 12, 15, 28]);
    assert.equal(decodeText(opt(r.reply, Opt.DomainName)!), 'cluster.local');
  });

  void it('sends the basic set when the client gives no option 55', () => {
    const s = new DhcpServer(baseConfig());
    const r = s.handle(discover({ prl: null }), T0);
    assert.deepEqual(codes(r.reply!), [53, 54, 51, 58, 59, 1, 3, 6, 12, 26, 28]);
  });

  void it('never sends option 6 when there are no nameservers (no made-up default)', () => {
    const s = new DhcpServer(baseConfig({ dns: { nameservers: [], search: [] } }));
    const r = s.handle(discover(), T0);
    assert.equal(r.reply?.options.has(Opt.DnsServers), false);
    assert.equal(r.reply?.options.has(Opt.DomainSearch), false);
    const wire = Buffer.from(serialize(r.reply));
    assert.equal(wire.includes(Buffer.from([8, 8, 8, 8])), false);
    assert.equal(wire.includes(Buffer.from([1, 1, 1, 1])), false);
  });
});

void describe('lease times', () => {
  void it('sends 51 and T1 = 0.5, T2 = 0.875 of the lease, default one day', () => {
    const r = new DhcpServer(baseConfig()).handle(discover(), T0);
    assert.equal(u32(r.reply, Opt.LeaseTime), 86400);
    assert.equal(u32(r.reply, Opt.RenewalTime), 43200);
    assert.equal(u32(r.reply, Opt.RebindingTime), 75600);
  });

  void it('uses the configured lease and rounds T1/T2 down', () => {
    const s = new DhcpServer(baseConfig({ leaseSeconds: 1001 }));
    const r = s.handle(request({ requested: '10.1.0.5' }), T0);
    assert.equal(u32(r.reply, Opt.LeaseTime), 1001);
    assert.equal(u32(r.reply, Opt.RenewalTime), 500);
    assert.equal(u32(r.reply, Opt.RebindingTime), 875);
    assert.deepEqual(r.event, { kind: 'acked', address: '10.1.0.5', state: 'init-reboot', expiresAt: T0 + 1001_000 });
    assert.equal(s.status(T0 + 1000_999).lease.bound, true);
    assert.equal(s.status(T0 + 1001_000).lease.bound, false);
  });

  void it('sends an infinite lease without T1/T2', () => {
    const s = new DhcpServer(baseConfig({ leaseSeconds: 0xffffffff }));
    const r = s.handle(request({ requested: '10.1.0.5' }), T0);
    assert.equal(u32(r.reply, Opt.LeaseTime), 0xffffffff);
    assert.equal(r.reply?.options.has(Opt.RenewalTime), false);
    assert.equal(r.reply?.options.has(Opt.RebindingTime), false);
    assert.equal(s.status(T0 + 1e12).lease.bound, true);
  });
});

void describe('REQUEST states (RFC 2131 4.3.2)', () => {
  void it('SELECTING: our server id and the offered address -> ACK, lease bound', () => {
    const s = new DhcpServer(baseConfig());
    s.handle(discover(), T0);
    const r = s.handle(request({ serverId: SERVER_ID, requested: '10.1.0.5' }), T0 + 5);
    assert.equal(typeOf(r), MessageType.Ack);
    assert.equal(r.reply?.yiaddr, '10.1.0.5');
    assert.equal(r.deliver, 'unicast-yiaddr');
    assert.deepEqual(r.event, { kind: 'acked', address: '10.1.0.5', state: 'selecting', expiresAt: T0 + 5 + 86400_000 });
    assert.deepEqual(codes(r.reply).slice(0, 5), [53, 54, 51, 58, 59]);
    const st = s.status(T0 + 10);
    assert.deepEqual(st.lease, { address: '10.1.0.5', bound: true, state: 'bound', boundAt: T0 + 5, expiresAt: T0 + 5 + 86400_000, lastSeen: T0 + 5 });
  });

  void it('SELECTING another server: silent, nothing bound', () => {
    const s = new DhcpServer(baseConfig());
    const r = s.handle(request({ serverId: '10.1.0.2', requested: '10.1.0.77' }), T0);
    assert.equal(r.reply, undefined);
    assert.deepEqual(r.event, { kind: 'ignored', reason: 'other-server' });
    assert.equal(s.status(T0).lease.bound, false);
    assert.equal(s.status(T0).counters.ignored, 1);
  });

  void it('SELECTING our server for a wrong address -> NAK with only 53, 54, 56, broadcast', () => {
    const s = new DhcpServer(baseConfig());
    const r = s.handle(request({ serverId: SERVER_ID, requested: '10.1.0.6' }), T0);
    assert.equal(typeOf(r), MessageType.Nak);
    assert.deepEqual(codes(r.reply!), [53, 54, 56]);
    assert.equal(r.reply?.yiaddr, '0.0.0.0');
    assert.equal(r.reply?.ciaddr, '0.0.0.0');
    assert.equal(r.deliver, 'broadcast');
    assert.deepEqual(r.event, { kind: 'naked', state: 'selecting', requested: '10.1.0.6', address: '10.1.0.5' });
  });

  void it('INIT-REBOOT: requested IP, no server id -> ACK for ours, NAK otherwise', () => {
    const s = new DhcpServer(baseConfig());
    const ok = s.handle(request({ requested: '10.1.0.5' }), T0);
    assert.equal(typeOf(ok), MessageType.Ack);
    assert.equal(ok.event.kind === 'acked' && ok.event.state, 'init-reboot');
    assert.equal(ok.reply?.ciaddr, '0.0.0.0');
    const bad = s.handle(request({ requested: '192.168.1.20' }), T0);
    assert.equal(typeOf(bad), MessageType.Nak);
    assert.equal(bad.event.kind === 'naked' && bad.event.state, 'init-reboot');
  });

  void it('RENEWING: ciaddr, unicast arrival -> ACK to ciaddr, ciaddr echoed', () => {
    const s = new DhcpServer(baseConfig());
    bind(s);
    const r = s.handle(request({ ciaddr: '10.1.0.5' }), T0 + 43200_000, { broadcast: false });
    assert.equal(typeOf(r), MessageType.Ack);
    assert.equal(r.reply?.ciaddr, '10.1.0.5');
    assert.equal(r.reply?.yiaddr, '10.1.0.5');
    assert.equal(r.deliver, 'unicast-ciaddr');
    assert.equal(r.event.kind === 'acked' && r.event.state, 'renewing');
    assert.equal(s.status(T0 + 43200_000).lease.expiresAt, T0 + 43200_000 + 86400_000);
  });

  void it('REBINDING: ciaddr, broadcast arrival -> ACK still unicast to ciaddr', () => {
    const s = new DhcpServer(baseConfig());
    bind(s);
    const r = s.handle(request({ ciaddr: '10.1.0.5', flags: 0x8000 }), T0 + 75600_000, { broadcast: true });
    assert.equal(typeOf(r), MessageType.Ack);
    assert.equal(r.deliver, 'unicast-ciaddr');
    assert.equal(r.event.kind === 'acked' && r.event.state, 'rebinding');
  });

  void it('RENEWING a wrong ciaddr -> NAK, broadcast, lease dropped', () => {
    const s = new DhcpServer(baseConfig());
    bind(s);
    const r = s.handle(request({ ciaddr: '10.1.0.99' }), T0 + 1);
    assert.equal(typeOf(r), MessageType.Nak);
    assert.equal(r.deliver, 'broadcast');
    assert.equal(r.event.kind === 'naked' && r.event.state, 'renewing');
    assert.equal(s.status(T0 + 1).lease.bound, false);
  });

  void it('a REQUEST with neither server id, requested IP nor ciaddr -> NAK', () => {
    const s = new DhcpServer(baseConfig());
    const r = s.handle(request(), T0);
    assert.equal(typeOf(r), MessageType.Nak);
    assert.deepEqual(r.event, { kind: 'naked', state: 'unknown', address: '10.1.0.5' });
  });

  void it("stale address after the pod's IP changed: NAK, then DISCOVER gets the new one", () => {
    const s = new DhcpServer(baseConfig());
    bind(s);
    s.reconfigure(baseConfig({ address: '10.1.0.9' }));
    assert.equal(s.status(T0).lease.bound, false);
    assert.equal(typeOf(s.handle(request({ ciaddr: '10.1.0.5' }), T0 + 1)), MessageType.Nak);
    assert.equal(typeOf(s.handle(request({ requested: '10.1.0.5' }), T0 + 2)), MessageType.Nak);
    const offer = s.handle(discover({ requested: '10.1.0.5' }), T0 + 3);
    assert.equal(offer.reply?.yiaddr, '10.1.0.9');
    const ack = s.handle(request({ serverId: SERVER_ID, requested: '10.1.0.9' }), T0 + 4);
    assert.equal(typeOf(ack), MessageType.Ack);
    assert.equal(ack.reply?.yiaddr, '10.1.0.9');
    assert.equal(s.status(T0 + 5).lease.bound, true);
    assert.equal(s.status(T0 + 5).counters.naked, 2);
  });

  void it('reconfigure with the same address keeps the lease', () => {
    const s = new DhcpServer(baseConfig());
    bind(s);
    s.reconfigure(baseConfig({ mtu: 9000 }));
    assert.equal(s.status(T0).lease.bound, true);
    const r = s.handle(request({ ciaddr: '10.1.0.5' }), T0 + 1);
    assert.equal(decodeU16(opt(r.reply, Opt.InterfaceMtu)!), 9000);
  });
});

void describe('INFORM, RELEASE, DECLINE', () => {
  void it('INFORM -> ACK with parameters, no yiaddr, no lease times, unicast to ciaddr', () => {
    const s = new DhcpServer(baseConfig());
    const r = s.handle(clientMessage(MessageType.Inform, { ciaddr: '10.1.0.5' }), T0);
    assert.equal(typeOf(r), MessageType.Ack);
    assert.equal(r.reply?.yiaddr, '0.0.0.0');
    assert.equal(r.reply?.ciaddr, '10.1.0.5');
    assert.equal(r.deliver, 'unicast-ciaddr');
    for (const code of [Opt.LeaseTime, Opt.RenewalTime, Opt.RebindingTime]) assert.equal(r.reply?.options.has(code), false);
    assert.deepEqual(codes(r.reply), [53, 54, 1, 28, 3, 6, 119, 12, 26]);
    assert.deepEqual(r.event, { kind: 'informed', ciaddr: '10.1.0.5' });
    assert.equal(s.status(T0).counters.informed, 1);
    assert.equal(s.status(T0).counters.acked, 0);
  });

  void it('RELEASE ends the lease and is recorded, without a reply', () => {
    const s = new DhcpServer(baseConfig());
    bind(s);
    const r = s.handle(clientMessage(MessageType.Release, { ciaddr: '10.1.0.5', serverId: SERVER_ID, prl: null }), T0 + 7);
    assert.equal(r.reply, undefined);
    assert.deepEqual(r.event, { kind: 'released', address: '10.1.0.5' });
    const st = s.status(T0 + 8);
    assert.equal(st.lease.state, 'released');
    assert.equal(st.lease.bound, false);
    assert.equal(st.lease.lastSeen, T0 + 7);
    assert.equal(st.counters.released, 1);
  });

  void it('RELEASE naming another server is ignored', () => {
    const s = new DhcpServer(baseConfig());
    bind(s);
    const r = s.handle(clientMessage(MessageType.Release, { ciaddr: '10.1.0.5', serverId: '10.9.9.9', prl: null }), T0);
    assert.deepEqual(r.event, { kind: 'ignored', reason: 'other-server' });
    assert.equal(s.status(T0).lease.bound, true);
  });

  void it('DECLINE records an address conflict for status', () => {
    const s = new DhcpServer(baseConfig());
    bind(s);
    const msg = clientMessage(MessageType.Decline, {
      requested: '10.1.0.5', serverId: SERVER_ID, prl: null, extra: [[Opt.Message, [...Buffer.from('arp conflict')]]],
    });
    const r = s.handle(msg, T0 + 3);
    assert.equal(r.reply, undefined);
    assert.deepEqual(r.event, { kind: 'declined', address: '10.1.0.5', message: 'arp conflict' });
    const st = s.status(T0 + 4);
    assert.deepEqual(st.conflicts, [{ address: '10.1.0.5', at: T0 + 3, message: 'arp conflict' }]);
    assert.equal(st.lease.state, 'declined');
    assert.equal(st.lease.bound, false);
    assert.equal(st.counters.declined, 1);
  });

  void it('keeps only the latest 16 conflicts', () => {
    const s = new DhcpServer(baseConfig(), { ratePerSecond: 1000, burst: 1000 });
    for (let i = 0; i < 20; i++) s.handle(clientMessage(MessageType.Decline, { requested: '10.1.0.5', prl: null }), T0 + i);
    const conflicts = s.status(T0 + 30).conflicts;
    assert.equal(conflicts.length, 16);
    assert.equal(conflicts[0]?.at, T0 + 4);
  });
});

void describe('what is ignored or malformed', () => {
  const cases: [string, DhcpMessage, string][] = [
    ['another MAC', discover({ mac: '52:54:00:99:99:99' }), 'foreign-mac'],
    ['a non-Ethernet htype', { ...discover(), htype: 6 }, 'foreign-mac'],
    ['a relayed request (giaddr set)', discover({ giaddr: '10.1.0.1' }), 'relayed'],
    ['a BOOTREPLY', { ...discover(), op: 2 }, 'not-a-request'],
    ['plain BOOTP (no option 53)', clientMessage(0, { prl: null }), 'no-message-type'],
    ['an OFFER from the client side', clientMessage(MessageType.Offer), 'unexpected-message-type'],
    ['message type 9', clientMessage(9), 'unexpected-message-type'],
  ];
  for (const [name, msg, reason] of cases) {
    void it(`ignores ${name}`, () => {
      if (reason === 'no-message-type') msg.options.delete(Opt.MessageType);
      const s = new DhcpServer(baseConfig());
      const r = s.handle(msg, T0);
      assert.equal(r.reply, undefined);
      assert.equal(r.event.kind, 'ignored');
      assert.equal(r.event.kind === 'ignored' && r.event.reason, reason);
      assert.equal(s.status(T0).counters.ignored, 1);
    });
  }

  void it('does not let a foreign MAC touch lease state', () => {
    const s = new DhcpServer(baseConfig());
    const r = s.handle(request({ mac: '02:00:00:00:00:01', requested: '10.1.0.5' }), T0);
    assert.deepEqual(r.event, { kind: 'ignored', reason: 'foreign-mac', mac: '02:00:00:00:00:01' });
    assert.equal(s.status(T0).lease.lastSeen, undefined);
    assert.equal(s.status(T0).lease.state, 'none');
  });

  const broken: [string, [number, number[]]][] = [
    ['option 53 of two octets', [Opt.MessageType, [1, 1]]],
    ['option 54 of three octets', [Opt.ServerId, [1, 2, 3]]],
    ['option 50 of five octets', [Opt.RequestedIp, [1, 2, 3, 4, 5]]],
  ];
  for (const [name, extra] of broken) {
    void it(`counts ${name} as malformed`, () => {
      const s = new DhcpServer(baseConfig());
      const r = s.handle(request({ extra: [extra] }), T0);
      assert.equal(r.reply, undefined);
      assert.equal(r.event.kind, 'malformed');
      assert.equal(s.status(T0).counters.malformed, 1);
      assert.equal(s.status(T0).lease.lastSeen, T0); // still proof of life from our VM
    });
  }

  void it('receive() counts unparsable packets as malformed with the parse reason', () => {
    const s = new DhcpServer(baseConfig());
    const r = s.receive(hex('0101'), T0);
    assert.equal(r.event.kind === 'malformed' && r.event.reason, 'too-short');
    assert.equal(s.status(T0).counters.malformed, 1);
    assert.equal(s.status(T0).counters.received, 1);
  });
});

void describe('routes: option 3 vs 121/249', () => {
  const calicoRoutes = [
    { destination: '169.254.1.1', prefixLength: 32, router: '0.0.0.0' },
    { destination: '0.0.0.0', prefixLength: 0, router: '169.254.1.1' },
  ];

  void it('sends 121 (with the default route inside, on-link route via 0.0.0.0) and leaves out 3', () => {
    const r = calicoServer().handle(discover({ prl: DHCLIENT_PRL }), T0);
    assert.equal(r.reply?.options.has(Opt.Router), false);
    assert.deepEqual(opt(r.reply, Opt.ClasslessRoutes), hex('20 a9fe0101 00000000  00 a9fe0101'));
    assert.deepEqual(decodeClasslessRoutes(opt(r.reply, Opt.ClasslessRoutes)!), calicoRoutes);
    assert.equal(ip(r.reply, Opt.SubnetMask), '255.255.255.255');
    assert.equal(r.reply?.options.has(Opt.BroadcastAddress), false); // no broadcast in a /32
    assert.equal(r.reply?.options.has(Opt.DnsServers), true);
  });

  void it('sends 3 to a client that does not ask for 121', () => {
    const r = calicoServer().handle(discover({ prl: UDHCPC_PRL }), T0);
    assert.equal(ip(r.reply, Opt.Router), '169.254.1.1');
    assert.equal(r.reply?.options.has(Opt.ClasslessRoutes), false);
    assert.equal(r.reply?.options.has(Opt.MsClasslessRoutes), false);
  });

  void it('sends 121 and 249 with the same bytes to Windows, no 3', () => {
    const r = calicoServer().handle(discover({ prl: WINDOWS_PRL }), T0);
    assert.deepEqual(opt(r.reply, Opt.MsClasslessRoutes), opt(r.reply, Opt.ClasslessRoutes));
    assert.ok(opt(r.reply, Opt.MsClasslessRoutes));
    assert.equal(r.reply?.options.has(Opt.Router), false);
  });

  void it('keeps 3 next to 249 when 121 is not asked (249 supplements the router option)', () => {
    const r = calicoServer().handle(discover({ prl: [1, 3, 249] }), T0);
    assert.deepEqual(codes(r.reply!).slice(5), [1, 3, 249]);
  });

  void it('does not send 121 when the plan has only a default route, even when asked', () => {
    const r = new DhcpServer(baseConfig()).handle(discover({ prl: WINDOWS_PRL }), T0);
    assert.equal(r.reply?.options.has(Opt.ClasslessRoutes), false);
    assert.equal(r.reply?.options.has(Opt.MsClasslessRoutes), false);
    assert.equal(ip(r.reply, Opt.Router), '10.1.0.1');
  });

  void it('encodes an on-link default route inside 121 as router 0.0.0.0', () => {
    const s = new DhcpServer(baseConfig({ gateway: undefined, routes: [{ dst: '0.0.0.0/0', family: 4 }] }));
    const r = s.handle(discover(), T0);
    assert.deepEqual(opt(r.reply, Opt.ClasslessRoutes), hex('00 00000000'));
    assert.equal(r.reply?.options.has(Opt.Router), false);
  });

  void it('has no default route in 121 when the plan has none (secondary network)', () => {
    const s = new DhcpServer(baseConfig({ gateway: undefined, routes: [{ dst: '10.17.0.0/16', family: 4, gateway: '10.1.0.254' }] }));
    const r = s.handle(discover(), T0);
    assert.deepEqual(opt(r.reply, Opt.ClasslessRoutes), hex('10 0a11 0a0100fe'));
    assert.equal(r.reply?.options.has(Opt.Router), false);
  });

  void it('ignores IPv6 routes', () => {
    const s = new DhcpServer(baseConfig({ routes: [{ dst: '0.0.0.0/0', family: 4, gateway: '10.1.0.1' }, { dst: 'fd00:1::/64', family: 6, gateway: 'fd00::1' }] }));
    const r = s.handle(discover(), T0);
    assert.equal(r.reply?.options.has(Opt.ClasslessRoutes), false);
  });
});

void describe('DNS source', () => {
  void it("the pod's DNS config overrides the CNI result's", () => {
    const withPod = new DhcpServer(configFromPlan(bridgeIface(), podDns(), { serverId: SERVER_ID })).handle(discover(), T0);
    assert.deepEqual(decodeIpv4List(opt(withPod.reply, Opt.DnsServers)!), ['10.96.0.10']);
    const cniOnly = new DhcpServer(configFromPlan(bridgeIface(), undefined, { serverId: SERVER_ID })).handle(discover(), T0);
    assert.deepEqual(decodeIpv4List(opt(cniOnly.reply, Opt.DnsServers)!), ['10.1.0.53']);
    assert.deepEqual(decodeDomainSearch(opt(cniOnly.reply, Opt.DomainSearch)!), ['cni.local']);
  });
});

void describe('delivery (RFC 2131 4.1)', () => {
  void it('NAK broadcast; then ciaddr; then the broadcast bit; else yiaddr', () => {
    assert.equal(deliveryFor(request({ ciaddr: '10.1.0.5' }), MessageType.Nak), 'broadcast');
    assert.equal(deliveryFor(request({ ciaddr: '10.1.0.5', flags: 0x8000 }), MessageType.Ack), 'unicast-ciaddr');
    assert.equal(deliveryFor(request({ flags: 0x8000 }), MessageType.Ack), 'broadcast');
    assert.equal(deliveryFor(request({ flags: 0x0001 }), MessageType.Offer), 'unicast-yiaddr');
  });
});

void describe('counters, rate limit and the byte pipeline', () => {
  void it('counts every received message exactly once', () => {
    const s = new DhcpServer(baseConfig());
    bind(s);
    s.handle(discover({ mac: '02:00:00:00:00:02' }), T0);
    s.handle(request({ requested: '10.9.9.9' }), T0);
    s.handle(clientMessage(MessageType.Inform, { ciaddr: '10.1.0.5' }), T0);
    s.handle(clientMessage(MessageType.Release, { ciaddr: '10.1.0.5' }), T0);
    s.handle(clientMessage(MessageType.Decline, { requested: '10.1.0.5' }), T0);
    s.receive(new Uint8Array(10), T0);
    assert.deepEqual(s.status(T0).counters, {
      received: 8, offered: 1, acked: 1, naked: 1, ignored: 1, malformed: 1, informed: 1, released: 1, declined: 1, ratelimited: 0,
    });
  });

  void it('drops messages beyond the token bucket and recovers as tokens refill', () => {
    const s = new DhcpServer(baseConfig(), { ratePerSecond: 2, burst: 3 });
    const kinds = [0, 0, 0, 0].map(() => s.handle(discover(), T0).event.kind);
    assert.deepEqual(kinds, ['offered', 'offered', 'offered', 'ratelimited']);
    assert.equal(s.receive(serialize(discover()), T0 + 100).event.kind, 'ratelimited');
    assert.equal(s.handle(discover(), T0 + 500).event.kind, 'offered');
    const c = s.status(T0 + 500).counters;
    assert.equal(c.ratelimited, 2);
    assert.equal(c.received, 6);
  });

  void it('receive() parses real bytes and the reply serializes and parses back', () => {
    const s = new DhcpServer(baseConfig());
    const r = s.receive(serialize(discover({ prl: WINDOWS_PRL })), T0);
    assert.equal(r.event.kind, 'offered');
    const back = parse(serialize(r.reply!));
    assert.ok(back.ok);
    assert.deepEqual(back.message, r.reply);
    assert.equal(back.message.options.get(Opt.MessageType)?.[0], MessageType.Offer);
    assert.deepEqual(back.message.chaddr.subarray(0, 6), Uint8Array.from(MAC.split(':').map((h) => parseInt(h, 16))));
  });
});
