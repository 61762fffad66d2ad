// What `ip -j` shows of a netns, normalised so two snapshots compare: addresses,
// routes and links (name, MAC, MTU, master, flags); DAD and lifetime noise removed.
import { execFileSync } from 'node:child_process';

type Json = Record<string, unknown>;

const ipj = (ns: string, ...args: string[]): Json[] =>
  JSON.parse(execFileSync('ip', ['-j', '-n', ns, ...args], { encoding: 'utf8' }) || '[]') as Json[];

export function netnsSnapshot(ns: string): string[] {
  const out: string[] = [];
  for (const l of ipj(ns, 'link')) {
    const flags = (l.flags as string[]).filter((f) => f !== 'LOWER_UP' && f !== 'NO-CARRIER').join(',');
    out.push(`link ${String(l.ifname)} mac ${String(l.address)} mtu ${String(l.mtu)} master ${String(l.master ?? '-')} ${flags}`);
  }
  for (const l of ipj(ns, 'addr')) {
    for (const a of l.addr_info as Json[]) out.push(`addr ${String(l.ifname)} ${String(a.local)}/${String(a.prefixlen)} brd ${String(a.broadcast ?? '-')} ${String(a.scope)}`);
  }
  for (const fam of ['-4', '-6']) {
    for (const r of JSON.parse(execFileSync('ip', ['-j', fam, '-n', ns, 'route', 'show', 'table', 'all'], { encoding: 'utf8' }) || '[]') as Json[]) {
      out.push(`route ${fam} ${String(r.type ?? 'unicast')} ${String(r.dst)} via ${String(r.gateway ?? '-')} dev ${String(r.dev)} ${String(r.scope ?? '')} ${String(r.protocol ?? '')} ${String(r.table ?? 'main')}`);
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
