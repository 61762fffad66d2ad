// Plans and client messages for the DHCPv6 tests, shaped like real clients send them.
import type { Dns, InterfacePlan } from '../../../src/model/plan.js';
import type { Dhcp6Message } from '../../../src/dhcp6/codec.js';
import { encodeIaAddr, encodeIaNa, encodeOro, Msg6, Opt6, type Dhcp6Option } from '../../../src/dhcp6/options.js';
import { duidLl } from '../../../src/dhcp6/duid.js';

export const BRIDGE_MAC = '02:42:ac:11:00:02';
export const SERVER_DUID = duidLl(BRIDGE_MAC);
/** systemd-networkd's default client DUID: DUID-EN, enterprise 43793 (systemd), 8 octets of machine-id hash. */
export const CLIENT_DUID = Uint8Array.from([0x00, 0x02, 0x00, 0x00, 0xab, 0x11, 0x9c, 0x5f, 0x3a, 0x7b, 0x11, 0x22, 0x33, 0x44]);
export const IAID = 0x5c3a1f02;
export const T0 = 1_700_000_000_000;

export const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
export const unhex = (s: string): Uint8Array => Uint8Array.from(Buffer.from(s.replace(/\s+/g, ''), 'hex'));

/** Bridge plugin, dual-stack: a /64 with a global gateway. */
export const bridgeIface = (): InterfacePlan => ({
  name: 'eth0',
  network: 'kindnet',
  mac: '52:54:00:12:34:56',
  mtu: 1450,
  ips: [
    { address: '10.1.0.5', prefixLength: 24, family: 4, gateway: '10.1.0.1' },
    { address: 'fd00::5', prefixLength: 64, family: 6, gateway: 'fd00::1' },
  ],
  routes: [
    { dst: '0.0.0.0/0', family: 4, gateway: '10.1.0.1' },
    { dst: '::/0', family: 6, gateway: 'fd00::1' },
    { dst: '2001:db8:1::/48', family: 6, gateway: 'fd00::1' },
  ],
  dns: { nameservers: ['10.1.0.53'], search: [], options: [] },
});

/** Calico IPv6: a /128 and a default route via a fixed link-local gateway. */
export const calicoIface = (): InterfacePlan => ({
  name: 'eth0',
  network: 'k8s-pod-network',
  mac: '52:54:00:12:34:56',
  ips: [{ address: 'fd00:10:244::1:5', prefixLength: 128, family: 6 }],
  routes: [{ dst: '::/0', family: 6, gateway: 'fe80::ecee:eeff:feee:eeee' }],
  dns: { nameservers: [], search: [], options: [] },
});

export const podDns = (): Dns => ({ nameservers: ['10.96.0.10', 'fd00::10', 'fe80::1'], search: ['cluster.local'], options: [] });

const opt = (code: number, data: Uint8Array): Dhcp6Option => ({ code, data });

export interface ClientOpts {
  xid?: number;
  clientId?: Uint8Array | null;
  serverId?: Uint8Array;
  /** IA_NAs: IAID and the addresses inside. */
  ias?: { iaid: number; addresses?: string[] }[];
  oro?: number[] | null;
  rapidCommit?: boolean;
  extra?: Dhcp6Option[];
}

/** A client message as systemd-networkd lays it out: CLIENTID, ELAPSED_TIME, IA_NA, ORO (+ RAPID_COMMIT). */
export function clientMessage(type: number, o: ClientOpts = {}): Dhcp6Message {
  const options: Dhcp6Option[] = [];
  const clientId = o.clientId === undefined ? CLIENT_DUID : o.clientId;
  if (clientId) options.push(opt(Opt6.ClientId, clientId));
  if (o.serverId) options.push(opt(Opt6.ServerId, o.serverId));
  options.push(opt(Opt6.ElapsedTime, Uint8Array.of(0, 0)));
  const ias = o.ias ?? (type === Msg6.InformationRequest ? [] : [{ iaid: IAID }]);
  for (const ia of ias) {
    const addrs = (ia.addresses ?? []).map((address) => opt(Opt6.IaAddr, encodeIaAddr({ address, preferred: 0, valid: 0, options: [] })));
    options.push(opt(Opt6.IaNa, encodeIaNa({ iaid: ia.iaid, t1: 0, t2: 0, options: addrs })));
  }
  const oro = o.oro === undefined ? [Opt6.DnsServers, Opt6.DomainList] : o.oro;
  if (oro) options.push(opt(Opt6.Oro, encodeOro(oro)));
  if (o.rapidCommit) options.push(opt(Opt6.RapidCommit, new Uint8Array(0)));
  options.push(...(o.extra ?? []));
  return { type, transactionId: o.xid ?? 0x0a0b0c, options };
}
