// The option values one interface's config can offer, computed once per config.
import { intToIpv4, ipv4Network, ipv4ToInt, isDefaultRoute, parseCidr, prefixToMask } from '../model/ip.js';
import { DEFAULT_LEASE_SECONDS, INFINITE_LEASE, type DhcpServerConfig } from './config.js';
import {
  encodeClasslessRoutes, encodeDomainSearch, encodeIpv4, encodeIpv4List, encodeText, encodeU16, encodeU32, Opt,
  type ClasslessRoute,
} from './options.js';

export interface ServedRoutes {
  /** Option 3: the default router, if the interface has a default route via a gateway. */
  router?: string;
  /** Options 121/249, present when the plan has a route option 3 cannot express. Ends with the default route. */
  classless?: ClasslessRoute[];
}

/**
 * Classless routes are needed when there is any non-default IPv4 route (or an on-link
 * default). Clients that take 121 ignore option 3, so the default route goes inside
 * 121 too, last, after any on-link route its gateway may need.
 */
export function servedRoutes(c: DhcpServerConfig): ServedRoutes {
  const v4 = c.routes.filter((r) => r.family === 4);
  const def = v4.find((r) => isDefaultRoute(r.dst));
  const router = c.gateway ?? def?.gateway;
  const onLinkDefault = def !== undefined && router === undefined;
  const others = v4.filter((r) => !isDefaultRoute(r.dst));
  const result: ServedRoutes = router ? { router } : {};
  if (others.length === 0 && !onLinkDefault) return result;
  const classless: ClasslessRoute[] = [];
  for (const r of others) {
    const cidr = parseCidr(r.dst);
    if (!cidr) continue; // validateConfig rejects these; kept total for safety
    classless.push({
      destination: ipv4Network(cidr.address, cidr.prefixLength),
      prefixLength: cidr.prefixLength,
      router: r.gateway ?? '0.0.0.0',
    });
  }
  if (router || onLinkDefault) classless.push({ destination: '0.0.0.0', prefixLength: 0, router: router ?? '0.0.0.0' });
  return { ...result, classless };
}

/** The broadcast address, or undefined for /31 and /32 where there is none. */
export function broadcastOf(address: string, prefixLength: number): string | undefined {
  if (prefixLength > 30) return undefined;
  const mask = ipv4ToInt(prefixToMask(prefixLength));
  return intToIpv4((ipv4ToInt(address) | ~mask) >>> 0);
}

/** Parameter options (what option 55 can ask for) this config has a value for. */
export function parameterOptions(c: DhcpServerConfig): Map<number, Uint8Array> {
  const out = new Map<number, Uint8Array>();
  out.set(Opt.SubnetMask, encodeIpv4(prefixToMask(c.prefixLength)));
  const routes = servedRoutes(c);
  if (routes.router) out.set(Opt.Router, encodeIpv4(routes.router));
  if (c.dns.nameservers.length > 0) out.set(Opt.DnsServers, encodeIpv4List(c.dns.nameservers));
  if (c.hostname) out.set(Opt.Hostname, encodeText(c.hostname));
  if (c.dns.domain) out.set(Opt.DomainName, encodeText(c.dns.domain));
  if (c.mtu !== undefined) out.set(Opt.InterfaceMtu, encodeU16(c.mtu));
  const broadcast = broadcastOf(c.address, c.prefixLength);
  if (broadcast) out.set(Opt.BroadcastAddress, encodeIpv4(broadcast));
  if (c.dns.search.length > 0) out.set(Opt.DomainSearch, encodeDomainSearch(c.dns.search));
  if (routes.classless) {
    const encoded = encodeClasslessRoutes(routes.classless);
    out.set(Opt.ClasslessRoutes, encoded);
    out.set(Opt.MsClasslessRoutes, encoded);
  }
  return out;
}

/** Options 51, 58 (T1 = 0.5 lease) and 59 (T2 = 0.875 lease); an infinite lease has no T1/T2. */
export function leaseOptions(leaseSeconds = DEFAULT_LEASE_SECONDS): [number, Uint8Array][] {
  const out: [number, Uint8Array][] = [[Opt.LeaseTime, encodeU32(leaseSeconds)]];
  if (leaseSeconds === INFINITE_LEASE) return out;
  out.push([Opt.RenewalTime, encodeU32(Math.floor(leaseSeconds * 0.5))]);
  out.push([Opt.RebindingTime, encodeU32(Math.floor(leaseSeconds * 0.875))]);
  return out;
}

/** Sent when a client gives no option 55: the basics every client understands. */
export const DEFAULT_PARAMETERS: readonly number[] = [
  Opt.SubnetMask, Opt.Router, Opt.DnsServers, Opt.Hostname, Opt.DomainName, Opt.InterfaceMtu, Opt.BroadcastAddress,
];
