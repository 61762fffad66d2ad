// What a user sees of a pod netns, as the tests compare it before setup and after
// teardown: every link (name, kind, MAC, MTU, master, flags), every address of both
// families (with its flags, not its remaining lifetime), every route of every table of
// both families in the kernel's order (the order of routes to one destination is the
// order the kernel uses them), the policy rules of both families, the nft ruleset, and
// the forwarding sysctls.
import assert from 'node:assert/strict';
import { isDeepStrictEqual } from 'node:util';
import type { Netns } from './netns.js';

export interface NetnsView {
  links: string[];
  addresses: string[];
  routes4: string[];
  routes6: string[];
  rules4: string[];
  rules6: string[];
  nft: string;
  /** Forwarding switches netlet may touch (IPv6 for a VM), as the netns sees them. */
  sysctls: string[];
}

const DROP_ADDR = new Set(['tentative', 'valid_life_time', 'preferred_life_time']);
const lines = (s: string): string[] => s.split('\n').map((l) => l.trimEnd()).filter(Boolean);
// Routes from router advertisements count down their lifetime: keep the route, not the count.
const noExpiry = (l: string): string => l.replace(/ expires \d+sec/, '');

/** The view right now (see settledNetnsView for one after IPv6 duplicate address detection and linkwatch). */
export function netnsView(ns: Netns): NetnsView {
  const links = ns.json('link').map((l: any) => {
    const master = l.master ? ` master ${l.master}` : '';
    return `${l.ifname} ${l.link_type} ${l.address ?? ''} mtu ${l.mtu}${master} <${(l.flags as string[]).join(',')}>`;
  });
  const addresses = ns.json('addr').flatMap((l: any) =>
    (l.addr_info as Record<string, unknown>[]).map((a) =>
      `${l.ifname} ${JSON.stringify(Object.fromEntries(Object.entries(a).filter(([k]) => !DROP_ADDR.has(k))))}`));
  return {
    links,
    addresses,
    routes4: lines(ns.ip('-4', 'route', 'show', 'table', 'all')).map(noExpiry),
    // One multipath route spans several lines: each nexthop line follows its route.
    routes6: lines(ns.ip('-6', 'route', 'show', 'table', 'all')).map(noExpiry),
    rules4: lines(ns.ip('-4', 'rule')),
    rules6: lines(ns.ip('-6', 'rule')),
    nft: ns.exec('nft', ['list', 'ruleset']),
    sysctls: lines(ns.exec('sh', ['-c', 'grep -H . /proc/sys/net/ipv6/conf/*/forwarding /proc/sys/net/ipv4/ip_forward'])),
  };
}

/** Waits until no address is tentative (IPv6 DAD done: its local route exists only then). */
export async function settleDad(ns: Netns, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (ns.json('addr').some((l: any) => (l.addr_info as any[]).some((a) => a.tentative))) {
    if (Date.now() > deadline) throw new Error(`addresses in ${ns.name} still tentative after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
  // An address no longer tentative can still wait for its local route, which the kernel adds
  // from a work queue (seen: a bridge's link-local in the crash tests, for more than 2 s under
  // a loaded run): wait up to 10 s; one still missing then shows in the comparison.
  const missing = (): boolean => {
    const local = ns.ip('-6', 'route', 'show', 'table', 'local');
    return ns.json('-6', 'addr').some((l: any) => (l.addr_info as any[]).some((a) => !a.tentative && !a.dadfailed && !local.includes(`local ${a.local} dev ${l.ifname} `)));
  };
  for (let i = 0; i < 200 && missing(); i++) await new Promise((r) => setTimeout(r, 50));
}

/**
 * Waits until every link's operstate follows its carrier. The kernel's linkwatch applies a
 * carrier change up to a second late (e.g. a TAP whose last fd just closed still shows
 * neither NO-CARRIER nor LOWER_UP): only then do the flags say what they will stay.
 */
export async function settleLinks(ns: Netns, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  const pending = (): string[] => ns.json<{ ifname: string; flags: string[] }>('link')
    .filter((l) => l.flags.includes('UP') && l.flags.includes('LOWER_UP') === l.flags.includes('NO-CARRIER'))
    .map((l) => l.ifname);
  for (let p = pending(); p.length; p = pending()) {
    if (Date.now() > deadline) throw new Error(`links ${p.join(', ')} in ${ns.name}: operstate still not following the carrier after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function settledOnce(ns: Netns): Promise<NetnsView> {
  // Carrier first: a bridge gets its link-local only once linkwatch gives it carrier.
  await settleLinks(ns);
  await settleDad(ns);
  return netnsView(ns);
}

/**
 * The view once the kernel's late work is done. An address can still appear after the checks
 * (seen in a loaded run: a bridge's link-local listed, its local route not yet), so a view
 * counts once the next one, 100 ms later, is the same (up to 3 s; a change still going on
 * then shows in the comparison).
 */
export async function settledNetnsView(ns: Netns): Promise<NetnsView> {
  let view = await settledOnce(ns);
  for (let i = 0; i < 30; i++) {
    await new Promise((r) => setTimeout(r, 100));
    const next = await settledOnce(ns);
    if (isDeepStrictEqual(next, view)) return next;
    view = next;
  }
  return view;
}

/** Asserts the pod netns is as it was, after DAD settles. */
export async function assertNetnsRestored(ns: Netns, before: NetnsView, what: string): Promise<void> {
  assert.deepEqual(await settledNetnsView(ns), before, `${what}: the pod netns is as CNI left it`);
}
