// What `ip` shows of a netns, normalised so two snapshots compare: links (name, MAC, MTU,
// master, flags), addresses, routes of every table of both families in the kernel's order
// (the order of routes to one destination is the order they are used), policy rules;
// DAD and lifetime noise removed.
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
  out.sort();
  const ipText = (...args: string[]): string[] =>
    execFileSync('ip', ['-n', ns, ...args], { encoding: 'utf8' }).split('\n').map((l) => l.trim().replace(/ expires \d+sec/, '')).filter(Boolean);
  for (const fam of ['-4', '-6']) {
    out.push(...ipText(fam, 'route', 'show', 'table', 'all').map((r) => `route ${fam} ${r}`));
    out.push(...ipText(fam, 'rule').map((r) => `rule ${fam} ${r}`));
  }
  return out;
}

/** Lines only in a, prefixed "-", and only in b, prefixed "+"; "~" when only the order differs. */
export function snapshotDiff(a: string[], b: string[]): string[] {
  const sa = new Set(a);
  const sb = new Set(b);
  const diff = [...a.filter((x) => !sb.has(x)).map((x) => `- ${x}`), ...b.filter((x) => !sa.has(x)).map((x) => `+ ${x}`)];
  if (diff.length === 0 && a.some((x, i) => x !== b[i])) diff.push('~ the same lines in another order (routes to one destination are used in order)');
  return diff;
}
