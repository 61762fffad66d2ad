// Builders for client packets shaped the way real DHCP clients send them.
import type { DhcpMessage } from '../../../src/dhcp/codec.js';
import { MessageType, Opt } from '../../../src/dhcp/options.js';

export const MAC = '52:54:00:12:34:56';
export const MAC_BYTES = [0x52, 0x54, 0x00, 0x12, 0x34, 0x56];

/** ISC dhclient (Debian dhclient.conf) parameter request list. */
export const DHCLIENT_PRL = [1, 28, 2, 3, 15, 6, 119, 12, 44, 47, 26, 121, 42];
/** busybox udhcpc default request list (no 121). */
export const UDHCPC_PRL = [1, 3, 6, 12, 15, 28, 42];
/** Windows 10 request list: asks for both 121 and 249. */
export const WINDOWS_PRL = [1, 3, 6, 15, 31, 33, 43, 44, 46, 47, 119, 121, 249, 252];

export const chaddrOf = (mac: string): Uint8Array => {
  const out = new Uint8Array(16);
  out.set(mac.split(':').map((h) => parseInt(h, 16)));
  return out;
};

export interface ClientOpts {
  mac?: string;
  xid?: number;
  ciaddr?: string;
  giaddr?: string;
  flags?: number;
  prl?: number[] | null;
  requested?: string;
  serverId?: string;
  extra?: [number, number[]][];
}

/** A client message (op 1, Ethernet) of the given DHCP type. */
export function clientMessage(type: number, o: ClientOpts = {}): DhcpMessage {
  const options = new Map<number, Uint8Array>([[Opt.MessageType, Uint8Array.of(type)]]);
  if (o.requested) options.set(Opt.RequestedIp, Uint8Array.from(o.requested.split('.').map(Number)));
  if (o.serverId) options.set(Opt.ServerId, Uint8Array.from(o.serverId.split('.').map(Number)));
  const prl = o.prl === undefined ? DHCLIENT_PRL : o.prl;
  if (prl) options.set(Opt.ParameterRequestList, Uint8Array.from(prl));
  for (const [code, data] of o.extra ?? []) options.set(code, Uint8Array.from(data));
  return {
    op: 1, htype: 1, hlen: 6, hops: 0, xid: o.xid ?? 0x3903f326, secs: 0, flags: o.flags ?? 0,
    ciaddr: o.ciaddr ?? '0.0.0.0', yiaddr: '0.0.0.0', siaddr: '0.0.0.0', giaddr: o.giaddr ?? '0.0.0.0',
    chaddr: chaddrOf(o.mac ?? MAC), sname: '', file: '', options,
  };
}

export const discover = (o: ClientOpts = {}): DhcpMessage => clientMessage(MessageType.Discover, o);
export const request = (o: ClientOpts = {}): DhcpMessage => clientMessage(MessageType.Request, o);

export const hex = (s: string): Uint8Array => Uint8Array.from(Buffer.from(s.replace(/\s+/g, ''), 'hex'));

/** Option codes of a message in order. */
export const codes = (m: DhcpMessage): number[] => [...m.options.keys()];
