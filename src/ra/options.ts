// Neighbor Discovery options (RFC 4861 section 4.6, RFC 4191 section 2.3, RFC 8106
// section 5): framing, and the encoders/decoders of the options an RA carries. Lengths
// are in units of 8 octets and include the 2-octet type/length header.
import { isIPv6 } from 'node:net';
import { bytesToIp, bytesToMac, ipv6Bytes, macToBytes, normaliseMac } from '../model/ip.js';
import { ipv6Network } from '../model/ipv6.js';
import { decodeDomainNames, DomainNameError, encodeDomainNames } from '../dhcp6/domain-names.js';
import { NdEncodeError } from './errors.js';

export const NdOpt = {
  SourceLinkLayer: 1,
  TargetLinkLayer: 2,
  PrefixInformation: 3,
  RedirectedHeader: 4,
  Mtu: 5,
  RouteInformation: 24,
  Rdnss: 25,
  Dnssl: 31,
} as const;

export interface NdOption {
  type: number;
  /** The octets after type and length (length x 8 - 2 of them). */
  body: Uint8Array;
}

/** RFC 4191 section 2.1 preference; reserved (10) is read as medium (section 2.2). */
export type RouterPreference = 'high' | 'medium' | 'low';
const PRF_BITS: Record<RouterPreference, number> = { high: 0b01, medium: 0b00, low: 0b11 };
export const prfBits = (p: RouterPreference): number => PRF_BITS[p];
export const prfOf = (bits: number): RouterPreference | undefined =>
  bits === 0b01 ? 'high' : bits === 0b00 ? 'medium' : bits === 0b11 ? 'low' : undefined;

export interface PrefixInfo {
  /** Network address, canonical; host bits are cleared on encode. */
  prefix: string;
  prefixLength: number;
  /** L: the prefix is on-link. */
  onLink: boolean;
  /** A: hosts may form SLAAC addresses in it. */
  autonomous: boolean;
  validLifetime: number;
  preferredLifetime: number;
}

export interface RouteInfo {
  prefix: string;
  prefixLength: number;
  preference: RouterPreference;
  lifetime: number;
}

export interface Rdnss {
  lifetime: number;
  servers: string[];
}

export interface Dnssl {
  lifetime: number;
  domains: string[];
}

// --- framing ------------------------------------------------------------------

export type ReadNdOptions = { ok: true; options: NdOption[] } | { ok: false; reason: 'option-overrun' | 'zero-length-option'; at: number; type: number };

export function readNdOptions(d: Uint8Array): ReadNdOptions {
  const options: NdOption[] = [];
  let pos = 0;
  while (pos < d.length) {
    const type = d[pos] ?? 0;
    const len = d[pos + 1];
    if (len === undefined) return { ok: false, reason: 'option-overrun', at: pos, type };
    if (len === 0) return { ok: false, reason: 'zero-length-option', at: pos, type };
    if (pos + len * 8 > d.length) return { ok: false, reason: 'option-overrun', at: pos, type };
    options.push({ type, body: d.subarray(pos + 2, pos + len * 8) });
    pos += len * 8;
  }
  return { ok: true, options };
}

/** Type, length in 8-octet units, body zero-padded to a multiple of 8. */
export function frame(type: number, body: Uint8Array): Uint8Array {
  const units = Math.ceil((body.length + 2) / 8);
  if (units > 255) throw new NdEncodeError(`ND option ${type} of ${body.length + 2} octets exceeds 2040`, { type });
  const out = new Uint8Array(units * 8);
  out[0] = type; out[1] = units;
  out.set(body, 2);
  return out;
}

// --- values -------------------------------------------------------------------

const u32At = (b: Uint8Array, o: number): number => (((b[o] ?? 0) << 24) | ((b[o + 1] ?? 0) << 16) | ((b[o + 2] ?? 0) << 8) | (b[o + 3] ?? 0)) >>> 0;

function putU32(out: Uint8Array, at: number, v: number, what: string): void {
  if (!Number.isInteger(v) || v < 0 || v > 0xffffffff) throw new NdEncodeError(`${what} ${v} is not an unsigned 32-bit integer`, { value: v });
  out[at] = v >>> 24; out[at + 1] = (v >>> 16) & 255; out[at + 2] = (v >>> 8) & 255; out[at + 3] = v & 255;
}

function addressBytes(a: string): number[] {
  if (!isIPv6(a) || a.includes('%')) throw new NdEncodeError(`"${a}" is not an IPv6 address`, { address: a });
  return ipv6Bytes(a);
}

function checkPrefixLength(n: number): void {
  if (!Number.isInteger(n) || n < 0 || n > 128) throw new NdEncodeError(`prefix length ${n} is not 0-128`, { prefixLength: n });
}

export function encodeLinkLayer(type: number, mac: string): Uint8Array {
  const m = normaliseMac(mac);
  if (!m) throw new NdEncodeError(`"${mac}" is not a MAC address`, { mac });
  return frame(type, macToBytes(m));
}

/** A link-layer address option as "aa:bb:.." when it holds 6 octets (Ethernet); else undefined. */
export const decodeMac = (body: Uint8Array): string | undefined =>
  body.length === 6 ? bytesToMac(body) : undefined;

export function encodeMtu(mtu: number): Uint8Array {
  const body = new Uint8Array(6);
  putU32(body, 2, mtu, 'MTU');
  return frame(NdOpt.Mtu, body);
}

export const decodeMtu = (body: Uint8Array): number | undefined => (body.length === 6 ? u32At(body, 2) : undefined);

export function encodePrefixInfo(p: PrefixInfo): Uint8Array {
  checkPrefixLength(p.prefixLength);
  const body = new Uint8Array(30);
  body[0] = p.prefixLength;
  body[1] = (p.onLink ? 0x80 : 0) | (p.autonomous ? 0x40 : 0);
  putU32(body, 2, p.validLifetime, 'valid lifetime');
  putU32(body, 6, p.preferredLifetime, 'preferred lifetime');
  body.set(addressBytes(ipv6Network(p.prefix, p.prefixLength)), 14);
  return frame(NdOpt.PrefixInformation, body);
}

export function decodePrefixInfo(body: Uint8Array): PrefixInfo | undefined {
  if (body.length !== 30 || (body[0] ?? 0) > 128) return undefined;
  const flags = body[1] ?? 0;
  return {
    // Bits past the prefix length are ignored by receivers (RFC 4861 section 4.6.2).
    prefix: ipv6Network(bytesToIp(body.subarray(14, 30)), body[0] ?? 0), prefixLength: body[0] ?? 0,
    onLink: (flags & 0x80) !== 0, autonomous: (flags & 0x40) !== 0,
    validLifetime: u32At(body, 2), preferredLifetime: u32At(body, 6),
  };
}

/** RFC 4191 section 2.3: only as many prefix octets as the length needs (0, 8 or 16). */
export function encodeRouteInfo(r: RouteInfo): Uint8Array {
  checkPrefixLength(r.prefixLength);
  const prefixOctets = r.prefixLength === 0 ? 0 : r.prefixLength <= 64 ? 8 : 16;
  const body = new Uint8Array(6 + prefixOctets);
  body[0] = r.prefixLength;
  body[1] = prfBits(r.preference) << 3;
  putU32(body, 2, r.lifetime, 'route lifetime');
  body.set(addressBytes(ipv6Network(r.prefix, r.prefixLength)).slice(0, prefixOctets), 6);
  return frame(NdOpt.RouteInformation, body);
}

export function decodeRouteInfo(body: Uint8Array): RouteInfo | undefined {
  const plen = body[0] ?? 0;
  const preference = prfOf(((body[1] ?? 0) >> 3) & 3);
  // Length 1, 2 or 3 (body 6, 14, 22) and long enough for the prefix length (section 2.3).
  const need = plen === 0 ? 6 : plen <= 64 ? 14 : 22;
  if (plen > 128 || body.length < need || body.length > 22 || !preference) return undefined;
  const prefix = new Uint8Array(16);
  prefix.set(body.subarray(6, Math.min(22, body.length)));
  return { prefix: ipv6Network(bytesToIp(prefix), plen), prefixLength: plen, preference, lifetime: u32At(body, 2) };
}

export function encodeRdnss(r: Rdnss): Uint8Array {
  if (r.servers.length === 0) throw new NdEncodeError('an RDNSS option needs at least one address');
  const body = new Uint8Array(6 + 16 * r.servers.length);
  putU32(body, 2, r.lifetime, 'RDNSS lifetime');
  r.servers.forEach((s, i) => body.set(addressBytes(s), 6 + 16 * i));
  return frame(NdOpt.Rdnss, body);
}

export function decodeRdnss(body: Uint8Array): Rdnss | undefined {
  // Length 3 or more and odd: 8 octets of header, then 16 per address (RFC 8106 section 5.1).
  if (body.length < 22 || (body.length - 6) % 16 !== 0) return undefined;
  const servers: string[] = [];
  for (let at = 6; at < body.length; at += 16) servers.push(bytesToIp(body.subarray(at, at + 16)));
  return { lifetime: u32At(body, 2), servers };
}

export function encodeDnssl(d: Dnssl): Uint8Array {
  if (d.domains.length === 0) throw new NdEncodeError('a DNSSL option needs at least one domain');
  let names: Uint8Array;
  try {
    names = encodeDomainNames(d.domains);
  } catch (e) {
    if (e instanceof DomainNameError) throw new NdEncodeError(e.message, { domains: d.domains });
    throw e;
  }
  const body = new Uint8Array(6 + names.length);
  putU32(body, 2, d.lifetime, 'DNSSL lifetime');
  body.set(names, 6);
  return frame(NdOpt.Dnssl, body);
}

export function decodeDnssl(body: Uint8Array): Dnssl | undefined {
  if (body.length < 14) return undefined;
  const domains = decodeDomainNames(body.subarray(6), true);
  return domains && domains.length > 0 ? { lifetime: u32At(body, 2), domains } : undefined;
}
