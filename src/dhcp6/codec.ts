// DHCPv6 client/server message format (RFC 8415 section 8): msg-type, a 3-octet
// transaction id, options. parse() accepts any bytes and never throws; it checks the
// framing of every option (and of IA_NA/IAADDR sub-options) and the shape of each option
// netlet knows, so the server's decoders see only well-formed values.
import { Dhcp6EncodeError, Dhcp6ParseError } from './errors.js';
import {
  decodeDomainList, decodeIaAddr, decodeIaNa, encodeOptions, MAX_DUID_LEN, Msg6, Opt6, readOptions, type Dhcp6Option,
} from './options.js';

export const HEADER_LEN = 4;

export interface Dhcp6Message {
  /** msg-type (1 Solicit ... 11 Information-request). */
  type: number;
  /** 24-bit transaction id. */
  transactionId: number;
  /** In wire order; repeated options (several IA_NAs) stay separate. Unknown ones are kept raw. */
  options: Dhcp6Option[];
}

export type Parse6Result = { ok: true; message: Dhcp6Message } | { ok: false; error: Dhcp6ParseError };

const fail = (reason: ConstructorParameters<typeof Dhcp6ParseError>[0], message: string, details?: Record<string, unknown>): Parse6Result =>
  ({ ok: false, error: new Dhcp6ParseError(reason, message, details) });

/** Why a known option's value is malformed, or undefined when it is fine (or unknown). */
function badValue(o: Dhcp6Option, inIa: boolean): string | undefined {
  const n = o.data.length;
  switch (o.code) {
    case Opt6.ClientId:
    case Opt6.ServerId:
      return n >= 3 && n <= MAX_DUID_LEN ? undefined : `a DUID of ${n} octets (3-${MAX_DUID_LEN})`;
    case Opt6.IaNa: {
      const ia = decodeIaNa(o.data);
      if (!ia) return n < 12 ? `${n} octets, under 12` : 'its sub-options overrun it';
      for (const sub of ia.options) {
        const why = badValue(sub, true);
        if (why) return `sub-option ${sub.code}: ${why}`;
      }
      return undefined;
    }
    case Opt6.IaAddr: {
      const a = decodeIaAddr(o.data);
      if (!a) return n < 24 ? `${n} octets, under 24` : 'its sub-options overrun it';
      if (!inIa) return undefined;
      for (const sub of a.options) {
        const why = badValue(sub, true);
        if (why) return `sub-option ${sub.code}: ${why}`;
      }
      return undefined;
    }
    case Opt6.IaTa:
      return n >= 4 && readOptions(o.data.subarray(4)).ok ? undefined : 'not an IAID followed by sub-options';
    case Opt6.IaPd:
      return n >= 12 && readOptions(o.data.subarray(12)).ok ? undefined : 'not IAID, T1, T2 followed by sub-options';
    case Opt6.Oro:
      return n % 2 === 0 ? undefined : `${n} octets, not a list of 2-octet codes`;
    case Opt6.Preference:
      return n === 1 ? undefined : `${n} octets, not 1`;
    case Opt6.ElapsedTime:
      return n === 2 ? undefined : `${n} octets, not 2`;
    case Opt6.StatusCode:
      return n >= 2 ? undefined : `${n} octets, under 2`;
    case Opt6.RapidCommit:
      return n === 0 ? undefined : `${n} octets, not empty`;
    case Opt6.DnsServers:
      return n % 16 === 0 ? undefined : `${n} octets, not a list of IPv6 addresses`;
    case Opt6.DomainList:
      return decodeDomainList(o.data) ? undefined : 'not a list of uncompressed domain names';
    case Opt6.InformationRefreshTime:
    case Opt6.SolMaxRt:
      return n === 4 ? undefined : `${n} octets, not 4`;
    default:
      return undefined;
  }
}

/** Parses one UDP payload. Never throws, whatever the bytes. */
export function parse(buf: Uint8Array): Parse6Result {
  if (buf.length < HEADER_LEN) return fail('too-short', `message of ${buf.length} octets is shorter than the 4-octet header`, { length: buf.length });
  const type = buf[0] ?? 0;
  if (type === Msg6.RelayForw || type === Msg6.RelayRepl) {
    return fail('relay-unsupported', `relay message (type ${type}): no relay is expected on the VM's link`, { type });
  }
  const read = readOptions(buf.subarray(HEADER_LEN));
  if (!read.ok) {
    return fail('option-overrun', `option ${read.code} at offset ${HEADER_LEN + read.at} runs past the end of the message`, { code: read.code, offset: HEADER_LEN + read.at });
  }
  for (const o of read.options) {
    const why = badValue(o, false);
    if (why) return fail('bad-option', `option ${o.code}: ${why}`, { code: o.code });
  }
  const transactionId = ((buf[1] ?? 0) << 16) | ((buf[2] ?? 0) << 8) | (buf[3] ?? 0);
  // Copy the values so a message does not pin (or alias) the receive buffer.
  return { ok: true, message: { type, transactionId, options: read.options.map((o) => ({ code: o.code, data: o.data.slice() })) } };
}

/** The octets serialize() writes for these options. */
export const serializedLength = (options: readonly Dhcp6Option[]): number =>
  HEADER_LEN + options.reduce((n, o) => n + 4 + o.data.length, 0);

export function serialize(m: Dhcp6Message): Uint8Array {
  if (!Number.isInteger(m.type) || m.type < 0 || m.type > 255) throw new Dhcp6EncodeError(`msg-type ${m.type} is out of range`);
  if (!Number.isInteger(m.transactionId) || m.transactionId < 0 || m.transactionId > 0xffffff) {
    throw new Dhcp6EncodeError(`transaction id ${m.transactionId} is not 24 bits`);
  }
  const opts = encodeOptions(m.options);
  const out = new Uint8Array(HEADER_LEN + opts.length);
  out[0] = m.type;
  out[1] = m.transactionId >>> 16;
  out[2] = (m.transactionId >>> 8) & 255;
  out[3] = m.transactionId & 255;
  out.set(opts, HEADER_LEN);
  return out;
}
