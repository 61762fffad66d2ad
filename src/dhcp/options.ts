// DHCP option codes and the encoders/decoders for the options netlet reads or sends
// (RFC 2132, RFC 3397, RFC 3442). Decoders return undefined for a malformed value
// rather than throwing: option bytes come from the VM.
import { isIPv4 } from 'node:net';
import { ipv4Bytes, ipv4Network } from '../model/ip.js';
import { DhcpEncodeError } from './errors.js';

export const Opt = {
  Pad: 0,
  SubnetMask: 1,
  Router: 3,
  DnsServers: 6,
  Hostname: 12,
  DomainName: 15,
  InterfaceMtu: 26,
  BroadcastAddress: 28,
  RequestedIp: 50,
  LeaseTime: 51,
  Overload: 52,
  MessageType: 53,
  ServerId: 54,
  ParameterRequestList: 55,
  Message: 56,
  MaxMessageSize: 57,
  RenewalTime: 58,
  RebindingTime: 59,
  ClientId: 61,
  DomainSearch: 119,
  ClasslessRoutes: 121,
  MsClasslessRoutes: 249,
  End: 255,
} as const;

export const MessageType = {
  Discover: 1,
  Offer: 2,
  Request: 3,
  Decline: 4,
  Ack: 5,
  Nak: 6,
  Release: 7,
  Inform: 8,
} as const;
export type MessageTypeValue = (typeof MessageType)[keyof typeof MessageType];

export const isMessageType = (n: number): n is MessageTypeValue => n >= 1 && n <= 8;

// --- scalars ---------------------------------------------------------------

function checkUint(value: number, bits: 8 | 16 | 32, what: string): void {
  if (!Number.isInteger(value) || value < 0 || value > 2 ** bits - 1) {
    throw new DhcpEncodeError(`${what} ${value} is not an unsigned ${bits}-bit integer`, { value });
  }
}

export function encodeU8(value: number): Uint8Array {
  checkUint(value, 8, 'value');
  return Uint8Array.of(value);
}

export function encodeU16(value: number): Uint8Array {
  checkUint(value, 16, 'value');
  return Uint8Array.of(value >>> 8, value & 255);
}

export function encodeU32(value: number): Uint8Array {
  checkUint(value, 32, 'value');
  return Uint8Array.of(value >>> 24, (value >>> 16) & 255, (value >>> 8) & 255, value & 255);
}

export const decodeU8 = (d: Uint8Array): number | undefined => (d.length === 1 ? d[0] : undefined);

export const decodeU16 = (d: Uint8Array): number | undefined =>
  d.length === 2 ? ((d[0] ?? 0) << 8) | (d[1] ?? 0) : undefined;

export const decodeU32 = (d: Uint8Array): number | undefined =>
  d.length === 4 ? (((d[0] ?? 0) << 24) | ((d[1] ?? 0) << 16) | ((d[2] ?? 0) << 8) | (d[3] ?? 0)) >>> 0 : undefined;

// --- addresses -------------------------------------------------------------

export function encodeIpv4(address: string): Uint8Array {
  if (!isIPv4(address)) throw new DhcpEncodeError(`"${address}" is not an IPv4 address`, { address });
  return Uint8Array.from(ipv4Bytes(address));
}

/**
 * Writes a dotted quad's four octets at `offset`; false, with nothing written, for
 * anything isIPv4 rejects (four decimals 0-255, no leading zeros). For serialize(), which
 * writes four addresses a reply: no regex, split or array.
 */
export function writeIpv4(address: string, into: Uint8Array, offset: number): boolean {
  if (typeof address !== 'string') return false; // as isIPv4, for a message built in plain JS
  const len = address.length;
  if (len < 7 || len > 15) return false;
  let packed = 0;
  let value = 0;
  let digits = 0;
  let octets = 0;
  for (let i = 0; i <= len; i++) {
    const c = i < len ? address.charCodeAt(i) : 0x2e; // a '.' after the last octet
    if (c === 0x2e) {
      if (digits === 0 || octets === 4) return false;
      packed = packed * 256 + value;
      octets++;
      value = 0;
      digits = 0;
    } else if (c >= 0x30 && c <= 0x39) {
      if (digits > 0 && value === 0) return false;
      value = value * 10 + (c - 0x30);
      if (++digits > 3 || value > 255) return false;
    } else {
      return false;
    }
  }
  if (octets !== 4) return false;
  into[offset] = packed >>> 24;
  into[offset + 1] = (packed >>> 16) & 255;
  into[offset + 2] = (packed >>> 8) & 255;
  into[offset + 3] = packed & 255;
  return true;
}

export const ipv4At = (d: Uint8Array, offset: number): string =>
  `${d[offset] ?? 0}.${d[offset + 1] ?? 0}.${d[offset + 2] ?? 0}.${d[offset + 3] ?? 0}`;

export const decodeIpv4 = (d: Uint8Array): string | undefined => (d.length === 4 ? ipv4At(d, 0) : undefined);

export function encodeIpv4List(addresses: readonly string[]): Uint8Array {
  if (addresses.length === 0) throw new DhcpEncodeError('an address-list option needs at least one address');
  const out = new Uint8Array(addresses.length * 4);
  addresses.forEach((a, i) => out.set(encodeIpv4(a), i * 4));
  return out;
}

export function decodeIpv4List(d: Uint8Array): string[] | undefined {
  if (d.length === 0 || d.length % 4 !== 0) return undefined;
  const out: string[] = [];
  for (let i = 0; i < d.length; i += 4) out.push(ipv4At(d, i));
  return out;
}

// --- text ------------------------------------------------------------------

/** NVT ASCII text (hostname, domain name, message). */
export function encodeText(text: string): Uint8Array {
  if (text.length === 0 || !/^[\x20-\x7e]*$/.test(text)) {
    throw new DhcpEncodeError(`"${text}" is not non-empty printable ASCII`, { text });
  }
  return Uint8Array.from(text, (c) => c.charCodeAt(0));
}

/** Octets as latin1 characters (one char per octet; no argument-count limits). */
export const latin1 = (d: Uint8Array): string => Buffer.from(d.buffer, d.byteOffset, d.length).toString('latin1');

/** Text up to the first NUL (some clients NUL-terminate). */
export function decodeText(d: Uint8Array): string {
  const nul = d.indexOf(0);
  return latin1(nul >= 0 ? d.subarray(0, nul) : d);
}

// --- lists -------------------------------------------------------------------

export const decodeParameterList = (d: Uint8Array): number[] => Array.from(d);

/** Option 61: a type byte then the id (type 1 = Ethernet MAC). */
export const decodeClientId = (d: Uint8Array): { type: number; id: Uint8Array } | undefined =>
  d.length >= 2 ? { type: d[0] ?? 0, id: d.slice(1) } : undefined;

// --- RFC 3397 domain search ---------------------------------------------------

const labelsOf = (name: string): string[] => {
  const trimmed = name.endsWith('.') ? name.slice(0, -1) : name;
  return trimmed.split('.');
};

/**
 * A label's octets as text when the encoders could write them back the same: printable ASCII
 * without the dot (a dot inside a label would come back as two labels, a trailing one as
 * the root). undefined otherwise: the decoders refuse such a name rather than change it.
 */
export function labelText(d: Uint8Array): string | undefined {
  for (const b of d) if (b < 0x21 || b > 0x7e || b === 0x2e) return undefined;
  return latin1(d);
}

/** True when name can be written as DNS labels: 1-63 octet LDH-ish labels, 255 octets in all. */
export function isEncodableDomainName(name: string): boolean {
  if (!/^[\x21-\x7e]+$/.test(name) || name === '.') return false;
  const labels = labelsOf(name);
  const wire = labels.reduce((n, l) => n + l.length + 1, 1);
  return wire <= 255 && labels.every((l) => l.length >= 1 && l.length <= 63);
}

/**
 * Option 119: each name as DNS labels ending with the zero root label, with a
 * compression pointer (RFC 1035 4.1.4) where a suffix was already written.
 */
export function encodeDomainSearch(names: readonly string[]): Uint8Array {
  const out: number[] = [];
  const suffixAt = new Map<string, number>();
  for (const name of names) {
    if (!isEncodableDomainName(name)) throw new DhcpEncodeError(`"${name}" is not a valid domain name`, { name });
    const labels = labelsOf(name);
    let pointer: number | undefined;
    for (let i = 0; i < labels.length; i++) {
      const suffix = labels.slice(i).join('.').toLowerCase();
      pointer = suffixAt.get(suffix);
      if (pointer !== undefined) break;
      if (out.length < 0x4000) suffixAt.set(suffix, out.length);
      const label = labels[i] ?? '';
      out.push(label.length, ...Array.from(label, (c) => c.charCodeAt(0)));
    }
    if (pointer === undefined) out.push(0);
    else out.push(0xc0 | (pointer >> 8), pointer & 255);
  }
  return Uint8Array.from(out);
}

/** Decodes option 119 (already concatenated per RFC 3396). Pointers must point backwards; labels as labelText takes them. */
export function decodeDomainSearch(d: Uint8Array): string[] | undefined {
  const names: string[] = [];
  let pos = 0;
  while (pos < d.length) {
    const labels: string[] = [];
    let cursor = pos;
    let resumeAt: number | undefined;
    // Each jump must land before the last one (the first before this name's start): a
    // jump merely behind the pointer can read forward onto the same pointer and loop.
    let floor = pos;
    for (;;) {
      const len = d[cursor];
      if (len === undefined) return undefined;
      if (len === 0) { cursor += 1; break; }
      if ((len & 0xc0) === 0xc0) {
        const low = d[cursor + 1];
        if (low === undefined) return undefined;
        const target = ((len & 0x3f) << 8) | low;
        if (target >= floor) return undefined;
        floor = target;
        resumeAt ??= cursor + 2;
        cursor = target;
        continue;
      }
      if (len > 63 || cursor + 1 + len > d.length) return undefined;
      const label = labelText(d.subarray(cursor + 1, cursor + 1 + len));
      if (label === undefined) return undefined;
      labels.push(label);
      cursor += 1 + len;
    }
    const name = labels.join('.');
    // No root-only name, none over 255 octets: what the encoder would refuse.
    if (labels.length === 0 || !isEncodableDomainName(name)) return undefined;
    names.push(name);
    pos = resumeAt ?? cursor;
  }
  return names;
}

// --- RFC 3442 classless static routes ----------------------------------------

export interface ClasslessRoute {
  /** Destination network address, e.g. "10.17.0.0". Host bits are cleared on encode. */
  destination: string;
  prefixLength: number;
  /** Next hop; "0.0.0.0" for an on-link route. */
  router: string;
}

/** Compact destination: the prefix length, then only the significant octets of the network. */
export function encodeDestination(destination: string, prefixLength: number): Uint8Array {
  if (!Number.isInteger(prefixLength) || prefixLength < 0 || prefixLength > 32) {
    throw new DhcpEncodeError(`prefix length ${prefixLength} is not 0-32`, { prefixLength });
  }
  encodeIpv4(destination); // validates
  const network = encodeIpv4(ipv4Network(destination, prefixLength));
  return Uint8Array.of(prefixLength, ...network.subarray(0, Math.ceil(prefixLength / 8)));
}

/** Options 121 and 249 share this encoding. */
export function encodeClasslessRoutes(routes: readonly ClasslessRoute[]): Uint8Array {
  const parts = routes.flatMap((r) => [...encodeDestination(r.destination, r.prefixLength), ...encodeIpv4(r.router)]);
  return Uint8Array.from(parts);
}

export function decodeClasslessRoutes(d: Uint8Array): ClasslessRoute[] | undefined {
  if (d.length === 0) return undefined;
  const routes: ClasslessRoute[] = [];
  let pos = 0;
  while (pos < d.length) {
    const prefixLength = d[pos] ?? 0;
    if (prefixLength > 32) return undefined;
    const significant = Math.ceil(prefixLength / 8);
    if (pos + 1 + significant + 4 > d.length) return undefined;
    const dest = [0, 0, 0, 0];
    for (let i = 0; i < significant; i++) dest[i] = d[pos + 1 + i] ?? 0;
    const destination = ipv4Network(dest.join('.'), prefixLength);
    routes.push({ destination, prefixLength, router: ipv4At(d, pos + 1 + significant) });
    pos += 1 + significant + 4;
  }
  return routes;
}
