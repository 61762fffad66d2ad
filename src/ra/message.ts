// Shared checks for received ND messages: type, code, hop limit, checksum, option framing.
import { checksumOk } from './checksum.js';
import { NdParseError } from './errors.js';
import { readNdOptions, type NdOption } from './options.js';

export interface ReceiveInfo {
  /** The IPv6 hop limit; must be 255 (RFC 4861 sections 6.1.1, 6.1.2). Unchecked when absent. */
  hopLimit?: number;
  /** Verify the checksum over this pseudo-header (the kernel does it for raw ICMPv6 sockets). */
  source?: string;
  destination?: string;
}

export type NdParse<T> = { ok: true; message: T } | { ok: false; error: NdParseError };

export const ndFail = <T>(reason: ConstructorParameters<typeof NdParseError>[0], message: string, details?: Record<string, unknown>): NdParse<T> =>
  ({ ok: false, error: new NdParseError(reason, message, details) });

/** The options after a fixed part of `fixed` octets, or the error. */
export function checkNd(buf: Uint8Array, type: number, fixed: number, name: string, info: ReceiveInfo): NdParse<NdOption[]> {
  if (buf.length < fixed) return ndFail('too-short', `${name} of ${buf.length} octets is under ${fixed}`, { length: buf.length });
  if (buf[0] !== type) return ndFail('bad-type', `ICMPv6 type ${buf[0]} is not ${type} (${name})`, { type: buf[0] });
  if (buf[1] !== 0) return ndFail('bad-code', `${name} code ${buf[1]} is not 0`, { code: buf[1] });
  if (info.hopLimit !== undefined && info.hopLimit !== 255) return ndFail('bad-hop-limit', `${name} with hop limit ${info.hopLimit}, not 255`, { hopLimit: info.hopLimit });
  if (info.source !== undefined && info.destination !== undefined && !checksumOk(info.source, info.destination, buf)) {
    return ndFail('bad-checksum', `${name} checksum is wrong`);
  }
  const read = readNdOptions(buf.subarray(fixed));
  if (!read.ok) {
    const why = read.reason === 'zero-length-option' ? 'has length 0' : 'runs past the end';
    return ndFail(read.reason, `option ${read.type} at offset ${fixed + read.at} ${why}`, { type: read.type, offset: fixed + read.at });
  }
  return { ok: true, message: read.options };
}
