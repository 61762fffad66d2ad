// Deterministic names for what netlet creates per interface in a pod netns.
// At most 15 characters (IFNAMSIZ - 1); unique per interface because the CNI
// interface name is unique in its netns. Documented in docs/architecture.md.
import { createHash } from 'node:crypto';
import { bytesToMac } from './ip.js';

const MAX = 15;
const short = (ifName: string, room: number): string =>
  ifName.length <= room ? ifName : createHash('sha256').update(ifName).digest('hex').slice(0, room);

export interface InterfaceNames {
  /** "nb-" + ifname, e.g. nb-eth0 */
  bridge: string;
  /** "nt-" + ifname, e.g. nt-eth0 */
  tap: string;
  /** nftables bridge table, e.g. netlet_eth0 */
  table: string;
  /**
   * The interface's own link group (0x6e6c____ from the ifname): an interface undone alone
   * moves its bridge and TAP there and deletes both in one RTM_DELLINK (one kernel batch, not
   * two). Records before the pod's group (podLinkGroup) made them in it.
   */
  linkGroup: number;
}

/** Names already worked out: a setup asks ~10 times per interface, each a sha256 (~10 µs). */
const namesOf = new Map<string, Readonly<InterfaceNames>>();

/** Names for interface `ifName`; a name too long for IFNAMSIZ is replaced by a hash of it. */
export function interfaceNames(ifName: string): Readonly<InterfaceNames> {
  let n = namesOf.get(ifName);
  if (n) return n;
  const id = short(ifName, MAX - 3);
  const linkGroup = groupOf(0x6e6c0000, ifName);
  n = Object.freeze({ bridge: `nb-${id}`, tap: `nt-${id}`, table: `netlet_${ifName.replace(/[^A-Za-z0-9_]/g, '_')}`, linkGroup });
  // CNI interface names come from a small set (eth0, net1, ...): bounded in practice; capped anyway.
  if (namesOf.size < 1024) namesOf.set(ifName, n);
  return n;
}

/**
 * The link group a pod's bridges and TAPs are made in (0x6e6d____ from the pod id): the pod's
 * teardown deletes them all in one RTM_DELLINK, one kernel batch (a 2-interface pod's teardown:
 * 107–111 → 85–87 ms). An interface undone alone (detach, a failed attach) first moves its two
 * links to its own group.
 */
export const podLinkGroup = (podId: string): number => groupOf(0x6e6d0000, podId);

/** A link group: `base` (netlet's 16 high bits) and 16 bits of sha256(`of`). */
function groupOf(base: number, of: string): number {
  const h = createHash('sha256').update(of).digest();
  return (base | ((h[0] ?? 0) << 8) | (h[1] ?? 0)) >>> 0;
}

/** The bridge's internal address for the interface at `index` (the DHCP server id). */
export const bridgeAddressFor = (index: number, base = '169.254.253'): string => `${base}.${(index % 254) + 1}`;

/** A stable locally administered MAC for the bridge, from the pod and interface. */
export function bridgeMacFor(podId: string, ifName: string): string {
  const h = createHash('sha256').update(`${podId}/${ifName}`).digest();
  const b = h.subarray(0, 6);
  b[0] = (b[0]! & 0xfe) | 0x02;
  return bytesToMac(b);
}
