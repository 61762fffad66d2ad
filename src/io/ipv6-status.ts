// What an interface's IPv6 service reports: the DHCPv6 server's status and the RA sender's.
import type { Dhcp6ServerStatus } from '../dhcp6/index.js';

export interface RaStatus {
  /** RAs sent (initial, periodic and solicited), and sends that failed. */
  sent: number;
  sendErrors: number;
  /** Router Solicitations received, answered (coalesced into one RA per 3 s), refused as malformed, over the rate limit. */
  solicitations: number;
  solicited: number;
  malformed: number;
  ratelimited: number;
  lastSentAt?: number;
  /** The last malformed RS's reason (NdParseError), e.g. bad-hop-limit. */
  lastMalformed?: string;
  /** What the RA says: router lifetime, on-link prefixes, routes (RIO), DNS, MTU. */
  routerLifetime: number;
  prefixes: string[];
  routes: string[];
  rdnss: string[];
  mtu?: number;
  /** Options left out to fit 1240 octets. */
  dropped?: string[];
}

export interface Ipv6Status {
  dhcp6: Dhcp6ServerStatus;
  ra: RaStatus;
}
