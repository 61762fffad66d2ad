// Fitting an OFFER/ACK into what the client can take. RFC 2131 §2: every client takes a
// 576-octet IP datagram; RFC 2132 §9.10: option 57 may allow more (never less). When the
// options do not fit, whole options are dropped, least essential first (docs/dhcp.md).
import { serializedLength } from './codec.js';
import { decodeU16, Opt } from './options.js';
import type { DhcpMessage } from './codec.js';

/** The datagram every client must accept (RFC 2131 §2), and the floor for option 57. */
export const MIN_DATAGRAM = 576;
/** IPv4 header (no options) + UDP header. */
export const IP_UDP_HEADERS = 28;

/** Never dropped: without them the reply is no usable lease (53 and 54 frame the
 *  exchange, 51 the lease, 1 and 3 the address's subnet and the default route). */
export const NEVER_DROPPED: readonly number[] = [Opt.MessageType, Opt.ServerId, Opt.LeaseTime, Opt.SubnetMask, Opt.Router];

/**
 * Dropped in this order, least essential first. Any other option (none today) goes
 * before all of these. 249 duplicates 121; search, domain and hostname are
 * conveniences cloud-init carries too; broadcast follows from the mask; T1/T2 default
 * to 0.5/0.875 of the lease (RFC 2131 §4.4.5); a wrong MTU, no DNS and lost routes
 * break traffic, so they go last, 121 last of all (its default route moves to 3).
 */
export const DROP_ORDER: readonly number[] = [
  Opt.MsClasslessRoutes, Opt.DomainSearch, Opt.DomainName, Opt.Hostname, Opt.BroadcastAddress,
  Opt.RebindingTime, Opt.RenewalTime, Opt.InterfaceMtu, Opt.DnsServers, Opt.ClasslessRoutes,
];

/**
 * The largest DHCP message (UDP payload) the client takes. Option 57 is read as the IP
 * datagram size, as busybox udhcpc sends it; for a client that means the DHCP message
 * this costs 28 octets and is never too much. Absent, malformed or below 576: 576.
 */
export function maxMessageSize(request: DhcpMessage): number {
  const raw = request.options.get(Opt.MaxMessageSize);
  const asked = raw ? decodeU16(raw) ?? 0 : 0;
  return Math.max(MIN_DATAGRAM, asked) - IP_UDP_HEADERS;
}

export interface Fitted {
  options: Map<number, Uint8Array>;
  /** Codes dropped, in the order they were dropped; empty when everything fit. */
  dropped: number[];
  /** serialize() length of the result. */
  size: number;
}

/**
 * Drops options in priority order until the message is at most `limit` octets. When 121
 * goes, `router` (option 3's value) takes its place: RFC 3442 clients ignored 3 while
 * 121 was there, so the default route must come back through 3.
 */
export function fitOptions(options: ReadonlyMap<number, Uint8Array>, limit: number, router?: Uint8Array): Fitted {
  let out = new Map(options);
  const dropped: number[] = [];
  const unlisted = [...out.keys()].filter((c) => !NEVER_DROPPED.includes(c) && !DROP_ORDER.includes(c)).reverse();
  for (const code of [...unlisted, ...DROP_ORDER]) {
    if (serializedLength(out) <= limit) break;
    if (!out.has(code)) continue;
    if (code === Opt.ClasslessRoutes && router && !out.has(Opt.Router)) {
      out = new Map([...out].map(([c, v]): [number, Uint8Array] => (c === code ? [Opt.Router, router] : [c, v])));
    } else {
      out.delete(code);
    }
    dropped.push(code);
  }
  return { options: out, dropped, size: serializedLength(out) };
}
