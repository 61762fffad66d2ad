// The next hop for a VM's IPv6 (docs/ipv6.md): the pod netns routes for it. netlet's RA
// names the bridge's link-local as the VM's router; the pod forwards
// (net.ipv6.conf.all.forwarding=1) along the veth's IPv6 routes, moved to the bridge.
// The cluster's neighbour discovery for the VM's address crosses the bridge and the VM
// answers it, so traffic to the VM is bridged, not routed. The bridge and its routes go
// with unplumb; forwarding goes back to what the netns had before the pod's setup once
// the last netlet bridge is gone.
import { ignoreErrno } from '../model/errors.js';
import { ipv6Network, ipv6Scope } from '../model/ipv6.js';
import { familyOf } from '../model/ip.js';
import type { VethRecord, VethSettings } from '../machines/veth-contract.js';
import type { KernelRoute } from '../model/kernel-route.js';
import { addKernelRoute } from './routes.js';
import { native } from './native.js';
import type { Rtnl } from './rtnl.js';

export const FORWARDING = 'net/ipv6/conf/all/forwarding';
/** netlet's bridges (src/model/names.ts). */
const isNetletBridge = (l: { name: string; kind?: string }): boolean => l.kind === 'bridge' && l.name.startsWith('nb-');

/** The netns's IPv6 forwarding switch ("0" or "1"). */
export const readForwarding = (nsFd: number): string => native.sysctlIn(nsFd, FORWARDING);

/** The VM's global IPv6 addresses (none: the interface gets no IPv6 service). */
export const vmIpv6 = (s: VethSettings): string[] =>
  (s.vmAddresses ?? []).filter((a) => familyOf(a) === 6 && ipv6Scope(a) === 'global');

/**
 * Before the bridge comes up: no DAD on its link-local (a tentative address cannot source
 * the first RA; the bridge is netlet's and its MAC fixed) and no RAs taken by the pod.
 */
export function prepareBridge6(nsFd: number, bridge: string): void {
  native.sysctlIn(nsFd, `net/ipv6/conf/${bridge}/accept_dad`, '0');
  native.sysctlIn(nsFd, `net/ipv6/conf/${bridge}/accept_ra`, '0');
}

/**
 * Forwarding on; the on-link prefixes of the veth's addresses (a /128 as a host route) and
 * its IPv6 routes, every table, put on the bridge. Idempotent.
 */
export async function routeIpv6ViaBridge(rt: Rtnl, record: VethRecord, s: VethSettings): Promise<void> {
  const br = await rt.mustLink(s.bridge);
  native.sysctlIn(rt.netns.fd, FORWARDING, '1');
  const onLink = new Set<string>();
  for (const a of record.addresses) {
    const [addr, len] = a.address.split('/');
    if (!addr || familyOf(addr) !== 6) continue;
    onLink.add(`${ipv6Network(addr, Number(len))}/${len}`);
  }
  for (const addr of vmIpv6(s)) onLink.add(`${addr}/128`);
  for (const dst of onLink) await ignoreErrno(rt.addRoute({ dst, oif: br.index, scope: 'link', protocol: 'static' }), 'EEXIST');
  const links = new Map([[s.bridge, br.index]]);
  for (const r of record.routes) {
    if (!('family' in r) || r.family !== 6 || r.nexthops?.length || r.dev !== record.ifName) continue;
    const moved: KernelRoute = { ...r, dev: s.bridge };
    await addKernelRoute(rt, moved, links);
  }
}

/** Puts forwarding back as recorded once no netlet bridge is left in the netns (the last interface does it). */
export function restoreForwarding(rt: Rtnl, record: VethRecord, links: { name: string; kind?: string }[]): void {
  if (record.forwarding6 === undefined) return;
  if (links.some(isNetletBridge)) return;
  if (readForwarding(rt.netns.fd) !== record.forwarding6) native.sysctlIn(rt.netns.fd, FORWARDING, record.forwarding6);
}
