import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Dhcp6Message } from '../../../src/dhcp6/codec.js';
import { dhcp6ConfigFromPlan, type Dhcp6ServerConfig } from '../../../src/dhcp6/config.js';
import { duidLl } from '../../../src/dhcp6/duid.js';
import {
  decodeDomainList, decodeIaNa, decodeIpv6List, decodeStatus, decodeU32, iaAddresses, Msg6, Opt6, Status6, type IaAddr,
} from '../../../src/dhcp6/options.js';
import { Dhcp6Server, MAX_REPLY_SIZE, type Handle6Result } from '../../../src/dhcp6/server.js';
import { serialize } from '../../../src/dhcp6/codec.js';
import { BRIDGE_MAC, bridgeIface, CLIENT_DUID, clientMessage, IAID, podDns, SERVER_DUID, T0 } from './fixtures.js';

const config = (): Dhcp6ServerConfig => dhcp6ConfigFromPlan(bridgeIface(), podDns(), { bridgeMac: BRIDGE_MAC });
const server = (c = config()): Dhcp6Server => new Dhcp6Server(c, false);
const codes = (m?: Dhcp6Message): number[] => m?.options.map((o) => o.code) ?? [];
const get = (m: Dhcp6Message | undefined, code: number): Uint8Array | undefined => m?.options.find((o) => o.code === code)?.data;
const status = (m: Dhcp6Message | undefined): number | undefined => {
  const d = get(m, Opt6.StatusCode);
  return d && decodeStatus(d)?.code;
};
const ias = (m?: Dhcp6Message) => (m?.options ?? []).filter((o) => o.code === Opt6.IaNa).map((o) => decodeIaNa(o.data)!);
const addrs = (m?: Dhcp6Message): IaAddr[] => ias(m).flatMap(iaAddresses);
const iaStatus = (m: Dhcp6Message | undefined, i: number): number | undefined => {
  const s = ias(m)[i]?.options.find((o) => o.code === Opt6.StatusCode);
  return s && decodeStatus(s.data)?.code;
};
const ignored = (r: Handle6Result): string | undefined => (r.event.kind === 'ignored' ? r.event.reason : undefined);

function bind(s: Dhcp6Server, now = T0): void {
  assert.equal(s.handle(clientMessage(Msg6.Solicit), now).event.kind, 'advertised');
  assert.equal(s.handle(clientMessage(Msg6.Request, { serverId: SERVER_DUID, ias: [{ iaid: IAID, addresses: ['fd00::5'] }] }), now).event.kind, 'bound');
}

void describe('Solicit', () => {
  void it('Advertise: preference 255, one IA_NA with every global address, T1/T2, DNS as asked', () => {
    const c = dhcp6ConfigFromPlan({ ...bridgeIface(), ips: [...bridgeIface().ips, { address: 'fd00:1::7', prefixLength: 64, family: 6 }, { address: 'fe80::1', prefixLength: 64, family: 6 }] }, podDns(), { bridgeMac: BRIDGE_MAC });
    const r = server(c).handle(clientMessage(Msg6.Solicit), T0);
    assert.equal(r.reply?.type, Msg6.Advertise);
    assert.equal(r.reply?.transactionId, 0x0a0b0c);
    assert.deepEqual(codes(r.reply), [Opt6.ServerId, Opt6.ClientId, Opt6.Preference, Opt6.IaNa, Opt6.DnsServers, Opt6.DomainList]);
    assert.deepEqual(get(r.reply, Opt6.ClientId), CLIENT_DUID);
    assert.deepEqual(ias(r.reply).map((ia) => [ia.iaid, ia.t1, ia.t2]), [[IAID, 43200, 69120]]);
    assert.deepEqual(addrs(r.reply).map((a) => [a.address, a.preferred, a.valid]), [['fd00::5', 86400, 86400], ['fd00:1::7', 86400, 86400]]);
    assert.deepEqual(decodeIpv6List(get(r.reply, Opt6.DnsServers)!), ['fd00::10']);
    assert.deepEqual(decodeDomainList(get(r.reply, Opt6.DomainList)!), ['cluster.local']);
  });

  void it('ORO decides the DNS options: none asked, none sent; only 23, only 23', () => {
    assert.deepEqual(codes(server().handle(clientMessage(Msg6.Solicit, { oro: null }), T0).reply), [2, 1, 7, 3]);
    assert.deepEqual(codes(server().handle(clientMessage(Msg6.Solicit, { oro: [Opt6.DnsServers, 82] }), T0).reply), [2, 1, 7, 3, 23]);
    // Nothing to say: no IPv6 nameserver, no search list.
    const bare = dhcp6ConfigFromPlan(bridgeIface(), undefined, { bridgeMac: BRIDGE_MAC });
    assert.deepEqual(codes(server(bare).handle(clientMessage(Msg6.Solicit), T0).reply), [2, 1, 7, 3]);
  });

  void it('Rapid Commit: a Reply that binds, with the Rapid Commit option (RFC 8415 18.3.1)', () => {
    const s = server();
    const r = s.handle(clientMessage(Msg6.Solicit, { rapidCommit: true }), T0);
    assert.equal(r.reply?.type, Msg6.Reply);
    assert.deepEqual(codes(r.reply), [2, 1, Opt6.RapidCommit, 3, 23, 24]);
    assert.deepEqual(r.event, { kind: 'bound', via: 'rapid-commit', addresses: ['fd00::5'], expiresAt: T0 + 86400_000, withdrawn: [] });
    assert.equal(s.status(T0).lease.bound, true);
    assert.equal(s.status(T0).lease.clientDuid, Buffer.from(CLIENT_DUID).toString('hex'));
    // Rapid Commit turned off: an ordinary Advertise.
    assert.equal(server({ ...config(), rapidCommit: false }).handle(clientMessage(Msg6.Solicit, { rapidCommit: true }), T0).reply?.type, Msg6.Advertise);
  });

  void it('ignores hints, gives extra IA_NAs NoAddrsAvail, and without any IA_NA says NoAddrsAvail only', () => {
    const r = server().handle(clientMessage(Msg6.Solicit, { ias: [{ iaid: 1, addresses: ['2001:db8::9'] }, { iaid: 2 }] }), T0);
    assert.deepEqual(addrs(r.reply).map((a) => a.address), ['fd00::5']);
    assert.deepEqual(ias(r.reply).map((ia) => ia.iaid), [1, 2]);
    assert.equal(iaStatus(r.reply, 1), Status6.NoAddrsAvail);
    const none = server().handle(clientMessage(Msg6.Solicit, { ias: [] }), T0);
    assert.deepEqual(codes(none.reply), [2, 1, 13]);
    assert.equal(status(none.reply), Status6.NoAddrsAvail);
  });

  void it('answers an IA_PD with NoPrefixAvail (no delegation)', () => {
    const pd = { code: Opt6.IaPd, data: Uint8Array.of(0, 0, 0, 9, 0, 0, 0, 0, 0, 0, 0, 0) };
    const r = server().handle(clientMessage(Msg6.Solicit, { extra: [pd] }), T0);
    const out = get(r.reply, Opt6.IaPd)!;
    assert.deepEqual(Array.from(out), [0, 0, 0, 9, 0, 0, 0, 0, 0, 0, 0, 0, 0, 13, 0, 2, 0, 6]);
  });
});

void describe('server identifier and client identifier rules (RFC 8415 section 16)', () => {
  const other = duidLl('02:00:00:00:00:99');
  const cases: [string, Dhcp6Message, string][] = [
    ['Solicit with a SERVERID', clientMessage(Msg6.Solicit, { serverId: SERVER_DUID }), 'server-id-present'],
    ['Solicit without CLIENTID', clientMessage(Msg6.Solicit, { clientId: null }), 'no-client-id'],
    ['Confirm with a SERVERID', clientMessage(Msg6.Confirm, { serverId: SERVER_DUID, ias: [{ iaid: IAID, addresses: ['fd00::5'] }] }), 'server-id-present'],
    ['Rebind with a SERVERID', clientMessage(Msg6.Rebind, { serverId: SERVER_DUID }), 'server-id-present'],
    ['Rebind without CLIENTID', clientMessage(Msg6.Rebind, { clientId: null }), 'no-client-id'],
    ['Request without SERVERID', clientMessage(Msg6.Request), 'no-server-id'],
    ['Request for another server', clientMessage(Msg6.Request, { serverId: other }), 'other-server'],
    ['Request without CLIENTID', clientMessage(Msg6.Request, { serverId: SERVER_DUID, clientId: null }), 'no-client-id'],
    ['Renew for another server', clientMessage(Msg6.Renew, { serverId: other }), 'other-server'],
    ['Renew without SERVERID', clientMessage(Msg6.Renew), 'no-server-id'],
    ['Release for another server', clientMessage(Msg6.Release, { serverId: other }), 'other-server'],
    ['Decline without SERVERID', clientMessage(Msg6.Decline), 'no-server-id'],
    ['Information-request for another server', clientMessage(Msg6.InformationRequest, { serverId: other }), 'other-server'],
    ['Information-request with an IA_NA', clientMessage(Msg6.InformationRequest, { ias: [{ iaid: 1 }] }), 'ia-in-information-request'],
    ['an Advertise', clientMessage(Msg6.Advertise), 'not-a-client-message'],
    ['a Reply', clientMessage(Msg6.Reply), 'not-a-client-message'],
    ['a Reconfigure', clientMessage(Msg6.Reconfigure), 'not-a-client-message'],
    ['Confirm without addresses (18.3.3)', clientMessage(Msg6.Confirm), 'confirm-without-addresses'],
  ];
  for (const [name, msg, reason] of cases) {
    void it(`discards ${name}`, () => {
      const s = server();
      const r = s.handle(msg, T0);
      assert.equal(r.reply, undefined);
      assert.equal(ignored(r), reason);
      assert.equal(s.status(T0).counters.ignored, 1);
    });
  }

  void it('Information-request naming us, or no server, is answered', () => {
    assert.equal(server().handle(clientMessage(Msg6.InformationRequest, { serverId: SERVER_DUID }), T0).event.kind, 'informed');
    assert.equal(server().handle(clientMessage(Msg6.InformationRequest, { clientId: null }), T0).event.kind, 'informed');
  });

  void it('multicast-only messages sent unicast are discarded; unicast Request/Renew/Release/Decline get UseMulticast (18.4)', () => {
    const s = server();
    assert.equal(ignored(s.handle(clientMessage(Msg6.Solicit), T0, { unicast: true })), 'unicast');
    assert.equal(ignored(s.handle(clientMessage(Msg6.InformationRequest), T0, { unicast: true })), 'unicast');
    const r = s.handle(clientMessage(Msg6.Renew, { serverId: SERVER_DUID }), T0, { unicast: true });
    assert.equal(r.reply?.type, Msg6.Reply);
    assert.deepEqual(codes(r.reply), [2, 1, 13]);
    assert.equal(status(r.reply), Status6.UseMulticast);
    assert.equal(s.status(T0).counters.useMulticast, 1);
  });
});

void describe('Request', () => {
  void it('binds the advertised addresses', () => {
    const s = server();
    bind(s);
    const st = s.status(T0 + 1000);
    assert.equal(st.lease.state, 'bound');
    assert.equal(st.lease.iaid, IAID);
    assert.equal(st.lease.expiresAt, T0 + 86400_000);
    assert.equal(s.status(T0 + 86400_000).lease.bound, false);
    assert.deepEqual(st.counters, { ...st.counters, received: 2, advertised: 1, bound: 1 });
  });

  void it('an address off every plan prefix gets NotOnLink in its IA (18.3.2); one in our /64 gets ours', () => {
    const s = server();
    const r = s.handle(clientMessage(Msg6.Request, { serverId: SERVER_DUID, ias: [{ iaid: IAID, addresses: ['2001:db8::5'] }] }), T0);
    assert.deepEqual(r.event, { kind: 'not-on-link', requested: ['2001:db8::5'] });
    assert.equal(iaStatus(r.reply, 0), Status6.NotOnLink);
    assert.deepEqual(addrs(r.reply), []);
    assert.equal(s.status(T0).lease.state, 'none');
    const same = s.handle(clientMessage(Msg6.Request, { serverId: SERVER_DUID, ias: [{ iaid: IAID, addresses: ['fd00::99'] }] }), T0);
    assert.deepEqual(addrs(same.reply).map((a) => a.address), ['fd00::5']);
  });

  void it('without an IA_NA: a Reply with NoAddrsAvail, counted as noIa', () => {
    const s = server();
    const r = s.handle(clientMessage(Msg6.Request, { serverId: SERVER_DUID, ias: [] }), T0);
    assert.equal(status(r.reply), Status6.NoAddrsAvail);
    assert.equal(s.status(T0).counters.noIa, 1);
  });
});

void describe('Renew and Rebind', () => {
  void it('Renew extends the lifetimes', () => {
    const s = server();
    bind(s);
    const r = s.handle(clientMessage(Msg6.Renew, { serverId: SERVER_DUID, ias: [{ iaid: IAID, addresses: ['fd00::5'] }] }), T0 + 43200_000);
    assert.equal(r.reply?.type, Msg6.Reply);
    assert.deepEqual(addrs(r.reply).map((a) => [a.address, a.valid]), [['fd00::5', 86400]]);
    assert.equal(s.status(T0).counters.renewed, 1);
    assert.equal(s.status(T0 + 43200_000).lease.expiresAt, T0 + (43200 + 86400) * 1000);
  });

  void it('Renew of a foreign address: ours with full lifetimes, the foreign one at lifetime 0 (18.3.4)', () => {
    const s = server();
    const r = s.handle(clientMessage(Msg6.Renew, { serverId: SERVER_DUID, ias: [{ iaid: IAID, addresses: ['fd00::77', '2001:db8::1'] }] }), T0);
    assert.deepEqual(addrs(r.reply).map((a) => [a.address, a.preferred, a.valid]), [['fd00::5', 86400, 86400], ['fd00::77', 0, 0], ['2001:db8::1', 0, 0]]);
    assert.equal(r.event.kind === 'bound' && r.event.withdrawn.join(), 'fd00::77,2001:db8::1');
  });

  void it('Rebind of an old address after the plan changed: the new address and the old at 0 (18.3.5)', () => {
    const s = server();
    bind(s);
    const moved = dhcp6ConfigFromPlan({ ...bridgeIface(), ips: [{ address: 'fd00::6', prefixLength: 64, family: 6 }] }, podDns(), { bridgeMac: BRIDGE_MAC });
    s.reconfigure(moved);
    assert.equal(s.status(T0).lease.state, 'none');
    const r = s.handle(clientMessage(Msg6.Rebind, { ias: [{ iaid: IAID, addresses: ['fd00::5'] }] }), T0);
    assert.deepEqual(addrs(r.reply).map((a) => [a.address, a.valid]), [['fd00::6', 86400], ['fd00::5', 0]]);
    assert.equal(r.event.kind === 'bound' && r.event.via, 'rebind');
  });

  void it('the bound IA gets the addresses even when it is not first; others NoBinding with lifetimes 0', () => {
    const s = server();
    bind(s);
    const r = s.handle(clientMessage(Msg6.Renew, { serverId: SERVER_DUID, ias: [{ iaid: 9, addresses: ['fd00::5'] }, { iaid: IAID, addresses: ['fd00::5'] }] }), T0);
    const [first, second] = ias(r.reply);
    assert.equal(first?.iaid, IAID);
    assert.deepEqual(iaAddresses(first).map((a) => a.valid), [86400]);
    assert.equal(second?.iaid, 9);
    assert.deepEqual(iaAddresses(second).map((a) => a.valid), [0]);
    assert.equal(iaStatus(r.reply, 1), Status6.NoBinding);
  });

  void it('infinite lifetimes give infinite T1/T2', () => {
    const s = server({ ...config(), preferredLifetime: 0xffffffff, validLifetime: 0xffffffff });
    const r = s.handle(clientMessage(Msg6.Solicit, { rapidCommit: true }), T0);
    assert.deepEqual(ias(r.reply).map((ia) => [ia.t1, ia.t2]), [[0xffffffff, 0xffffffff]]);
    assert.equal(s.status(T0 + 1e12).lease.bound, true);
  });
});

void describe('Confirm, Release, Decline, Information-request', () => {
  void it('Confirm: Success for our addresses, NotOnLink for any other (18.3.3)', () => {
    const s = server();
    const ok = s.handle(clientMessage(Msg6.Confirm, { ias: [{ iaid: IAID, addresses: ['fd00::5'] }] }), T0);
    assert.deepEqual(codes(ok.reply), [2, 1, 13]);
    assert.equal(status(ok.reply), Status6.Success);
    const bad = s.handle(clientMessage(Msg6.Confirm, { ias: [{ iaid: IAID, addresses: ['fd00::5', 'fd00::8'] }] }), T0);
    assert.equal(status(bad.reply), Status6.NotOnLink);
    assert.deepEqual(bad.event, { kind: 'confirmed', onLink: false, addresses: ['fd00::5', 'fd00::8'] });
    assert.equal(s.status(T0).counters.confirmed, 2);
  });

  void it('Release: Success, the lease released; an IA not bound comes back NoBinding (18.3.7)', () => {
    const s = server();
    bind(s);
    const r = s.handle(clientMessage(Msg6.Release, { serverId: SERVER_DUID, ias: [{ iaid: IAID, addresses: ['fd00::5'] }, { iaid: 3 }] }), T0);
    assert.equal(status(r.reply), Status6.Success);
    assert.deepEqual(ias(r.reply).map((ia) => ia.iaid), [3]);
    assert.equal(iaStatus(r.reply, 0), Status6.NoBinding);
    assert.equal(s.status(T0).lease.state, 'released');
    assert.deepEqual(r.event, { kind: 'released', addresses: ['fd00::5'] });
  });

  void it('Decline: Success, counted, a conflict recorded, the lease declined (18.3.8)', () => {
    const s = server();
    bind(s);
    const r = s.handle(clientMessage(Msg6.Decline, { serverId: SERVER_DUID, ias: [{ iaid: IAID, addresses: ['fd00::5'] }] }), T0 + 5);
    assert.equal(r.reply?.type, Msg6.Reply);
    assert.equal(status(r.reply), Status6.Success);
    const st = s.status(T0 + 5);
    assert.equal(st.counters.declined, 1);
    assert.equal(st.lease.state, 'declined');
    assert.deepEqual(st.conflicts, [{ address: 'fd00::5', at: T0 + 5, clientDuid: Buffer.from(CLIENT_DUID).toString('hex') }]);
  });

  void it('Information-request: DNS only, and the refresh time when asked', () => {
    const s = server();
    const r = s.handle(clientMessage(Msg6.InformationRequest, { oro: [Opt6.DnsServers, Opt6.DomainList, Opt6.InformationRefreshTime] }), T0);
    assert.equal(r.reply?.type, Msg6.Reply);
    assert.deepEqual(codes(r.reply), [2, 1, 23, 24, 32]);
    assert.equal(decodeU32(get(r.reply, 32)!), 86400);
    assert.deepEqual(codes(s.handle(clientMessage(Msg6.InformationRequest, { oro: [Opt6.DnsServers] }), T0).reply), [2, 1, 23]);
    assert.equal(s.status(T0).counters.informed, 2);
    assert.equal(s.status(T0).lease.state, 'none');
  });
});

void describe('rate limit, counters, reply size', () => {
  void it('drops messages beyond the bucket and counts them', () => {
    const s = new Dhcp6Server(config(), { ratePerSecond: 1, burst: 2 });
    const bytes = serialize(clientMessage(Msg6.Solicit));
    const kinds = [0, 1, 2].map(() => s.receive(bytes, T0).event.kind);
    assert.deepEqual(kinds, ['advertised', 'advertised', 'ratelimited']);
    assert.equal(s.receive(bytes, T0 + 1000).event.kind, 'advertised');
    const c = s.status(T0).counters;
    assert.equal(c.received, 4);
    assert.equal(c.ratelimited, 1);
  });

  void it('malformed payloads are counted, with the parse reason', () => {
    const s = server();
    const r = s.receive(Uint8Array.of(1, 2, 3), T0);
    assert.deepEqual(r.event.kind === 'malformed' && r.event.reason, 'too-short');
    assert.equal(s.status(T0).counters.malformed, 1);
  });

  void it('a reply that would exceed 1232 octets drops the search list, then extra IAs', () => {
    const many = Array.from({ length: 30 }, (_, i) => `${'x'.repeat(50)}${i}.example.com`);
    const c = { ...config(), dns: { nameservers: ['fd00::10'], search: many } };
    const iaList = Array.from({ length: 8 }, (_, i) => ({ iaid: i + 1, addresses: Array.from({ length: 8 }, (_, j) => `2001:db8::${i}:${j}`) }));
    const r = server(c).handle(clientMessage(Msg6.Renew, { serverId: SERVER_DUID, ias: iaList }), T0);
    assert.ok(serialize(r.reply!).length <= MAX_REPLY_SIZE);
    assert.equal(r.trimmed?.dropped[0], Opt6.DomainList);
    assert.ok(r.trimmed.dropped.includes(Opt6.IaNa));
    assert.deepEqual(addrs(r.reply).filter((a) => a.valid > 0).map((a) => a.address), ['fd00::5']);
  });
});
