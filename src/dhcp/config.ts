// The per-interface DHCP server config, derived from the normalised plan, and its validation.
import { isIPv4 } from 'node:net';
import type { Dns, InterfacePlan, Route } from '../model/plan.js';
import { isDefaultRoute, normaliseMac, parseCidr } from '../model/ip.js';
import { DhcpConfigError } from './errors.js';
import { isEncodableDomainName } from './options.js';

export const DEFAULT_LEASE_SECONDS = 86400;
/** 0xffffffff means "infinite" (RFC 2131 3.3): no renewal times are sent with it. */
export const INFINITE_LEASE = 0xffffffff;

export interface DhcpDnsConfig {
  nameservers: string[];
  search: string[];
  domain?: string;
}

export interface DhcpServerConfig {
  /** The only client served, lowercase "aa:bb:cc:dd:ee:ff". */
  clientMac: string;
  address: string;
  prefixLength: number;
  /** Default router; when absent, a default route in `routes` (if any) gives it. */
  gateway?: string;
  /** Plan routes; non-IPv4 ones are ignored. A route without gateway is on-link. */
  routes: Route[];
  dns: DhcpDnsConfig;
  hostname?: string;
  mtu?: number;
  leaseSeconds?: number;
  /** Our address as the client sees it (option 54): the bridge's internal IPv4. */
  serverId: string;
}

export interface ConfigFromPlanOptions {
  serverId: string;
  hostname?: string;
  leaseSeconds?: number;
  /** Overrides the interface MTU from the plan. */
  mtu?: number;
}

/**
 * Builds the config for one interface. DNS: the pod's DNS config when given, else the
 * interface's CNI DNS; only IPv4 nameservers (option 6 carries nothing else), never a
 * made-up default. The gateway is the IPv4 default route's: an address gateway without
 * a default route does not route the pod either, so the VM gets none.
 */
export function configFromPlan(iface: InterfacePlan, podDns: Dns | undefined, opts: ConfigFromPlanOptions): DhcpServerConfig {
  const mac = iface.mac === undefined ? undefined : normaliseMac(iface.mac);
  if (!mac) throw new DhcpConfigError(`interface ${iface.name} has no usable MAC address`, { iface: iface.name, mac: iface.mac });
  const ip = iface.ips.find((i) => i.family === 4);
  if (!ip) throw new DhcpConfigError(`interface ${iface.name} has no IPv4 address to serve by DHCP`, { iface: iface.name });
  const routes = iface.routes.filter((r) => r.family === 4);
  const gateway = routes.find((r) => isDefaultRoute(r.dst) && r.gateway !== undefined)?.gateway;
  const dns = podDns ?? iface.dns;
  const config: DhcpServerConfig = {
    clientMac: mac,
    address: ip.address,
    prefixLength: ip.prefixLength,
    routes,
    dns: {
      nameservers: dns.nameservers.filter((n) => isIPv4(n)),
      search: [...dns.search],
      ...(dns.domain ? { domain: dns.domain } : {}),
    },
    leaseSeconds: opts.leaseSeconds ?? DEFAULT_LEASE_SECONDS,
    serverId: opts.serverId,
    ...(gateway ? { gateway } : {}),
    ...(opts.hostname ? { hostname: opts.hostname } : {}),
    ...((opts.mtu ?? iface.mtu) !== undefined ? { mtu: opts.mtu ?? iface.mtu } : {}),
  };
  validateConfig(config);
  return config;
}

const printable = (s: string): boolean => s.length >= 1 && s.length <= 255 && /^[\x20-\x7e]+$/.test(s);

/** Throws DhcpConfigError naming the first field that cannot be served. */
export function validateConfig(c: DhcpServerConfig): void {
  const bad = (field: string, value: unknown, why: string): never => {
    throw new DhcpConfigError(`DHCP config ${field}=${JSON.stringify(value)}: ${why}`, { field, value });
  };
  if (normaliseMac(c.clientMac) !== c.clientMac) bad('clientMac', c.clientMac, 'not a lowercase colon-separated MAC');
  if (!isIPv4(c.address)) bad('address', c.address, 'not an IPv4 address');
  if (!Number.isInteger(c.prefixLength) || c.prefixLength < 1 || c.prefixLength > 32) bad('prefixLength', c.prefixLength, 'not 1-32');
  if (!isIPv4(c.serverId)) bad('serverId', c.serverId, 'not an IPv4 address');
  if (c.gateway !== undefined && !isIPv4(c.gateway)) bad('gateway', c.gateway, 'not an IPv4 address');
  for (const r of c.routes) {
    if (r.family !== 4) continue;
    const cidr = parseCidr(r.dst);
    if (!cidr || cidr.family !== 4) bad('routes.dst', r.dst, 'not an IPv4 CIDR');
    if (r.gateway !== undefined && !isIPv4(r.gateway)) bad('routes.gateway', r.gateway, 'not an IPv4 address');
  }
  for (const n of c.dns.nameservers) if (!isIPv4(n)) bad('dns.nameservers', n, 'not an IPv4 address');
  for (const s of c.dns.search) if (!isEncodableDomainName(s)) bad('dns.search', s, 'not a domain name');
  if (c.dns.domain !== undefined && !printable(c.dns.domain)) bad('dns.domain', c.dns.domain, 'not printable ASCII of 1-255 characters');
  if (c.hostname !== undefined && !printable(c.hostname)) bad('hostname', c.hostname, 'not printable ASCII of 1-255 characters');
  if (c.mtu !== undefined && (!Number.isInteger(c.mtu) || c.mtu < 68 || c.mtu > 65535)) bad('mtu', c.mtu, 'not 68-65535');
  const lease = c.leaseSeconds ?? DEFAULT_LEASE_SECONDS;
  if (!Number.isInteger(lease) || lease < 1 || lease > INFINITE_LEASE) bad('leaseSeconds', lease, 'not 1-4294967295');
}
