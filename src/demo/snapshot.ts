// What `ip -j` shows of a netns, normalised so two snapshots compare: addresses,
// routes and links (name, MAC, MTU, master, flags); DAD and lifetime noise removed.
import { execFileSync } from 'node:child_process';

type Json = Record<string, unknown>;

/** A field as text: "-" when absent. */
const t = (v: unknown, absent = '-'): string =>
  v === undefined || v === null ? absent : typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean' ? String(v) : JSON.stringify(v);

const ipj = (ns: string, ...args: string[]): Json[] =>
  JSON.parse(execFileSync('ip', ['-j', '-n', ns, ...args], { encoding: 'utf8' }) || '[]') as Json[];

export function netnsSnapshot(ns: string): string[] {
  const out: string[] = [];
  for (const l of ipj(ns, 'link')) {
    const flags = (l.flags as string[]).filter((f) => f !== 'LOWER_UP' && f !== 'NO-CARRIER').join(',');
    out.push(`link ${t(l.ifname)} mac ${t(l.address)} mtu ${t(l.mtu)} master ${t(l.master, '-')} ${flags}`);
  }
  for (const l of ipj(ns, 'addr')) {
    for (const a of l.addr_info as Json[]) out.push(`addr ${t(l.ifname)} ${t(a.local)}/${t(a.prefixlen)} brd ${t(a.broadcast, '-')} ${t(a.scope)}`);
  }
  for (const fam of ['-4', '-6']) {
    for (const r of JSON.parse(execFileSync('ip', ['-j', fam, '-n', ns, 'route', 'show', 'table', 'all'], { encoding: 'utf8' }) || '[]') as Json[]) {
      out.push(`route ${fam} ${t(r.type, 'unicast')} ${t(r.dst)} via ${t(r.gateway, '-')} dev ${t(r.dev)} ${t(r.scope, '')} ${t(r.protocol, '')} ${t(r.table, 'main')}`);
    }
  }
  return out.sort();
}

/** Lines only in a, prefixed "-", and only in b, prefixed "+". */
export function snapshotDiff(a: string[], b: string[]): string[] {
  const sa = new Set(a);
  const sb = new Set(b);
  return [...a.filter((x) => !sb.has(x)).map((x) => `- ${x}`), ...b.filter((x) => !sa.has(x)).map((x) => `+ ${x}`)];
}
