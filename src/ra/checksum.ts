// The ICMPv6 checksum (RFC 4443 section 2.3) over the IPv6 pseudo-header (RFC 8200
// section 8.1). netlet does not need it to send: on a raw ICMPv6 socket the kernel fills
// in and verifies the checksum itself (RFC 3542 section 3.1). It is here for tests and
// for frames written to pcaps or sent through packet sockets.
import { ipv6Bytes } from '../model/ip.js';

const ICMPV6 = 58;

/** The checksum of `message` (its checksum field, octets 2-3, taken as they are). */
export function icmpv6Checksum(source: string, destination: string, message: Uint8Array): number {
  let sum = 0;
  const add = (hi: number, lo: number): void => { sum += (hi << 8) | lo; };
  const s = ipv6Bytes(source);
  const d = ipv6Bytes(destination);
  for (let i = 0; i < 16; i += 2) { add(s[i] ?? 0, s[i + 1] ?? 0); add(d[i] ?? 0, d[i + 1] ?? 0); }
  const len = message.length;
  add((len >>> 24) & 255, (len >>> 16) & 255);
  add((len >>> 8) & 255, len & 255);
  add(0, ICMPV6);
  for (let i = 0; i < len; i += 2) add(message[i] ?? 0, message[i + 1] ?? 0);
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

/** A copy of `message` with its checksum filled in. */
export function withChecksum(source: string, destination: string, message: Uint8Array): Uint8Array {
  const out = message.slice();
  out[2] = 0; out[3] = 0;
  const c = icmpv6Checksum(source, destination, out);
  out[2] = c >>> 8; out[3] = c & 255;
  return out;
}

/** True when the checksum in `message` is right (the sum over everything is 0). */
export const checksumOk = (source: string, destination: string, message: Uint8Array): boolean =>
  icmpv6Checksum(source, destination, message) === 0;
