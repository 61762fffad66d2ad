// IPv6 address classes and prefixes, for the DHCPv6 server and the RA builder. Pure.
import { isIPv6 } from 'node:net';
import { bytesToIp, ipv6Bytes } from './ip.js';

export type Ipv6Scope = 'unspecified' | 'loopback' | 'link-local' | 'multicast' | 'global';

/** Canonical RFC 5952 text of an IPv6 address (no zone), or undefined when it is not one. */
export const canonicalIpv6 = (a: string): string | undefined =>
  isIPv6(a) && !a.includes('%') ? bytesToIp(Uint8Array.from(ipv6Bytes(a))) : undefined;

/** Coarse scope: enough to tell what may be handed to a VM (ULAs count as global). */
export function ipv6Scope(a: string): Ipv6Scope | undefined {
  const c = canonicalIpv6(a);
  if (c === undefined) return undefined;
  const b = ipv6Bytes(c);
  if (c === '::') return 'unspecified';
  if (c === '::1') return 'loopback';
  if (b[0] === 0xff) return 'multicast';
  if (b[0] === 0xfe && ((b[1] ?? 0) & 0xc0) === 0x80) return 'link-local';
  return 'global';
}

/** Network address of address/prefixLength in canonical form, e.g. fd00::5/64 -> fd00::. */
export function ipv6Network(address: string, prefixLength: number): string {
  const b = ipv6Bytes(address);
  for (let i = 0; i < 16; i++) {
    const keep = Math.max(0, Math.min(8, prefixLength - i * 8));
    b[i] = (b[i] ?? 0) & ((0xff00 >> keep) & 0xff);
  }
  return bytesToIp(Uint8Array.from(b));
}

/** What IPv6 DNS a VM can use from a plan's Dns: global nameservers (a link-local one needs
 *  a zone the VM cannot know), deduplicated; the search list, or the domain without one. */
export function ipv6Dns(dns: { nameservers: string[]; search: string[]; domain?: string }): { nameservers: string[]; search: string[] } {
  const nameservers = [...new Set(dns.nameservers.filter((n) => ipv6Scope(n) === 'global').map((n) => canonicalIpv6(n)!))];
  const search = dns.search.length > 0 ? [...dns.search] : dns.domain ? [dns.domain] : [];
  return { nameservers, search };
}
