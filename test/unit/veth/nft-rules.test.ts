// The interface's nftables table text (src/io/nft-rules.ts): golden text, a counter for
// every drop reason and a rule using each, what the off switch and odd plans give, the
// counter parser, and the rate limit of the "dropping" log line.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { SpoofLogLimiter } from '../../../src/actors/spoof-log.js';
import { isolationRuleset, isolationScript, spoofCountersOf, SPOOF_REASONS, spoofCounterName, type IsolationRule } from '../../../src/io/nft-rules.js';
import { countersRequest, parseCounters } from '../../../src/io/nft-counters.js';
import { antiSpoofOf } from '../../../src/io/veth.js';
import { projectRoot } from '../../support/netns.js';

const base: IsolationRule = { table: 'netlet_eth0', bridge: 'nb-eth0', bridgeMac: '02:11:22:33:44:55', bridgeAddress: '169.254.253.1', tap: 'nt-eth0', veth: 'eth0' };
const rule: IsolationRule = {
  ...base,
  antiSpoof: { mac: '0a:58:0a:16:00:05', ipv4: ['10.22.0.5'], ipv6: ['fd00:22::5'] },
  routed6: { mac: '0a:58:0a:16:00:05', addresses: ['fd00:22::5'] },
};

void test('golden: the whole transaction for one IPv4 and one IPv6 address', () => {
  // The kernel takes this builder's output: test/netns/antispoof.test.ts applies it.
  assert.equal(isolationScript(rule), readFileSync(join(projectRoot, 'test/fixtures/nft/isolation-antispoof.nft'), 'utf8'));
});

void test('every reason has a named counter and at least one rule that counts it', () => {
  const text = isolationRuleset(rule);
  for (const r of SPOOF_REASONS) {
    assert.ok(text.includes(`counter ${spoofCounterName(r)} {}`), `counter for ${r}`);
    assert.ok(text.includes(`counter name "${spoofCounterName(r)}" drop`), `a rule drops and counts ${r}`);
  }
  // Every drop in the anti-spoofing chains is counted: no silent drop.
  const chains = text.slice(text.indexOf('chain vm_spoof'), text.indexOf('chain prerouting'));
  for (const line of chains.split('\n').filter((l) => /\bdrop$/.test(l.trim()))) assert.match(line, /counter name "spoof_\w+" drop$/);
  // The prerouting hook sends the TAP's frames through the checks before anything else.
  assert.match(text, /policy accept;\n {4}iifname "nt-eth0" jump vm_spoof\n/);
});

void test('off: the DHCP isolation alone, no counters, sets or chains of anti-spoofing', () => {
  const text = isolationScript(base);
  assert.ok(!/spoof|vm_/.test(text), text);
  assert.match(text, /oifname "eth0" udp dport \{ 67, 68 \} drop/);
});

void test('no IPv4 address: no IPv4 source passes (no empty set, which nft refuses); ARP only probes', () => {
  const text = isolationRuleset({ ...base, antiSpoof: { mac: '0a:58:0a:16:00:05', ipv4: [], ipv6: ['fd00::1'] } });
  assert.match(text, /chain vm_ipv4 \{\n {4}udp sport 67 [^\n]+\n {4}# [^\n]+\n {4}ip saddr 0\.0\.0\.0 udp sport 68 udp dport 67 return\n/);
  assert.match(text, /arp saddr ip \{ 0\.0\.0\.0 \} return/);
  assert.ok(!text.includes('{ }'));
});

void test('no IPv6 address: link-local only, NA targets only link-local', () => {
  const text = isolationRuleset({ ...base, antiSpoof: { mac: '0a:58:0a:16:00:05', ipv4: ['10.0.0.2'], ipv6: [] } });
  assert.match(text, /ip6 saddr != \{ fe80::\/64 \} counter/);
  assert.match(text, /@th,64,64 != 0xfe80000000000000 counter name "spoof_nd" drop/);
});

void test('addresses are normalised and deduplicated; link-locals fold into fe80::/64 (an overlap is an nft error)', () => {
  const text = isolationRuleset({ ...base, antiSpoof: { mac: '0A-58-0A-16-00-05', ipv4: ['10.0.0.2', '10.0.0.2'], ipv6: ['FD00:0:0::1', 'fd00::1', 'fe80::5'] } });
  assert.match(text, /ip6 saddr != \{ fe80::\/64, fd00::1 \} counter/);
  assert.match(text, /ether saddr != 0a:58:0a:16:00:05 /);
  assert.match(text, /ip saddr \{ 10\.0\.0\.2 \} return/);
});

void test('anything but a MAC or a plain address is refused (it would go into nft text)', () => {
  for (const a of [
    { mac: 'nope', ipv4: [], ipv6: [] },
    { mac: '0a:58:0a:16:00:05', ipv4: ['10.0.0.2 } accept'], ipv6: [] },
    { mac: '0a:58:0a:16:00:05', ipv4: ['fd00::1'], ipv6: [] },
    { mac: '0a:58:0a:16:00:05', ipv4: [], ipv6: ['fe80::1%eth0'] },
  ]) {
    assert.throws(() => isolationRuleset({ ...base, antiSpoof: a }), (e: Error & { code?: string }) => e.code === 'INVALID_PLAN' && /fix the CNI result/.test(e.message));
  }
});

void test('settings to rule input: every CNI address by family; an old record falls back to vmAddress', () => {
  const s = { bridge: 'nb-eth0', tap: 'nt-eth0', table: 'netlet_eth0', bridgeAddress: '169.254.253.1', bridgeMac: '02:11:22:33:44:55', vmMac: '0a:58:0a:16:00:05', queues: 1 };
  assert.deepEqual(antiSpoofOf({ ...s, vmAddress: '10.0.0.2', vmAddresses: ['10.0.0.2', 'fd00::2', '10.0.1.2'] }), { mac: s.vmMac, ipv4: ['10.0.0.2', '10.0.1.2'], ipv6: ['fd00::2'] });
  assert.deepEqual(antiSpoofOf({ ...s, vmAddress: '10.0.0.2' }), { mac: s.vmMac, ipv4: ['10.0.0.2'], ipv6: [] });
  assert.deepEqual(antiSpoofOf(s), { mac: s.vmMac, ipv4: [], ipv6: [] });
});

// A real kernel's reply (6.18) to countersRequest('netlet_eth0') for a table holding counters
// spoof_mac (3 packets), spoof_nd (12) and other (9), as `nft list counters` shows them.
const REPLY = Buffer.from(
  '6c000000120a020801000000c933000007000002100001006e65746c65745f65746830000e00020073706f6f665f6d616300000008000300000000010c000600000000000000000108000500000000001c0004000c00010000000000000000b40c00020000000000000000036c000000120a020801000000c933000007000002100001006e65746c65745f65746830000d00020073706f6f665f6e640000000008000300000000010c000600000000000000000208000500000000001c0004000c00010000000000000004080c000200000000000000000c68000000120a020801000000c933000007000002100001006e65746c65745f65746830000a0002006f7468657200000008000300000000010c000600000000000000000308000500000000001c0004000c00010000000000000000090c0002000000000000000009140000000300020001000000c933000000000000',
  'hex',
);

void test('parseCounters reads a counters dump by name; an empty dump is none, an error reply undefined; spoofCountersOf keeps ours', () => {
  const found = parseCounters(REPLY)!;
  assert.deepEqual([...found], [['spoof_mac', 3], ['spoof_nd', 12], ['other', 9]]);
  assert.deepEqual(spoofCountersOf(found), { mac: 3, ipv4: 0, arp: 0, ipv6: 0, nd: 12, ra: 0, dhcp: 0, ethertype: 0 });
  const done = REPLY.subarray(REPLY.length - 20);
  assert.deepEqual(parseCounters(done), new Map());
  assert.equal(spoofCountersOf(new Map([['other', 1]])), undefined);
  // NLMSG_ERROR, errno -EPERM, then the request's header.
  const err = Buffer.alloc(36);
  err.writeUInt32LE(36, 0);
  err.writeUInt16LE(2, 4);
  err.writeInt32LE(-1, 16);
  assert.equal(parseCounters(err), undefined);
  // The request names the table and the counter type, as a dump.
  const req = countersRequest('netlet_eth0');
  assert.equal(req.readUInt32LE(0), req.length);
  assert.equal(req.readUInt16LE(4), (10 << 8) | 19);
  assert.equal(req.readUInt16LE(6) & 0x300, 0x300);
  assert.ok(req.includes(Buffer.from('netlet_eth0\0')));
});

void test('the dropping log line: at most one per interface per minute, with what was dropped since the last', () => {
  const l = new SpoofLogLimiter(60_000, 10_000);
  const zero = Object.fromEntries(SPOOF_REASONS.map((r) => [r, 0])) as Record<(typeof SPOOF_REASONS)[number], number>;
  assert.equal(l.due('eth0', 0, zero), undefined, 'nothing dropped: no line');
  assert.deepEqual(l.due('eth0', 1000, { ...zero, mac: 5 }), { mac: 5 });
  assert.equal(l.wantsRead('eth0', 30_000), false, 'within the minute of a line: no need to read counters');
  assert.equal(l.wantsRead('eth2', 30_000), true, 'never read: read');
  assert.equal(l.wantsRead('eth2', 35_000), false, 'read 5 s ago: not yet');
  assert.equal(l.wantsRead('eth2', 40_000), true, 'read 10 s ago: again');
  assert.equal(l.due('eth0', 30_000, { ...zero, mac: 5000 }), undefined, 'within the minute: quiet');
  assert.deepEqual(l.due('eth1', 30_000, { ...zero, ra: 1 }), { ra: 1 }, 'per interface');
  assert.deepEqual(l.due('eth0', 61_000, { ...zero, mac: 5000, arp: 2 }), { mac: 4995, arp: 2 });
  assert.equal(l.wantsRead('eth0', 121_000), true, 'a minute after the line: read again');
  assert.equal(l.due('eth0', 200_000, { ...zero, mac: 5000, arp: 2 }), undefined, 'no new drops: no line');
  assert.deepEqual(l.due('eth0', 300_000, { ...zero, mac: 1 }), { mac: 1 }, 'counters recreated: counted from zero');
});
