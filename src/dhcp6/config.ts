// The per-interface DHCPv6 server config, derived from the normalised plan, and its validation.
import type { Dns, InterfacePlan } from '../model/plan.js';
import { canonicalIpv6, ipv6Dns, ipv6Scope } from '../model/ipv6.js';
import { isEncodableDomainName } from './domain-names.js';
import { duidLl } from './duid.js';
import { Dhcp6ConfigError } from './errors.js';
import { INFINITY, MAX_DUID_LEN } from './options.js';

/** As for DHCPv4 (src/dhcp/config.ts DEFAULT_LEASE_SECONDS). */
export const DEFAULT_LIFETIME_SECONDS = 86400;
/** RFC 8415 section 7.6 IRT_DEFAULT. */
export const DEFAULT_INFORMATION_REFRESH_SECONDS = 86400;
/** One IA_NA carries them all; more than this on one interface is no real plan. */
export const MAX_ADDRESSES = 8;
export const MAX_NAMESERVERS = 16;

export interface Dhcp6Address {
  /** Canonical RFC 5952 form. */
  address: string;
  prefixLength: number;
}

export interface Dhcp6DnsConfig {
  /** Global IPv6 nameservers (option 23). */
  nameservers: string[];
  /** Search list (option 24). */
  search: string[];
}

export interface Dhcp6ServerConfig {
  /** Our DUID (SERVERID); see duid.ts. */
  serverDuid: Uint8Array;
  /** The interface's global IPv6 addresses, all given in one IA_NA. */
  addresses: Dhcp6Address[];
  dns: Dhcp6DnsConfig;
  preferredLifetime: number;
  validLifetime: number;
  /** Answer a Solicit carrying Rapid Commit with a committed Reply (RFC 8415 section 18.3.1). */
  rapidCommit: boolean;
  /** Option 32 in Replies to Information-request. */
  informationRefreshSeconds: number;
}

export interface Dhcp6ConfigOptions {
  /** The bridge's fixed MAC: the server DUID is DUID-LL of it. */
  bridgeMac: string;
  preferredLifetime?: number;
  validLifetime?: number;
  rapidCommit?: boolean;
  informationRefreshSeconds?: number;
}

/**
 * Builds the config for one interface. Addresses: every global IPv6 address of the
 * interface (link-local ones belong to the link, not to DHCP). DNS: the pod's DNS config
 * when given, else the interface's CNI DNS; only global IPv6 nameservers (a link-local one
 * would need a zone the VM cannot know); the search list, or the domain when there is no
 * list. Throws Dhcp6ConfigError when nothing can be served.
 */
export function dhcp6ConfigFromPlan(iface: InterfacePlan, podDns: Dns | undefined, opts: Dhcp6ConfigOptions): Dhcp6ServerConfig {
  const addresses: Dhcp6Address[] = [];
  for (const ip of iface.ips) {
    if (ip.family !== 6 || ipv6Scope(ip.address) !== 'global') continue;
    const address = canonicalIpv6(ip.address)!;
    if (!addresses.some((a) => a.address === address)) addresses.push({ address, prefixLength: ip.prefixLength });
  }
  if (addresses.length === 0) throw new Dhcp6ConfigError(`interface ${iface.name} has no global IPv6 address to serve by DHCPv6`, { iface: iface.name });
  const { nameservers, search } = ipv6Dns(podDns ?? iface.dns);
  const preferredLifetime = opts.preferredLifetime ?? opts.validLifetime ?? DEFAULT_LIFETIME_SECONDS;
  const config: Dhcp6ServerConfig = {
    serverDuid: duidLl(opts.bridgeMac),
    addresses,
    dns: { nameservers, search },
    preferredLifetime,
    validLifetime: opts.validLifetime ?? Math.max(preferredLifetime, DEFAULT_LIFETIME_SECONDS),
    rapidCommit: opts.rapidCommit ?? true,
    informationRefreshSeconds: opts.informationRefreshSeconds ?? DEFAULT_INFORMATION_REFRESH_SECONDS,
  };
  validateDhcp6Config(config);
  return config;
}

/** Throws Dhcp6ConfigError naming the first field that cannot be served. */
export function validateDhcp6Config(c: Dhcp6ServerConfig): void {
  const bad = (field: string, value: unknown, why: string): never => {
    throw new Dhcp6ConfigError(`DHCPv6 config ${field}=${JSON.stringify(value)}: ${why}`, { field, value });
  };
  const lifetime = (field: string, v: number): void => {
    if (!Number.isInteger(v) || v < 1 || v > INFINITY) bad(field, v, 'not 1-4294967295');
  };
  if (c.serverDuid.length < 3 || c.serverDuid.length > MAX_DUID_LEN) bad('serverDuid', c.serverDuid.length, `not 3-${MAX_DUID_LEN} octets`);
  if (c.addresses.length < 1 || c.addresses.length > MAX_ADDRESSES) bad('addresses', c.addresses.length, `not 1-${MAX_ADDRESSES} addresses`);
  for (const a of c.addresses) {
    if (ipv6Scope(a.address) !== 'global' || canonicalIpv6(a.address) !== a.address) bad('addresses', a.address, 'not a canonical global IPv6 address');
    if (!Number.isInteger(a.prefixLength) || a.prefixLength < 1 || a.prefixLength > 128) bad('addresses.prefixLength', a.prefixLength, 'not 1-128');
  }
  if (c.dns.nameservers.length > MAX_NAMESERVERS) bad('dns.nameservers', c.dns.nameservers.length, `more than ${MAX_NAMESERVERS}`);
  for (const n of c.dns.nameservers) if (ipv6Scope(n) !== 'global') bad('dns.nameservers', n, 'not a global IPv6 address');
  for (const s of c.dns.search) if (!isEncodableDomainName(s)) bad('dns.search', s, 'not a domain name');
  lifetime('preferredLifetime', c.preferredLifetime);
  lifetime('validLifetime', c.validLifetime);
  if (c.preferredLifetime > c.validLifetime) bad('preferredLifetime', c.preferredLifetime, 'over validLifetime (clients discard such an address)');
  lifetime('informationRefreshSeconds', c.informationRefreshSeconds);
  if (c.informationRefreshSeconds < 600) bad('informationRefreshSeconds', c.informationRefreshSeconds, 'under IRT_MINIMUM (600)');
}

/** RFC 8415 section 21.4: T1 = 0.5 and T2 = 0.8 of the shortest preferred lifetime; both infinite with it. */
export function renewalTimes(preferredLifetime: number): { t1: number; t2: number } {
  if (preferredLifetime === INFINITY) return { t1: INFINITY, t2: INFINITY };
  return { t1: Math.floor(preferredLifetime * 0.5), t2: Math.floor(preferredLifetime * 0.8) };
}
