// Anti-spoofing drops as operators see them: `netlet inspect` and /metrics.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { PodStatus } from '../../../src/actors/types.js';
import { podDetails } from '../../../src/cli/format.js';
import { renderMetrics } from '../../../src/debug/metrics.js';
import { SPOOF_REASONS } from '../../../src/io/nft-rules.js';
import { histogram } from '../../../src/model/histogram.js';

const dropped = { mac: 3, ipv4: 0, arp: 2, ipv6: 0, nd: 0, ra: 1, dhcp: 0, ethertype: 0 };
const pods: PodStatus[] = [{
  podId: 'p1', phase: 'ready', interfaces: [
    { name: 'eth0', kind: 'tap', state: 'ready', tapName: 'nt-eth0', bridgeName: 'nb-eth0', antiSpoofing: { enabled: true, dropped } },
    { name: 'eth1', kind: 'tap', state: 'ready', tapName: 'nt-eth1', bridgeName: 'nb-eth1', antiSpoofing: { enabled: false } },
    { name: 'eth2', kind: 'tap', state: 'plumbing', antiSpoofing: { enabled: true } },
  ],
}];

void test('inspect: drops per reason, off, or on without counts yet', () => {
  const text = podDetails(pods[0]!, { color: false });
  assert.ok(text.includes('  antispoof  on, dropped 6: mac 3, ipv4 0, arp 2, ipv6 0, nd 0, ra 1, dhcp 0, ethertype 0'), text);
  assert.ok(text.includes('  antispoof  off (node option antiSpoofing: false)'), text);
  assert.ok(text.includes('  antispoof  on\n'), text);
});

void test('metrics: one sample per interface with counters and reason', () => {
  const text = renderMetrics({ listPods: () => pods, stats: () => ({ workerRestarts: 0, setupSeconds: histogram(), teardownSeconds: histogram(), errors: {}, adopted: 0, rolledBack: 0 }) });
  const lines = text.split('\n').filter((l) => l.startsWith('netlet_antispoof_dropped_total{'));
  assert.equal(lines.length, SPOOF_REASONS.length);
  assert.ok(lines.includes('netlet_antispoof_dropped_total{pod="p1",interface="eth0",reason="mac"} 3'));
  assert.ok(lines.includes('netlet_antispoof_dropped_total{pod="p1",interface="eth0",reason="ra"} 1'));
  assert.ok(text.includes('# TYPE netlet_antispoof_dropped_total counter'));
});
