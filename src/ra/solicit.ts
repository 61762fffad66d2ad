// Router Solicitation (RFC 4861 section 4.1): parsed and validated as section 6.1.1 says,
// so the RA sender knows when (and, from the source link-layer address, to whom) to answer.
import { checkNd, ndFail, type NdParse, type ReceiveInfo } from './message.js';
import { decodeMac, encodeLinkLayer, NdOpt, type NdOption } from './options.js';

export const ICMPV6_RS = 133;
const RS_FIXED = 8;

export interface RouterSolicitation {
  /** The source link-layer address option, as a MAC when it holds 6 octets. */
  sourceLinkLayer?: string;
  /** Its raw octets, whatever the link type. */
  sourceLinkLayerRaw?: Uint8Array;
  options: NdOption[];
}

export interface RsReceiveInfo extends ReceiveInfo {
  /** The IPv6 source was :: (a host without an address yet). */
  sourceUnspecified?: boolean;
}

/** Parses one ICMPv6 message (no IPv6 header, as a raw ICMPv6 socket reads it). Never throws. */
export function parseRouterSolicitation(buf: Uint8Array, info: RsReceiveInfo = {}): NdParse<RouterSolicitation> {
  const checked = checkNd(buf, ICMPV6_RS, RS_FIXED, 'Router Solicitation', info);
  if (!checked.ok) return checked;
  const options = checked.message.map((o) => ({ type: o.type, body: o.body.slice() }));
  const slla = options.find((o) => o.type === NdOpt.SourceLinkLayer);
  if (slla && info.sourceUnspecified) return ndFail('slla-from-unspecified', 'a Router Solicitation from :: carries a source link-layer address');
  const mac = slla && decodeMac(slla.body);
  return { ok: true, message: { options, ...(slla ? { sourceLinkLayerRaw: slla.body } : {}), ...(mac ? { sourceLinkLayer: mac } : {}) } };
}

/** An RS as a host sends it (checksum 0: the kernel fills it in). For tests and probes. */
export function encodeRouterSolicitation(sourceMac?: string): Uint8Array {
  const slla = sourceMac ? encodeLinkLayer(NdOpt.SourceLinkLayer, sourceMac) : new Uint8Array(0);
  const out = new Uint8Array(RS_FIXED + slla.length);
  out[0] = ICMPV6_RS;
  out.set(slla, RS_FIXED);
  return out;
}
