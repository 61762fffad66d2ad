// The server's DUID (RFC 8415 section 11). DUID-LL (type 3, section 11.4) from the
// bridge's MAC: netlet fixes that MAC per pod and interface (bridgeMacFor in
// src/model/names.ts), so the DUID is stable across restarts and re-plumbing, with no
// time (DUID-LLT) or state file (DUID-EN/UUID) to keep. Clients compare it byte for byte.
import { macToBytes, normaliseMac } from '../model/ip.js';
import { Dhcp6ConfigError } from './errors.js';

export const DUID_LL = 3;
/** IANA hardware type 1: Ethernet. */
const HTYPE_ETHERNET = 1;

export function duidLl(mac: string): Uint8Array {
  const m = normaliseMac(mac);
  if (!m) throw new Dhcp6ConfigError(`"${mac}" is not a MAC address, so no DUID-LL`, { mac });
  return Uint8Array.of(0, DUID_LL, 0, HTYPE_ETHERNET, ...macToBytes(m));
}

export const duidHex = (duid: Uint8Array): string => Buffer.from(duid).toString('hex');
