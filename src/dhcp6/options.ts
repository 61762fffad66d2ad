// DHCPv6 option codes, message types, status codes, and the value encoders/decoders for
// the options netlet reads or sends (RFC 8415 section 21, RFC 3646). Decoders return
// undefined for a malformed value rather than throwing: option bytes come from the VM.
import { isIPv6 } from 'node:net';
import { bytesToIp, ipv6Bytes } from '../model/ip.js';
import { decodeDomainNames, DomainNameError, encodeDomainNames } from './domain-names.js';
import { Dhcp6EncodeError } from './errors.js';

export const Opt6 = {
  ClientId: 1,
  ServerId: 2,
  IaNa: 3,
  IaTa: 4,
  IaAddr: 5,
  Oro: 6,
  Preference: 7,
  ElapsedTime: 8,
  StatusCode: 13,
  RapidCommit: 14,
  DnsServers: 23,
  DomainList: 24,
  IaPd: 25,
  InformationRefreshTime: 32,
  SolMaxRt: 82,
} as const;

/** RFC 8415 section 7.3. Relay-forward (12) and Relay-reply (13) are not parsed. */
export const Msg6 = {
  Solicit: 1,
  Advertise: 2,
  Request: 3,
  Confirm: 4,
  Renew: 5,
  Rebind: 6,
  Reply: 7,
  Release: 8,
  Decline: 9,
  Reconfigure: 10,
  InformationRequest: 11,
  RelayForw: 12,
  RelayRepl: 13,
} as const;

/** RFC 8415 section 21.13. */
export const Status6 = {
  Success: 0,
  UnspecFail: 1,
  NoAddrsAvail: 2,
  NoBinding: 3,
  NotOnLink: 4,
  UseMulticast: 5,
} as const;

/** 0xffffffff lifetimes and times mean "infinity" (RFC 8415 section 7.7). */
export const INFINITY = 0xffffffff;
/** RFC 8415 section 11.1: a DUID is at most 128 octets (plus its 2-octet type). */
export const MAX_DUID_LEN = 130;

export interface Dhcp6Option {
  code: number;
  data: Uint8Array;
}

// --- framing ------------------------------------------------------------------

const u16At = (b: Uint8Array, o: number): number => ((b[o] ?? 0) << 8) | (b[o + 1] ?? 0);
const u32At = (b: Uint8Array, o: number): number => ((u16At(b, o) << 16) | u16At(b, o + 2)) >>> 0;

/** Options back to back in `d` (4-octet code+length headers); `at` is the first bad offset. */
export function readOptions(d: Uint8Array): { ok: true; options: Dhcp6Option[] } | { ok: false; at: number; code: number } {
  const options: Dhcp6Option[] = [];
  let pos = 0;
  while (pos < d.length) {
    if (pos + 4 > d.length) return { ok: false, at: pos, code: d.length - pos >= 2 ? u16At(d, pos) : -1 };
    const code = u16At(d, pos);
    const len = u16At(d, pos + 2);
    if (pos + 4 + len > d.length) return { ok: false, at: pos, code };
    options.push({ code, data: d.subarray(pos + 4, pos + 4 + len) });
    pos += 4 + len;
  }
  return { ok: true, options };
}

export function encodeOptions(options: readonly Dhcp6Option[]): Uint8Array {
  const size = options.reduce((n, o) => n + 4 + o.data.length, 0);
  const out = new Uint8Array(size);
  let at = 0;
  for (const o of options) {
    checkUint(o.code, 16, 'option code');
    if (o.data.length > 0xffff) throw new Dhcp6EncodeError(`option ${o.code} value of ${o.data.length} octets exceeds 65535`, { code: o.code });
    out[at] = o.code >>> 8; out[at + 1] = o.code & 255;
    out[at + 2] = o.data.length >>> 8; out[at + 3] = o.data.length & 255;
    out.set(o.data, at + 4);
    at += 4 + o.data.length;
  }
  return out;
}

export const optionSize = (o: Dhcp6Option): number => 4 + o.data.length;
export const findOption = (options: readonly Dhcp6Option[], code: number): Dhcp6Option | undefined => options.find((o) => o.code === code);

// --- scalars ------------------------------------------------------------------

function checkUint(value: number, bits: 8 | 16 | 24 | 32, what: string): void {
  if (!Number.isInteger(value) || value < 0 || value > 2 ** bits - 1) {
    throw new Dhcp6EncodeError(`${what} ${value} is not an unsigned ${bits}-bit integer`, { value });
  }
}

export function u16(value: number): Uint8Array {
  checkUint(value, 16, 'value');
  return Uint8Array.of(value >>> 8, value & 255);
}

export function u32(value: number): Uint8Array {
  checkUint(value, 32, 'value');
  return Uint8Array.of(value >>> 24, (value >>> 16) & 255, (value >>> 8) & 255, value & 255);
}

export const decodeU8 = (d: Uint8Array): number | undefined => (d.length === 1 ? d[0] : undefined);
export const decodeU16 = (d: Uint8Array): number | undefined => (d.length === 2 ? u16At(d, 0) : undefined);
export const decodeU32 = (d: Uint8Array): number | undefined => (d.length === 4 ? u32At(d, 0) : undefined);

// --- addresses ----------------------------------------------------------------

export function encodeIpv6(address: string): Uint8Array {
  if (!isIPv6(address) || address.includes('%')) throw new Dhcp6EncodeError(`"${address}" is not an IPv6 address`, { address });
  return Uint8Array.from(ipv6Bytes(address));
}

export const ipv6At = (d: Uint8Array, offset: number): string => bytesToIp(d.subarray(offset, offset + 16));

/** Option 23 (RFC 3646 section 3): addresses back to back. */
export function encodeIpv6List(addresses: readonly string[]): Uint8Array {
  const out = new Uint8Array(addresses.length * 16);
  addresses.forEach((a, i) => out.set(encodeIpv6(a), i * 16));
  return out;
}

export function decodeIpv6List(d: Uint8Array): string[] | undefined {
  if (d.length % 16 !== 0) return undefined;
  const out: string[] = [];
  for (let i = 0; i < d.length; i += 16) out.push(ipv6At(d, i));
  return out;
}

// --- lists and text -------------------------------------------------------------

/** Option 6 (ORO): requested option codes, two octets each. */
export function encodeOro(codes: readonly number[]): Uint8Array {
  const out = new Uint8Array(codes.length * 2);
  codes.forEach((c, i) => out.set(u16(c), i * 2));
  return out;
}

export function decodeOro(d: Uint8Array): number[] | undefined {
  if (d.length % 2 !== 0) return undefined;
  const out: number[] = [];
  for (let i = 0; i < d.length; i += 2) out.push(u16At(d, i));
  return out;
}

/** Option 24 (RFC 3646 section 4): uncompressed names. */
export function encodeDomainList(names: readonly string[]): Uint8Array {
  try {
    return encodeDomainNames(names);
  } catch (e) {
    if (e instanceof DomainNameError) throw new Dhcp6EncodeError(e.message, { names });
    throw e;
  }
}

export const decodeDomainList = (d: Uint8Array): string[] | undefined => decodeDomainNames(d);

/** Option 13: a status code and a UTF-8 message. */
export function encodeStatus(code: number, message = ''): Uint8Array {
  const text = Buffer.from(message, 'utf8');
  const out = new Uint8Array(2 + text.length);
  out.set(u16(code));
  out.set(text, 2);
  return out;
}

export function decodeStatus(d: Uint8Array): { code: number; message: string } | undefined {
  if (d.length < 2) return undefined;
  return { code: u16At(d, 0), message: Buffer.from(d.buffer, d.byteOffset + 2, d.length - 2).toString('utf8') };
}

// --- identity associations ------------------------------------------------------

/** Option 3 (IA_NA, RFC 8415 section 21.4): IAID, T1, T2, then sub-options. */
export interface IaNa {
  iaid: number;
  t1: number;
  t2: number;
  options: Dhcp6Option[];
}

/** Option 5 (IAADDR, section 21.6), always inside an IA_NA. */
export interface IaAddr {
  address: string;
  preferred: number;
  valid: number;
  options: Dhcp6Option[];
}

export function encodeIaNa(ia: IaNa): Uint8Array {
  const sub = encodeOptions(ia.options);
  const out = new Uint8Array(12 + sub.length);
  out.set(u32(ia.iaid), 0);
  out.set(u32(ia.t1), 4);
  out.set(u32(ia.t2), 8);
  out.set(sub, 12);
  return out;
}

export function decodeIaNa(d: Uint8Array): IaNa | undefined {
  if (d.length < 12) return undefined;
  const sub = readOptions(d.subarray(12));
  if (!sub.ok) return undefined;
  return { iaid: u32At(d, 0), t1: u32At(d, 4), t2: u32At(d, 8), options: sub.options };
}

export function encodeIaAddr(a: IaAddr): Uint8Array {
  const sub = encodeOptions(a.options);
  const out = new Uint8Array(24 + sub.length);
  out.set(encodeIpv6(a.address), 0);
  out.set(u32(a.preferred), 16);
  out.set(u32(a.valid), 20);
  out.set(sub, 24);
  return out;
}

export function decodeIaAddr(d: Uint8Array): IaAddr | undefined {
  if (d.length < 24) return undefined;
  const sub = readOptions(d.subarray(24));
  if (!sub.ok) return undefined;
  return { address: ipv6At(d, 0), preferred: u32At(d, 16), valid: u32At(d, 20), options: sub.options };
}

/** The IAADDR addresses inside an IA_NA (malformed ones skipped; parse() rejects them anyway). */
export const iaAddresses = (ia: IaNa): IaAddr[] =>
  ia.options.flatMap((o) => {
    if (o.code !== Opt6.IaAddr) return [];
    const a = decodeIaAddr(o.data);
    return a ? [a] : [];
  });
