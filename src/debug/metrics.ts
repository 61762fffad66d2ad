// Prometheus text exposition (format 0.0.4) of a runtime: setup/teardown latency
// histograms, pods by phase, interfaces by state, DHCP messages per interface by
// type and outcome, anti-spoofing drops per interface and reason, worker restarts, errors by code, adoptions and rollbacks.
import type { PodStatus } from '../actors/types.js';
import type { RuntimeStats } from '../actors/runtime.js';
import { SPOOF_REASONS } from '../io/nft-rules.js';
import { cumulative, type Histogram } from '../model/histogram.js';

/** What metrics read from a runtime. */
export interface MetricsSource {
  listPods(): PodStatus[];
  stats(): RuntimeStats;
}

/** Every phase a pod reports, so absent ones show as 0 rather than vanishing. */
export const POD_PHASES = ['settingUp', 'ready', 'degraded', 'rollingBack', 'tearingDown', 'teardownFailed', 'failed', 'gone'];

/**
 * The DHCP server counts outcomes; each outcome implies the client message type
 * (RFC 2131): an OFFER answers a DISCOVER, an ACK or NAK a REQUEST, and so on.
 * Ignored, malformed and rate-limited messages can be of any type.
 */
export const DHCP_OUTCOMES: { counter: string; type: string; outcome: string }[] = [
  { counter: 'offered', type: 'discover', outcome: 'offered' },
  { counter: 'acked', type: 'request', outcome: 'acked' },
  { counter: 'naked', type: 'request', outcome: 'naked' },
  { counter: 'informed', type: 'inform', outcome: 'acked' },
  { counter: 'released', type: 'release', outcome: 'released' },
  { counter: 'declined', type: 'decline', outcome: 'declined' },
  { counter: 'ignored', type: 'any', outcome: 'ignored' },
  { counter: 'malformed', type: 'any', outcome: 'malformed' },
  { counter: 'ratelimited', type: 'any', outcome: 'ratelimited' },
];

const escapeLabel = (v: string): string => v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');

function labels(l: Record<string, string>): string {
  const parts = Object.entries(l).map(([k, v]) => `${k}="${escapeLabel(v)}"`);
  return parts.length ? `{${parts.join(',')}}` : '';
}

const num = (n: number): string => (Number.isFinite(n) ? String(n) : n > 0 ? '+Inf' : n < 0 ? '-Inf' : 'NaN');

class Exposition {
  private readonly lines: string[] = [];
  family(name: string, type: 'counter' | 'gauge' | 'histogram', help: string): void {
    this.lines.push(`# HELP ${name} ${help.replace(/\\/g, '\\\\').replace(/\n/g, '\\n')}`, `# TYPE ${name} ${type}`);
  }
  sample(name: string, l: Record<string, string>, value: number): void {
    this.lines.push(`${name}${labels(l)} ${num(value)}`);
  }
  histogram(name: string, help: string, h: Histogram): void {
    this.family(name, 'histogram', help);
    const below = cumulative(h);
    h.le.forEach((le, i) => this.sample(`${name}_bucket`, { le: String(le) }, below[i]!));
    this.sample(`${name}_bucket`, { le: '+Inf' }, h.count);
    this.sample(`${name}_sum`, {}, h.sum);
    this.sample(`${name}_count`, {}, h.count);
  }
  text(): string {
    return `${this.lines.join('\n')}\n`;
  }
}

/** The runtime's metrics as Prometheus text. */
export function renderMetrics(rt: MetricsSource): string {
  const pods = rt.listPods();
  const stats = rt.stats();
  const x = new Exposition();

  x.histogram('netlet_pod_setup_duration_seconds', 'Time from setupPod to a ready pod network.', stats.setupSeconds);
  x.histogram('netlet_pod_teardown_duration_seconds', 'Time teardownPod took to restore a pod netns.', stats.teardownSeconds);

  x.family('netlet_pods', 'gauge', 'Pods by phase.');
  const phases = new Map(POD_PHASES.map((p) => [p, 0]));
  for (const p of pods) phases.set(p.phase, (phases.get(p.phase) ?? 0) + 1);
  for (const [phase, n] of phases) x.sample('netlet_pods', { phase }, n);

  x.family('netlet_interfaces', 'gauge', 'Pod interfaces by kind and state (nested states by their top-level name).');
  const ifaces = new Map<string, { kind: string; state: string; n: number }>();
  for (const p of pods) {
    for (const i of p.interfaces) {
      const state = i.state.split('.')[0] ?? i.state;
      const k = `${i.kind}/${state}`;
      const e = ifaces.get(k) ?? { kind: i.kind, state, n: 0 };
      e.n++;
      ifaces.set(k, e);
    }
  }
  for (const e of [...ifaces.values()].sort((a, b) => `${a.kind}/${a.state}`.localeCompare(`${b.kind}/${b.state}`))) {
    x.sample('netlet_interfaces', { kind: e.kind, state: e.state }, e.n);
  }

  const served = pods.flatMap((p) => p.interfaces.filter((i) => i.dhcp).map((i) => ({ pod: p.podId, iface: i.name, dhcp: i.dhcp! })));
  x.family('netlet_dhcp_received_total', 'counter', 'DHCP messages received per interface.');
  for (const s of served) x.sample('netlet_dhcp_received_total', { pod: s.pod, interface: s.iface }, s.dhcp.counters.received);
  x.family('netlet_dhcp_messages_total', 'counter', 'DHCP messages per interface by client message type and outcome.');
  for (const s of served) {
    const c = s.dhcp.counters as unknown as Record<string, number>;
    for (const o of DHCP_OUTCOMES) x.sample('netlet_dhcp_messages_total', { pod: s.pod, interface: s.iface, type: o.type, outcome: o.outcome }, c[o.counter] ?? 0);
  }
  x.family('netlet_dhcp_replies_trimmed_total', 'counter', 'OFFERs/ACKs that had options dropped to fit the client\'s maximum message size.');
  for (const s of served) x.sample('netlet_dhcp_replies_trimmed_total', { pod: s.pod, interface: s.iface }, s.dhcp.trimmed.replies);
  x.family('netlet_dhcp_options_dropped_total', 'counter', 'Options left out of those replies, in all.');
  for (const s of served) x.sample('netlet_dhcp_options_dropped_total', { pod: s.pod, interface: s.iface }, s.dhcp.trimmed.options);
  x.family('netlet_dhcp_lease_bound', 'gauge', '1 while the VM holds an unexpired lease.');
  for (const s of served) x.sample('netlet_dhcp_lease_bound', { pod: s.pod, interface: s.iface }, s.dhcp.lease.bound ? 1 : 0);

  const served6 = pods.flatMap((p) => p.interfaces.filter((i) => i.ipv6).map((i) => ({ pod: p.podId, iface: i.name, v6: i.ipv6! })));
  x.family('netlet_dhcp6_messages_total', 'counter', 'DHCPv6 messages received per interface by outcome (received counts them all).');
  for (const s of served6) {
    for (const [outcome, n] of Object.entries(s.v6.dhcp6.counters) as [string, number][]) x.sample('netlet_dhcp6_messages_total', { pod: s.pod, interface: s.iface, outcome }, n);
  }
  x.family('netlet_dhcp6_lease_bound', 'gauge', '1 while the VM holds its DHCPv6 addresses.');
  for (const s of served6) x.sample('netlet_dhcp6_lease_bound', { pod: s.pod, interface: s.iface }, s.v6.dhcp6.lease.bound ? 1 : 0);
  x.family('netlet_ra_sent_total', 'counter', 'Router Advertisements sent per interface.');
  for (const s of served6) x.sample('netlet_ra_sent_total', { pod: s.pod, interface: s.iface }, s.v6.ra.sent);
  x.family('netlet_ra_solicitations_total', 'counter', 'Router Solicitations per interface by outcome.');
  for (const s of served6) {
    for (const outcome of ['solicited', 'malformed', 'ratelimited'] as const) x.sample('netlet_ra_solicitations_total', { pod: s.pod, interface: s.iface, outcome }, s.v6.ra[outcome]);
  }

  x.family('netlet_antispoof_dropped_total', 'counter', 'Frames from the VM dropped by anti-spoofing, per interface and reason.');
  for (const p of pods) {
    for (const i of p.interfaces) {
      const d = i.antiSpoofing?.dropped;
      if (d) for (const r of SPOOF_REASONS) x.sample('netlet_antispoof_dropped_total', { pod: p.podId, interface: i.name, reason: r }, d[r]);
    }
  }

  x.family('netlet_dhcp_worker_restarts_total', 'counter', 'DHCP worker threads replaced after a crash.');
  x.sample('netlet_dhcp_worker_restarts_total', {}, stats.workerRestarts);

  x.family('netlet_errors_total', 'counter', 'Failed setups, teardowns and adoptions by error code.');
  for (const [code, n] of Object.entries(stats.errors).sort(([a], [b]) => a.localeCompare(b))) x.sample('netlet_errors_total', { code }, n);

  x.family('netlet_pods_adopted_total', 'counter', 'Ready pods taken over from a previous runtime at start.');
  x.sample('netlet_pods_adopted_total', {}, stats.adopted);
  x.family('netlet_pods_rolled_back_total', 'counter', 'Half-done pods of a previous runtime rolled back at start.');
  x.sample('netlet_pods_rolled_back_total', {}, stats.rolledBack);
  return x.text();
}
