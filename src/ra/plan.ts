// What netlet advertises to the VM, from the interface's plan (docs/ipv6.md):
// - M and O set, A=0 on every prefix: addresses and DNS come from DHCPv6 (the CNI's
//   addresses only, never SLAAC ones the CNI did not assign);
// - router lifetime > 0 only when the plan has an IPv6 default route;
// - a Prefix Information option with L=1 for each prefix that is on-link in the pod: the
//   prefix of each global address shorter than /128 (a /64 from the bridge plugin), and
//   each on-link (gateway-less) non-default route; a /128 address (Calico) gives none;
// - a Route Information option for each other non-default route with a gateway: via us;
// - MTU, RDNSS and DNSSL from the same plan as DHCPv4/DHCPv6.
import { isDefaultRoute, parseCidr } from '../model/ip.js';
import { canonicalIpv6, ipv6Dns, ipv6Network, ipv6Scope } from '../model/ipv6.js';
import type { Dns, InterfacePlan } from '../model/plan.js';
import { encodeRouterAdvertisement, MAX_ROUTER_LIFETIME, type RouterAdvertisement } from './advert.js';
import { NdEncodeError, RaConfigError } from './errors.js';
import type { PrefixInfo, RouteInfo } from './options.js';

/** RFC 4861 section 6.2.1 default MaxRtrAdvInterval. */
export const DEFAULT_MAX_INTERVAL_SECONDS = 600;
/** 3 x MaxRtrAdvInterval: router lifetime (RFC 4861 6.2.1) and RIO/RDNSS/DNSSL lifetime (RFC 8106 5.1). */
export const DEFAULT_LIFETIME_SECONDS = 3 * DEFAULT_MAX_INTERVAL_SECONDS;
/** On-link prefixes live as long as the DHCPv6 address in them (src/dhcp6/config.ts). */
export const DEFAULT_PREFIX_LIFETIME_SECONDS = 86400;
/** RFC 4861 section 6.2.1 default AdvCurHopLimit (the IANA default TTL). */
export const CUR_HOP_LIMIT = 64;
/** An RA is at most the IPv6 minimum MTU less the IPv6 header: it never needs fragments. */
export const MAX_RA_SIZE = 1280 - 40;

export interface RaPlanOptions {
  /** The bridge's fixed MAC: the RA's source link-layer address. */
  bridgeMac: string;
  /** Overrides the plan's MTU. */
  mtu?: number;
  routerLifetime?: number;
  /** RIO, RDNSS and DNSSL lifetime. */
  lifetime?: number;
  prefixLifetime?: number;
}

export interface RaPlan {
  advertisement: RouterAdvertisement;
  /** Set when options were left out to fit MAX_RA_SIZE, in the order they went. */
  dropped?: string[];
}

const routable = (address: string): boolean => ipv6Scope(address) === 'global';

/** Builds the RA for one interface; throws RaConfigError for values that cannot be advertised. */
export function raFromPlan(iface: InterfacePlan, podDns: Dns | undefined, opts: RaPlanOptions): RaPlan {
  const lifetime = opts.lifetime ?? DEFAULT_LIFETIME_SECONDS;
  const prefixLifetime = opts.prefixLifetime ?? DEFAULT_PREFIX_LIFETIME_SECONDS;
  const routes6 = iface.routes.filter((r) => r.family === 6);
  const hasDefault = routes6.some((r) => isDefaultRoute(r.dst));
  const routerLifetime = hasDefault ? opts.routerLifetime ?? DEFAULT_LIFETIME_SECONDS : 0;
  if (!Number.isInteger(routerLifetime) || routerLifetime < 0 || routerLifetime > MAX_ROUTER_LIFETIME) {
    throw new RaConfigError(`router lifetime ${routerLifetime} is not 0-${MAX_ROUTER_LIFETIME}`, { field: 'routerLifetime', value: routerLifetime });
  }
  const mtu = opts.mtu ?? iface.mtu;
  if (mtu !== undefined && (!Number.isInteger(mtu) || mtu < 1280 || mtu > 0xffffffff)) {
    throw new RaConfigError(`MTU ${mtu} is under the IPv6 minimum of 1280`, { field: 'mtu', value: mtu });
  }

  const prefixes: PrefixInfo[] = [];
  const addPrefix = (address: string, prefixLength: number): void => {
    const prefix = ipv6Network(address, prefixLength);
    if (prefixes.some((p) => p.prefix === prefix && p.prefixLength === prefixLength)) return;
    prefixes.push({ prefix, prefixLength, onLink: true, autonomous: false, validLifetime: prefixLifetime, preferredLifetime: prefixLifetime });
  };
  for (const ip of iface.ips) {
    if (ip.family === 6 && routable(ip.address) && ip.prefixLength >= 1 && ip.prefixLength < 128) addPrefix(ip.address, ip.prefixLength);
  }
  const routes: RouteInfo[] = [];
  for (const r of routes6) {
    const cidr = parseCidr(r.dst);
    if (!cidr || cidr.family !== 6 || isDefaultRoute(r.dst) || cidr.prefixLength === 0) continue;
    // Link-local and multicast destinations are the VM's own link already.
    if (!routable(cidr.address) && ipv6Scope(cidr.address) !== 'unspecified') continue;
    if (r.gateway === undefined) { addPrefix(cidr.address, cidr.prefixLength); continue; }
    const prefix = ipv6Network(cidr.address, cidr.prefixLength);
    if (!routes.some((x) => x.prefix === prefix && x.prefixLength === cidr.prefixLength)) {
      routes.push({ prefix, prefixLength: cidr.prefixLength, preference: 'medium', lifetime });
    }
  }
  const dns = ipv6Dns(podDns ?? iface.dns);
  const advertisement: RouterAdvertisement = {
    curHopLimit: CUR_HOP_LIMIT,
    managed: true,
    other: true,
    preference: 'medium',
    routerLifetime,
    reachableTime: 0,
    retransTimer: 0,
    sourceLinkLayer: opts.bridgeMac,
    ...(mtu !== undefined ? { mtu } : {}),
    prefixes,
    routes,
    rdnss: dns.nameservers.length > 0 ? [{ lifetime, servers: dns.nameservers.map((n) => canonicalIpv6(n)!) }] : [],
    dnssl: dns.search.length > 0 ? [{ lifetime, domains: dns.search }] : [],
  };
  return fitRa(advertisement);
}

/** The encoded RA, with RaConfigError for a value the encoder refuses. */
export function encodePlanned(ra: RouterAdvertisement): Uint8Array {
  try {
    return encodeRouterAdvertisement(ra);
  } catch (e) {
    if (e instanceof NdEncodeError) throw new RaConfigError(`cannot advertise: ${e.message}`, e.details);
    throw e;
  }
}

/** Drops, until it fits MAX_RA_SIZE: DNSSL, then RIOs from the end, then RDNSS, then PIOs from the end. */
function fitRa(ra: RouterAdvertisement): RaPlan {
  const cur = { ...ra, prefixes: [...ra.prefixes], routes: [...ra.routes], rdnss: [...ra.rdnss], dnssl: [...ra.dnssl] };
  const dropped: string[] = [];
  const tooBig = (): boolean => encodePlanned(cur).length > MAX_RA_SIZE;
  while (tooBig()) {
    if (cur.dnssl.length > 0) { cur.dnssl.pop(); dropped.push('dnssl'); }
    else if (cur.routes.length > 0) { const r = cur.routes.pop()!; dropped.push(`rio ${r.prefix}/${r.prefixLength}`); }
    else if (cur.rdnss.length > 0) { cur.rdnss.pop(); dropped.push('rdnss'); }
    else if (cur.prefixes.length > 0) { const p = cur.prefixes.pop()!; dropped.push(`pio ${p.prefix}/${p.prefixLength}`); }
    else break;
  }
  return dropped.length > 0 ? { advertisement: cur, dropped } : { advertisement: cur };
}
