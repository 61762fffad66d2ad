// An interface's layer-3 state as CNI left it (addresses of both families, routes in
// every table, which kernel routes existed, the order of routes it shares), taken away
// and put back exactly. The link-local IPv6 address stays: removing it and adding it back
// would put its routes behind other interfaces' and change their order.
import { ignoreErrno, isErrno } from '../model/errors.js';
import { ipv4Network, parseCidr } from '../model/ip.js';
import { ipv6Network } from '../model/ipv6.js';
import {
  RT_TABLE_MAIN, RTPROT_KERNEL, RTPROT_RA, routeDevs, routeId, routeOrder, routeOrderFor, routeUses,
  type KernelAddress, type KernelRoute, type LegacyRoute, type RouteOrder,
} from '../model/kernel-route.js';
import { addKernelRoute, delKernelRoute, dumpRoutes, reorderRoutes, type RouteDump } from './routes.js';
import type { LinkInfo, Rtnl } from './rtnl.js';

export interface IfaceState {
  addresses: KernelAddress[];
  routes: KernelRoute[];
  kernelRoutes: string[];
  order: RouteOrder;
}

const SCOPE_LINK = 253;
const isKernelMade = (r: KernelRoute): boolean => r.table === RT_TABLE_MAIN && r.protocol === RTPROT_KERNEL;
/** Routes with a next hop go after on-link ones: adding one needs its gateway reachable. */
const viaGateway = (r: KernelRoute): boolean => !!r.gateway || !!r.nexthops?.length;

/**
 * Takes what teardown needs of `link`; `links` is a dump just taken (the route dump reuses
 * it); `baseline` is the netns's route order before any interface was touched; `routes`, a
 * route dump taken with `links` (else one is taken now).
 */
export async function captureIface(rt: Rtnl, link: LinkInfo, links: LinkInfo[], baseline?: RouteOrder, routes?: RouteDump): Promise<IfaceState> {
  const ifName = link.name;
  const addrs = await rt.addresses(link.index);
  const flags = (f: string[]) => (f.length ? { flags: f } : {});
  const addresses: KernelAddress[] = [
    ...addrs.filter((a) => a.family === 4).map((a) => ({ address: `${a.address}/${a.prefixLength}`, broadcast: a.broadcast ?? 'none', ...flags(a.flags) })),
    // Autoconfigured (not permanent) addresses are the kernel's: they expire on their own.
    ...addrs.filter((a) => a.family === 6 && a.scope !== SCOPE_LINK && a.permanent).map((a) => ({ address: `${a.address}/${a.prefixLength}`, ...flags(a.flags) })),
  ];
  const dump = routes ?? (await dumpRoutes(rt, links));
  const mine = dump.routes.filter((r) => routeUses(r, ifName));
  return {
    addresses,
    routes: mine.filter((r) => !isKernelMade(r) && r.protocol !== RTPROT_RA),
    kernelRoutes: mine.filter(isKernelMade).map(routeId),
    order: routeOrderFor(baseline ?? routeOrder(dump.routes), ifName),
  };
}

/** Removes the captured routes and addresses; returns the link as it is now. */
export async function stripIface(rt: Rtnl, ifName: string, s: { addresses: KernelAddress[]; routes: (KernelRoute | LegacyRoute)[] }): Promise<LinkInfo> {
  const all = await rt.links();
  const l = rt.named(ifName, all);
  const links = indexByName(all);
  const routes = s.routes.map((r) => asKernelRoute(r, ifName));
  for (const r of [...routes.filter(viaGateway), ...routes.filter((r) => !viaGateway(r))]) await delKernelRoute(rt, r, links);
  for (const a of s.addresses) await ignoreErrno(rt.delAddress(l.index, a.address), 'EADDRNOTAVAIL');
  return l;
}

/**
 * Puts addresses and routes back, routes in their recorded order; serialised per netns.
 * `all` is a link dump the caller has just taken (links do not come or go during a restore).
 */
export async function restoreIface(rt: Rtnl, ifName: string, s: { addresses: KernelAddress[]; routes: (KernelRoute | LegacyRoute)[]; kernelRoutes?: string[]; order?: RouteOrder }, all?: LinkInfo[]): Promise<void> {
  await rt.exclusive(async () => {
    const dump = all ?? (await rt.links());
    const l = rt.named(ifName, dump);
    const links = indexByName(dump);
    const v4 = s.addresses.filter((a) => !a.address.includes(':'));
    // The kernel lists IPv6 addresses newest first: add them oldest first.
    const v6 = s.addresses.filter((a) => a.address.includes(':')).reverse();
    for (const a of [...v4, ...v6]) {
      await ignoreErrno(rt.addAddress(l.index, a.address, { ...(a.broadcast ? { broadcast: a.broadcast } : {}), ...(a.flags ? { flags: a.flags } : {}) }), 'EEXIST');
    }
    const routes = s.routes.map((r) => asKernelRoute(r, ifName));
    for (const r of [...routes.filter((r) => !viaGateway(r)), ...routes.filter(viaGateway)]) {
      try {
        await addKernelRoute(rt, r, links);
      } catch (e) {
        // A multipath route through an interface not restored yet: that one's restore adds it.
        const elsewhere = routeDevs(r).some((d) => d !== ifName);
        if (!(elsewhere && isErrno(e, 'ENETUNREACH', 'ENODEV', 'EINVAL'))) throw e;
      }
    }
    // Adding an address makes its prefix route: remove those CNI's plugins had removed (sbr).
    // Only then is the kernel asked (a dump waits for the rtnl lock behind other pods' work).
    if (s.kernelRoutes && prefixRouteIds(ifName, s.addresses).some((id) => !s.kernelRoutes!.includes(id))) {
      const had = new Set(s.kernelRoutes);
      const made = (await dumpRoutes(rt, dump)).routes.filter((r) => isKernelMade(r) && routeUses(r, ifName) && !had.has(routeId(r)));
      for (const r of made) await delKernelRoute(rt, r, links);
    }
    if (s.order) await reorderRoutes(rt, s.order, dump);
  });
}

const indexByName = (links: LinkInfo[]): Map<string, number> => new Map(links.map((x) => [x.name, x.index]));

/** The main-table routes the kernel makes for these addresses (what routeId calls them). */
function prefixRouteIds(dev: string, addresses: KernelAddress[]): string[] {
  return addresses.flatMap((a) => {
    const c = parseCidr(a.address);
    const full = c?.family === 4 ? 32 : 128;
    if (!c || c.prefixLength === full || a.flags?.includes('noprefixroute')) return [];
    const net = c.family === 4 ? ipv4Network(c.address, c.prefixLength) : ipv6Network(c.address, c.prefixLength);
    return [routeId({ family: c.family, table: RT_TABLE_MAIN, dst: `${net}/${c.prefixLength}`, type: 1, protocol: RTPROT_KERNEL, scope: 253, dev, ...(c.family === 6 ? { metric: 256 } : {}) })];
  });
}

/** Records before version 2 held main-table IPv4 routes in a shorter form. */
function asKernelRoute(r: KernelRoute | LegacyRoute, ifName: string): KernelRoute {
  if ('family' in r) return r;
  const k: KernelRoute = {
    family: 4, table: RT_TABLE_MAIN, dst: r.dst, type: 1, dev: ifName,
    protocol: r.protocol === 'static' ? 4 : 3,
    scope: r.scope === 'link' ? SCOPE_LINK : 0,
  };
  if (r.gateway) k.gateway = r.gateway;
  if (r.metric !== undefined) k.metric = r.metric;
  if (r.prefsrc) k.prefsrc = r.prefsrc;
  return k;
}
