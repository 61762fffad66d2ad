// Small address helpers shared by cni, dhcp and cloudinit. Pure.
import { isIPv4, isIPv6 } from 'node:net';
import type { IpFamily } from './plan.js';

export const familyOf = (address: string): IpFamily | undefined =>
  isIPv4(address) ? 4 : isIPv6(address) ? 6 : undefined;

/** Parses "a.b.c.d/n" or "x::y/n"; undefined when it is not a valid CIDR. */
export function parseCidr(cidr: string): { address: string; prefixLength: number; family: IpFamily } | undefined {
  const slash = cidr.lastIndexOf('/');
  if (slash < 0) return undefined;
  const address = cidr.slice(0, slash);
  const bits = cidr.slice(slash + 1);
  const family = familyOf(address);
  if (!family || !/^\d{1,3}$/.test(bits)) return undefined;
  const prefixLength = Number(bits);
  if (prefixLength > (family === 4 ? 32 : 128)) return undefined;
  return { address, prefixLength, family };
}

export const ipv4ToInt = (a: string): number =>
  a.split('.').reduce((n, octet) => ((n << 8) | Number(octet)) >>> 0, 0);

export const intToIpv4 = (n: number): string =>
  [24, 16, 8, 0].map((s) => (n >>> s) & 255).join('.');

export const prefixToMask = (prefixLength: number): string =>
  intToIpv4(prefixLength === 0 ? 0 : (0xffffffff << (32 - prefixLength)) >>> 0);

export const ipv4Bytes = (a: string): number[] => a.split('.').map(Number);

/** Network address of an IPv4 CIDR, e.g. 10.1.2.3/24 -> 10.1.2.0. */
export const ipv4Network = (address: string, prefixLength: number): string =>
  intToIpv4((ipv4ToInt(address) & ipv4ToInt(prefixToMask(prefixLength))) >>> 0);

/** True when the IPv4 address lies inside address/prefixLength. */
export const ipv4InSubnet = (candidate: string, address: string, prefixLength: number): boolean =>
  ipv4Network(candidate, prefixLength) === ipv4Network(address, prefixLength);

/** Expands an IPv6 address to 16 bytes. */
export function ipv6Bytes(a: string): number[] {
  let head = a;
  let tail = '';
  const dbl = a.indexOf('::');
  if (dbl >= 0) { head = a.slice(0, dbl); tail = a.slice(dbl + 2); }
  const toWords = (s: string): number[] => {
    if (!s) return [];
    const parts = s.split(':');
    const last = parts[parts.length - 1] ?? '';
    if (last.includes('.')) {
      const v4 = ipv4Bytes(last);
      parts.splice(parts.length - 1, 1, (((v4[0] ?? 0) << 8) | (v4[1] ?? 0)).toString(16), (((v4[2] ?? 0) << 8) | (v4[3] ?? 0)).toString(16));
    }
    return parts.map((p) => parseInt(p, 16));
  };
  const h = toWords(head);
  const t = toWords(tail);
  const words = dbl >= 0 ? [...h, ...new Array<number>(8 - h.length - t.length).fill(0), ...t] : h;
  return words.flatMap((w) => [(w >> 8) & 255, w & 255]);
}

/** True when candidate lies inside address/prefixLength, for either family. */
export function inSubnet(candidate: string, address: string, prefixLength: number): boolean {
  const f = familyOf(candidate);
  if (!f || f !== familyOf(address)) return false;
  if (f === 4) return ipv4InSubnet(candidate, address, prefixLength);
  const a = ipv6Bytes(candidate);
  const b = ipv6Bytes(address);
  for (let bit = 0; bit < prefixLength; bit++) {
    const i = bit >> 3;
    const m = 0x80 >> (bit & 7);
    if (((a[i] ?? 0) & m) !== ((b[i] ?? 0) & m)) return false;
  }
  return true;
}

export const isDefaultRoute = (dst: string): boolean => dst === '0.0.0.0/0' || dst === '::/0';

/** Lowercase colon-separated MAC, or undefined when it is not one. */
export function normaliseMac(mac: string): string | undefined {
  const m = mac.trim().toLowerCase().replace(/-/g, ':');
  return /^([0-9a-f]{2}:){5}[0-9a-f]{2}$/.test(m) ? m : undefined;
}

/** A colon-separated MAC's octets (a Buffer from an array cost ~15 µs a MAC on the setup path). */
export function macToBytes(mac: string): Buffer {
  const parts = mac.split(':');
  const out = Buffer.allocUnsafe(parts.length);
  for (let i = 0; i < parts.length; i++) out[i] = parseInt(parts[i]!, 16);
  return out;
}

const HEX = Array.from({ length: 256 }, (_, b) => b.toString(16).padStart(2, '0'));

/** Octets as a lowercase colon-separated MAC (six of them without an array: the DHCP server's hot path). */
export const bytesToMac = (b: Uint8Array): string =>
  b.length === 6 ? `${HEX[b[0]!]}:${HEX[b[1]!]}:${HEX[b[2]!]}:${HEX[b[3]!]}:${HEX[b[4]!]}:${HEX[b[5]!]}` : Array.from(b, (x) => HEX[x]).join(':');

/** Formats 4 or 16 address bytes the way iproute2 prints them (RFC 5952 for IPv6). */
export function bytesToIp(b: Uint8Array): string {
  if (b.length === 4) return Array.from(b).join('.');
  const words: number[] = [];
  for (let i = 0; i < 16; i += 2) words.push(((b[i] ?? 0) << 8) | (b[i + 1] ?? 0));
  // Longest run (length >= 2) of zero words becomes "::".
  let best = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (words[i] !== 0) { i++; continue; }
    let j = i;
    while (j < 8 && words[j] === 0) j++;
    if (j - i > bestLen) { best = i; bestLen = j - i; }
    i = j;
  }
  const hex = (ws: number[]): string => ws.map((w) => w.toString(16)).join(':');
  if (best < 0) return hex(words);
  return `${hex(words.slice(0, best))}::${hex(words.slice(best + bestLen))}`;
}

/** Address bytes for either family. */
export const ipToBytes = (a: string): Buffer =>
  Buffer.from(familyOf(a) === 6 ? ipv6Bytes(a) : ipv4Bytes(a));
