// Text output for people: aligned tables, pod details, event lines. Colour only when
// asked (a TTY without NO_COLOR); piped output stays plain.
import type { InterfaceStatus, PodEventRecord, PodStatus } from '../actors/types.js';

export interface Style {
  color: boolean;
}

/** Colour is for terminals: on when the stream is a TTY and NO_COLOR is unset. */
export const styleFor = (stream: { isTTY?: boolean }, env: NodeJS.ProcessEnv): Style => ({ color: !!stream.isTTY && !env.NO_COLOR });

const CODES = { red: 31, green: 32, yellow: 33, dim: 2, bold: 1 } as const;
export const paint = (s: Style, c: keyof typeof CODES, text: string): string => (s.color ? `\x1b[${CODES[c]}m${text}\x1b[0m` : text);

// eslint-disable-next-line no-control-regex
const ANSI = /\x1b\[[0-9;]*m/g;
export const visibleLength = (s: string): string['length'] => s.replace(ANSI, '').length;

/** Columns padded to the widest visible cell; the last column is not padded. */
export function table(header: string[], rows: string[][], s: Style): string {
  const all = [header.map((h) => paint(s, 'bold', h)), ...rows];
  const widths = header.map((_, i) => Math.max(...all.map((r) => visibleLength(r[i] ?? ''))));
  return all
    .map((r) => r.map((cell, i) => (i === r.length - 1 ? cell : cell + ' '.repeat(widths[i]! - visibleLength(cell)))).join('  ').trimEnd())
    .join('\n') + '\n';
}

/** A state coloured by health: green ready, red failed, yellow in between. */
export function stateColour(s: Style, state: string): string {
  const top = state.split('.')[0] ?? state;
  if (top === 'ready' || top === 'restored') return paint(s, 'green', state);
  if (top === 'failed' || top === 'teardownFailed' || top === 'rollbackFailed') return paint(s, 'red', state);
  return paint(s, 'yellow', state);
}

function dhcpSummary(i: InterfaceStatus): string {
  if (i.kind !== 'tap') return '-';
  if (!i.dhcp) return i.ips?.some((a) => a.includes('.')) ? 'waiting' : '-';
  const { lease, counters } = i.dhcp;
  const state = lease.bound ? 'bound' : lease.state;
  return `${state} rx=${counters.received} ack=${counters.acked}${counters.naked ? ` nak=${counters.naked}` : ''}`;
}

function antiSpoofSummary(a: NonNullable<InterfaceStatus['antiSpoofing']>): string {
  if (!a.enabled) return 'off (node option antiSpoofing: false)';
  if (!a.dropped) return 'on';
  const n = Object.values(a.dropped).reduce((x, y) => x + y, 0);
  return `on, dropped ${n}: ${Object.entries(a.dropped).map(([r, k]) => `${r} ${k}`).join(', ')}`;
}

const device = (i: InterfaceStatus): string => (i.kind === 'tap' ? `${i.tapName ?? '?'}@${i.bridgeName ?? '?'}` : i.pciAddress ?? '-');

/** `netlet status`: one row per interface (or per pod without interfaces). */
export function statusTable(pods: PodStatus[], s: Style): string {
  if (pods.length === 0) return 'no pods\n';
  const rows: string[][] = [];
  for (const p of [...pods].sort((a, b) => a.podId.localeCompare(b.podId))) {
    const phase = stateColour(s, p.phase);
    if (p.interfaces.length === 0) rows.push([p.podId, phase, '-', '-', '-', '-', '-', '-']);
    p.interfaces.forEach((i, n) => {
      rows.push([
        n === 0 ? p.podId : '', n === 0 ? phase : '', i.name, i.kind, stateColour(s, i.state),
        i.ips?.length ? i.ips.join(',') : '-', device(i), dhcpSummary(i),
      ]);
    });
  }
  return table(['POD', 'PHASE', 'IFACE', 'KIND', 'STATE', 'ADDRESSES', 'DEVICE', 'DHCP'], rows, s);
}

const when = (ms: number | undefined): string => (ms === undefined ? '-' : new Date(ms).toISOString());

const OUTCOME = { done: 'green', rolledBack: 'yellow', incomplete: 'red' } as const;

/** The pod's last hot-plug: `attach eth1: done`, with the error of one that failed. */
function lastChange(c: NonNullable<PodStatus['lastChange']>, s: Style): string {
  return `${c.op} ${c.interface}: ${paint(s, OUTCOME[c.outcome], c.outcome)}${c.error ? ` (${c.error})` : ''}`;
}

/** `netlet inspect POD`: everything the status says, one field a line. */
export function podDetails(p: PodStatus, s: Style): string {
  const lines = [`${paint(s, 'bold', 'pod')}    ${p.podId}`, `${paint(s, 'bold', 'phase')}  ${stateColour(s, p.phase)}`];
  if (p.error) lines.push(`${paint(s, 'bold', 'error')}  ${paint(s, 'red', p.error)}`);
  if (p.lastChange) lines.push(`${paint(s, 'bold', 'change')} ${lastChange(p.lastChange, s)}`);
  for (const i of p.interfaces) {
    lines.push('', `${paint(s, 'bold', i.name)} (${i.kind})  ${stateColour(s, i.state)}`);
    const field = (k: string, v: string): void => void lines.push(`  ${k.padEnd(11)}${v}`);
    if (i.attachedAt) field('attached', i.attachedAt);
    if (i.mac) field('mac', i.mac);
    if (i.ips?.length) field('addresses', i.ips.join(', '));
    if (i.kind === 'tap') field('tap', `${i.tapName ?? '?'} on bridge ${i.bridgeName ?? '?'}`);
    if (i.pciAddress) field('pci', i.pciAddress);
    if (i.dhcp) {
      const { lease, counters: c, conflicts } = i.dhcp;
      field('lease', `${lease.address} ${lease.bound ? 'bound' : lease.state}${lease.expiresAt ? `, expires ${when(lease.expiresAt)}` : ''}${lease.lastSeen ? `, client last seen ${when(lease.lastSeen)}` : ''}`);
      field('dhcp', `received ${c.received}: offered ${c.offered}, acked ${c.acked}, naked ${c.naked}, informed ${c.informed}, released ${c.released}, declined ${c.declined}, ignored ${c.ignored}, malformed ${c.malformed}, ratelimited ${c.ratelimited}`);
      if (i.dhcp.trimmed.replies) field('trimmed', `${i.dhcp.trimmed.replies} replies too large for the client, ${i.dhcp.trimmed.options} options dropped`);
      for (const k of conflicts) field('conflict', `${k.address} declined at ${when(k.at)}${k.message ? `: ${k.message}` : ''}`);
    } else if (i.kind === 'tap' && i.ips?.some((a) => a.includes('.'))) {
      field('dhcp', 'no DHCP message seen yet');
    }
    if (i.ipv6) {
      const { dhcp6: d, ra } = i.ipv6;
      const c = d.counters;
      field('lease6', `${d.lease.addresses.join(', ')} ${d.lease.bound ? 'bound' : d.lease.state}${d.lease.expiresAt ? `, expires ${when(d.lease.expiresAt)}` : ''}${d.lease.clientDuid ? `, client ${d.lease.clientDuid}` : ''}`);
      field('dhcpv6', `received ${c.received}: advertised ${c.advertised}, bound ${c.bound}, renewed ${c.renewed}, confirmed ${c.confirmed}, informed ${c.informed}, released ${c.released}, declined ${c.declined}, notOnLink ${c.notOnLink}, useMulticast ${c.useMulticast}, ignored ${c.ignored}, malformed ${c.malformed}, ratelimited ${c.ratelimited}`);
      field('ra', `sent ${ra.sent}${ra.lastSentAt ? ` (last ${when(ra.lastSentAt)})` : ''}, RS ${ra.solicitations}: answered ${ra.solicited}, malformed ${ra.malformed}, ratelimited ${ra.ratelimited}; router lifetime ${ra.routerLifetime}s, prefixes ${ra.prefixes.join(' ') || '-'}, routes ${ra.routes.join(' ') || '-'}, dns ${ra.rdnss.join(' ') || '-'}${ra.mtu ? `, mtu ${ra.mtu}` : ''}${ra.dropped ? `, dropped ${ra.dropped.join(' ')}` : ''}`);
      for (const k of d.conflicts) field('conflict6', `${k.address} declined at ${when(k.at)} by ${k.clientDuid}`);
    }
    if (i.antiSpoofing) field('antispoof', antiSpoofSummary(i.antiSpoofing));
    if (i.error) field('error', paint(s, 'red', i.error));
    if (i.lastError) field('last error', `${i.lastError.code}: ${i.lastError.message} (${i.lastError.at})`);
  }
  return `${lines.join('\n')}\n`;
}

/** `netlet events POD`: one transition a line, oldest first. */
export function eventLines(events: PodEventRecord[], s: Style): string {
  if (events.length === 0) return 'no events\n';
  const rows = events.map((e) => [paint(s, 'dim', e.at), e.machine === 'pod' ? 'pod' : e.interface ?? '?', `${e.from} -> ${stateColour(s, e.to)}`]);
  return table(['TIME', 'MACHINE', 'TRANSITION'], rows, s);
}
