// The Prometheus exposition from a runtime's statuses and stats.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { PodStatus } from '../../../src/actors/types.js';
import type { RuntimeStats } from '../../../src/actors/runtime.js';
import { renderMetrics } from '../../../src/debug/metrics.js';
import { histogram, observe } from '../../../src/model/histogram.js';

const counters = { received: 9, offered: 2, acked: 3, naked: 1, ignored: 1, malformed: 1, informed: 0, released: 1, declined: 0, ratelimited: 0 };
const pods: PodStatus[] = [
  { podId: 'a"b\\c', phase: 'ready', interfaces: [{ name: 'eth0', kind: 'tap', state: 'ready', dhcp: { counters, lease: { address: '10.0.0.2', state: 'bound', bound: true }, conflicts: [], trimmed: { replies: 0, options: 0 } } }] },
  { podId: 'p2', phase: 'degraded', interfaces: [{ name: 'eth0', kind: 'tap', state: 'recovering.restartingDhcp' }, { name: 'net1', kind: 'sriov', state: 'ready' }] },
];
const setupSeconds = histogram();
for (const v of [0.04, 0.3, 0.3, 12, 45]) observe(setupSeconds, v);
const stats: RuntimeStats = { workerRestarts: 2, setupSeconds, teardownSeconds: histogram(), errors: { EBUSY: 1, CNI_FAILED: 2 }, adopted: 1, rolledBack: 3 };

void test('histograms, gauges, counters and label escaping', () => {
  const text = renderMetrics({ listPods: () => pods, stats: () => stats });
  const has = (line: string): void => assert.ok(text.split('\n').includes(line), `missing: ${line}`);
  has('netlet_pod_setup_duration_seconds_bucket{le="0.05"} 1');
  has('netlet_pod_setup_duration_seconds_bucket{le="0.25"} 1');
  has('netlet_pod_setup_duration_seconds_bucket{le="0.5"} 3');
  has('netlet_pod_setup_duration_seconds_bucket{le="10"} 3');
  has('netlet_pod_setup_duration_seconds_bucket{le="30"} 4');
  // Above the last bound: counted in +Inf and the sum only.
  has('netlet_pod_setup_duration_seconds_bucket{le="+Inf"} 5');
  has('netlet_pod_setup_duration_seconds_count 5');
  has('netlet_pod_teardown_duration_seconds_count 0');
  has('netlet_pods{phase="ready"} 1');
  has('netlet_pods{phase="degraded"} 1');
  has('netlet_pods{phase="failed"} 0');
  has('netlet_interfaces{kind="tap",state="ready"} 1');
  has('netlet_interfaces{kind="tap",state="recovering"} 1');
  has('netlet_interfaces{kind="sriov",state="ready"} 1');
  has('netlet_dhcp_received_total{pod="a\\"b\\\\c",interface="eth0"} 9');
  has('netlet_dhcp_messages_total{pod="a\\"b\\\\c",interface="eth0",type="request",outcome="acked"} 3');
  has('netlet_dhcp_messages_total{pod="a\\"b\\\\c",interface="eth0",type="request",outcome="naked"} 1');
  has('netlet_dhcp_messages_total{pod="a\\"b\\\\c",interface="eth0",type="any",outcome="malformed"} 1');
  has('netlet_dhcp_lease_bound{pod="a\\"b\\\\c",interface="eth0"} 1');
  has('netlet_dhcp_worker_restarts_total 2');
  has('netlet_errors_total{code="CNI_FAILED"} 2');
  has('netlet_errors_total{code="EBUSY"} 1');
  has('netlet_pods_adopted_total 1');
  has('netlet_pods_rolled_back_total 3');
  assert.match(text, /^netlet_pod_setup_duration_seconds_sum 57\.64/m);
  // Each family is announced once, before its samples.
  const families = [...text.matchAll(/^# TYPE (\S+) (\S+)$/gm)].map((m) => m[1]);
  assert.equal(new Set(families).size, families.length);
  assert.ok(text.endsWith('\n'));
});
