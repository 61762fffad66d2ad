// Router Advertisement (RFC 4861 section 4.2) encode, and a minimal parser for tests and
// for spotting RAs from the cluster side. The checksum is left 0: on a raw ICMPv6 socket
// the kernel computes it (checksum.ts has it for pcaps and tests).
import { checkNd, ndFail, type NdParse, type ReceiveInfo } from './message.js';
import { NdEncodeError } from './errors.js';
import {
  decodeDnssl, decodeMac, decodeMtu, decodePrefixInfo, decodeRdnss, decodeRouteInfo, encodeDnssl, encodeLinkLayer, encodeMtu,
  encodePrefixInfo, encodeRdnss, encodeRouteInfo, NdOpt, prfBits, prfOf,
  type Dnssl, type NdOption, type PrefixInfo, type Rdnss, type RouteInfo, type RouterPreference,
} from './options.js';

export const ICMPV6_RA = 134;
export const RA_FIXED = 16;
/** RFC 4861 section 6.2.1: AdvDefaultLifetime is at most 9000 seconds. */
export const MAX_ROUTER_LIFETIME = 9000;

export interface RouterAdvertisement {
  curHopLimit: number;
  /** M: addresses by DHCPv6. */
  managed: boolean;
  /** O: other configuration (DNS) by DHCPv6. */
  other: boolean;
  /** Default router preference (RFC 4191 section 2.2). */
  preference: RouterPreference;
  /** Seconds as a default router; 0: not a default router. */
  routerLifetime: number;
  reachableTime: number;
  retransTimer: number;
  sourceLinkLayer?: string;
  mtu?: number;
  prefixes: PrefixInfo[];
  routes: RouteInfo[];
  rdnss: Rdnss[];
  dnssl: Dnssl[];
}

export interface ParsedRouterAdvertisement extends RouterAdvertisement {
  /** Options the parser does not decode, and RIOs with the reserved preference (RFC 4191 section 3.1: ignored). */
  unknown: NdOption[];
}

/** The options in the order written: SLLA, MTU, PIOs, RIOs, RDNSS, DNSSL. */
export function raOptions(ra: RouterAdvertisement): Uint8Array[] {
  return [
    ...(ra.sourceLinkLayer !== undefined ? [encodeLinkLayer(NdOpt.SourceLinkLayer, ra.sourceLinkLayer)] : []),
    ...(ra.mtu !== undefined ? [encodeMtu(ra.mtu)] : []),
    ...ra.prefixes.map(encodePrefixInfo),
    ...ra.routes.map(encodeRouteInfo),
    ...ra.rdnss.map(encodeRdnss),
    ...ra.dnssl.map(encodeDnssl),
  ];
}

export function encodeRouterAdvertisement(ra: RouterAdvertisement): Uint8Array {
  const range = (v: number, max: number, what: string): void => {
    if (!Number.isInteger(v) || v < 0 || v > max) throw new NdEncodeError(`${what} ${v} is not 0-${max}`, { value: v });
  };
  range(ra.curHopLimit, 255, 'cur hop limit');
  range(ra.routerLifetime, 0xffff, 'router lifetime');
  range(ra.reachableTime, 0xffffffff, 'reachable time');
  range(ra.retransTimer, 0xffffffff, 'retrans timer');
  const options = raOptions(ra);
  const out = new Uint8Array(RA_FIXED + options.reduce((n, o) => n + o.length, 0));
  const view = new DataView(out.buffer);
  out[0] = ICMPV6_RA;
  out[4] = ra.curHopLimit;
  out[5] = (ra.managed ? 0x80 : 0) | (ra.other ? 0x40 : 0) | (prfBits(ra.preference) << 3);
  view.setUint16(6, ra.routerLifetime);
  view.setUint32(8, ra.reachableTime);
  view.setUint32(12, ra.retransTimer);
  let at = RA_FIXED;
  for (const o of options) { out.set(o, at); at += o.length; }
  return out;
}

/** Parses one ICMPv6 message as an RA (RFC 4861 section 6.1.2 checks). Never throws. */
export function parseRouterAdvertisement(buf: Uint8Array, info: ReceiveInfo = {}): NdParse<ParsedRouterAdvertisement> {
  const checked = checkNd(buf, ICMPV6_RA, RA_FIXED, 'Router Advertisement', info);
  if (!checked.ok) return checked;
  const u32 = (o: number): number => (((buf[o] ?? 0) << 24) | ((buf[o + 1] ?? 0) << 16) | ((buf[o + 2] ?? 0) << 8) | (buf[o + 3] ?? 0)) >>> 0;
  const flags = buf[5] ?? 0;
  const ra: ParsedRouterAdvertisement = {
    curHopLimit: buf[4] ?? 0,
    managed: (flags & 0x80) !== 0,
    other: (flags & 0x40) !== 0,
    preference: prfOf((flags >> 3) & 3) ?? 'medium',
    routerLifetime: ((buf[6] ?? 0) << 8) | (buf[7] ?? 0),
    reachableTime: u32(8),
    retransTimer: u32(12),
    prefixes: [], routes: [], rdnss: [], dnssl: [], unknown: [],
  };
  for (const o of checked.message) {
    const bad = (): NdParse<ParsedRouterAdvertisement> => ndFail('bad-option', `option ${o.type} of ${o.body.length + 2} octets is malformed`, { type: o.type });
    switch (o.type) {
      case NdOpt.SourceLinkLayer: {
        const mac = decodeMac(o.body);
        if (mac) ra.sourceLinkLayer = mac;
        else ra.unknown.push({ type: o.type, body: o.body.slice() });
        break;
      }
      case NdOpt.Mtu: {
        const mtu = decodeMtu(o.body);
        if (mtu === undefined) return bad();
        ra.mtu = mtu;
        break;
      }
      case NdOpt.PrefixInformation: {
        const p = decodePrefixInfo(o.body);
        if (!p) return bad();
        ra.prefixes.push(p);
        break;
      }
      case NdOpt.RouteInformation: {
        const r = decodeRouteInfo(o.body);
        if (r) ra.routes.push(r);
        else if (o.body.length <= 22 && (o.body[0] ?? 0) <= 128 && ((o.body[1] ?? 0) >> 3 & 3) === 0b10) ra.unknown.push({ type: o.type, body: o.body.slice() });
        else return bad();
        break;
      }
      case NdOpt.Rdnss: {
        const r = decodeRdnss(o.body);
        if (!r) return bad();
        ra.rdnss.push(r);
        break;
      }
      case NdOpt.Dnssl: {
        const d = decodeDnssl(o.body);
        if (!d) return bad();
        ra.dnssl.push(d);
        break;
      }
      default:
        ra.unknown.push({ type: o.type, body: o.body.slice() });
    }
  }
  return { ok: true, message: ra };
}
