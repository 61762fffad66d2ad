// The VethInterface machine's kernel effects (all but DHCP), through rtnetlink and
// nft. Each is idempotent: it converges to its goal from any state and treats "already
// so" (EEXIST, ENODEV, ESRCH, EADDRNOTAVAIL) as done.
import { close } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { ignoreErrno, isErrno, NetletError } from '../model/errors.js';
import type { VethIo, VethRecord, VethSettings } from '../machines/veth-contract.js';
import type { RouteOrder } from '../model/kernel-route.js';
import type { RouteDump } from './routes.js';
import { captureIface, restoreIface, stripIface } from './iface-state.js';
import { native } from './native.js';
import { bytesToMac, familyOf } from '../model/ip.js';
import { interfaceNames } from '../model/names.js';
import { applyIsolation, removeIsolation } from './nft.js';
import { prepareBridge6, readForwarding, restoreForwarding, routeIpv6ViaBridge, vmIpv6 } from './ipv6-route.js';
import type { AntiSpoof } from './nft-rules.js';
import type { LinkInfo, Rtnl } from './rtnl.js';

/** A random locally administered unicast MAC. */
export function randomLocalMac(): string {
  const b = randomBytes(6);
  b[0] = (b[0]! & 0xfe) | 0x02;
  return bytesToMac(b);
}

/** Closing a TAP's last fd takes ~16 ms in the kernel: do it off the event loop. */
export const closeAsync = (fd: number): Promise<void> => new Promise((r) => close(fd, () => r()));

export type VethKernelIo = Omit<VethIo, 'startDhcp' | 'stopDhcp'>;

export interface VethKernelOptions {
  vnetHdr?: boolean;
  /** The pod netns's route order before any interface was touched (else each capture's own). */
  baseline?: () => RouteOrder | undefined;
  /** Anti-spoofing rules on the TAP (default on; the runtime's `antiSpoofing` option). */
  antiSpoofing?: boolean;
  /** net.ipv6.conf.all.forwarding before any interface was touched (else the capture's own read). */
  forwarding6?: () => string | undefined;
  /** Takes the fds of a TAP plumb made (the VM's first fds); without it they are closed. */
  keepTapFds?: (tap: string, fds: number[]) => void;
  /**
   * The link and route dumps the pod's plan was resolved from, taken once (undefined after):
   * nothing has touched the netns since, so the first capture needs no dumps of its own.
   */
  resolvedDump?: () => { links: LinkInfo[]; routes: RouteDump } | undefined;
}

/** Who the VM may speak as: its MAC and CNI's addresses (an old record: vmAddress alone). */
export function antiSpoofOf(s: VethSettings): AntiSpoof {
  const all = s.vmAddresses ?? (s.vmAddress ? [s.vmAddress] : []);
  return { mac: s.vmMac, ipv4: all.filter((a) => familyOf(a) === 4), ipv6: all.filter((a) => familyOf(a) === 6) };
}

export function vethKernelIo(rt: Rtnl, opts: VethKernelOptions = {}): VethKernelIo {
  return {
    async capture({ ifName }) {
      // One link dump for the veth, lo and the route dump (or the plan's, still true).
      const given = opts.resolvedDump?.();
      const links = given?.links ?? (await rt.links());
      const l = rt.named(ifName, links);
      const loUp = links.find((x) => x.name === 'lo')?.up ?? false;
      const state = await captureIface(rt, l, links, opts.baseline?.(), given?.routes);
      const forwarding6 = opts.forwarding6?.() ?? readForwarding(rt.netns.fd);
      return { ifName, mac: l.mac, mtu: l.mtu, up: l.up, loUp, ...state, forwarding6 } satisfies VethRecord;
    },

    async strip({ record }) {
      const l = await stripIface(rt, record.ifName, record);
      if (l.mac === record.mac) await rt.setMac(l.index, randomLocalMac());
    },

    async plumb({ record, settings: s }) {
      // One link dump, and one more only if a link had to be made: each lookup is a round trip.
      let links = await rt.links();
      const found = (name: string) => links.find((l) => l.name === name);
      let veth = rt.named(record.ifName, links);
      let br = found(s.bridge);
      let tap = found(s.tap);
      // A link of another kind under our name is someone else's: refuse, never adopt it.
      if (br && br.kind !== 'bridge') throw nameConflict(s.bridge, br.kind, 'bridge');
      if (tap && tap.kind !== 'tun') throw nameConflict(s.tap, tap.kind, 'tun');
      if (!br) await ignoreErrno(rt.createBridge(s.bridge, { mtu: record.mtu, ageingSeconds: 0, mac: s.bridgeMac, ...(s.linkGroup ? { group: s.linkGroup } : {}) }), 'EEXIST');
      if (!tap) {
        const fds = native.openTap(rt.netns.fd, s.tap, { persist: true, vnetHdr: opts.vnetHdr ?? true, queues: s.queues });
        // Kept for the VM rather than closed and opened again: closing a TAP's last fd waits
        // for an RCU grace period under the rtnl lock (~2.6 ms of a ~17 ms setup here).
        if (opts.keepTapFds) opts.keepTapFds(s.tap, fds);
        else await Promise.all(fds.map(closeAsync));
      }
      if (!br || !tap) {
        links = await rt.links();
        br = rt.named(s.bridge, links);
        tap = rt.named(s.tap, links);
        veth = rt.named(record.ifName, links);
      }
      // Before any of them comes up: no IPv6 on the TAP; the bridge's set for the VM's IPv6.
      disableIpv6(rt.netns.fd, s.tap);
      const ipv6 = vmIpv6(s).length > 0;
      if (ipv6) prepareBridge6(rt.netns.fd, s.bridge);
      // One request a link, only what differs (a bridge made just now has it all but up).
      // A fixed MAC: otherwise the bridge takes its ports' lowest and changes with them.
      const want = <T>(now: T, goal: T | undefined): T | undefined => (goal !== undefined && now !== goal ? goal : undefined);
      const up = (l: LinkInfo): true | undefined => (l.up ? undefined : true);
      await rt.configure(br.index, { mac: want(br.mac, s.bridgeMac), mtu: want(br.mtu, record.mtu), group: want(br.group, s.linkGroup || undefined), up: up(br) });
      await rt.configure(veth.index, { master: want(veth.master, br.index), up: up(veth) });
      await rt.configure(tap.index, { mtu: want(tap.mtu, record.mtu), group: want(tap.group, s.linkGroup || undefined), master: want(tap.master, br.index), up: up(tap) });
      const lo = found('lo');
      if (lo && !lo.up) await rt.setUp(lo.index);
      await ignoreErrno(rt.addAddress(br.index, `${s.bridgeAddress}/32`), 'EEXIST');
      if (s.vmAddress) {
        // Replies reach a VM that has no address yet: a route and a fixed neighbour for it.
        await ignoreErrno(rt.addRoute({ dst: `${s.vmAddress}/32`, oif: br.index, prefsrc: s.bridgeAddress }), 'EEXIST');
        await rt.addNeighbour(br.index, s.vmAddress, s.vmMac, { replace: true });
      }
      if (ipv6) await routeIpv6ViaBridge(rt, record, s);
    },

    async isolate({ record, settings: s }) {
      const v6 = vmIpv6(s);
      await applyIsolation(rt.netns.fd, {
        table: s.table, bridge: s.bridge, bridgeMac: s.bridgeMac, bridgeAddress: s.bridgeAddress, tap: s.tap, veth: record.ifName,
        ...(opts.antiSpoofing === false ? {} : { antiSpoof: antiSpoofOf(s) }),
        ...(v6.length ? { routed6: { mac: s.vmMac, addresses: v6 } } : {}),
      });
    },

    async unisolate({ settings: s }) {
      await removeIsolation(rt.netns.fd, s.table);
    },

    async unplumb({ settings: s, ifName }) {
      // Teardown's requests go from pool threads: other pods' deletions hold the rtnl lock.
      const r = rt.offLoop;
      const links = await r.links();
      // Both in one call (one kernel batch, not two): in their group when it holds exactly
      // ours; when it is the pod's and holds other interfaces' links too, in this interface's
      // own group (when that is free) once ours are moved there.
      if (await deleteAsGroup(r, links, [s])) return;
      const ours = ownLinks(links, [s]);
      const own = interfaceNames(ifName).linkGroup;
      if (s.linkGroup && own !== s.linkGroup && ours.every((l) => l.group === s.linkGroup) && holdsOnly(links, own, [])) {
        // Gone meanwhile (another interface's unplumb of the whole pod): nothing to move.
        for (const l of ours) await ignoreErrno(r.setGroup(l.index, own), 'ENODEV');
        await ignoreErrno(r.deleteGroup(own), 'ENODEV');
        return;
      }
      for (const l of ours) await ignoreErrno(r.deleteLink(l.index), 'ENODEV');
    },

    async restore({ record }) {
      // One dump for the veth and lo, every request from a pool thread: under load each waits for the rtnl lock.
      const r = rt.offLoop;
      const links = await r.links();
      // Before the addresses return: with forwarding on they would join subnet-router anycast.
      restoreForwarding(r, record, links);
      const l = links.find((x) => x.name === record.ifName);
      // The veth went with its pod: nothing is left to restore.
      if (!l) return;
      if (l.master) await ignoreErrno(r.setMaster(l.index, 0), 'ENODEV');
      if (l.mac !== record.mac) await r.setMac(l.index, record.mac);
      if (l.mtu !== record.mtu) await r.setMtu(l.index, record.mtu);
      if (l.up !== record.up) await r.setUp(l.index, record.up);
      const lo = links.find((x) => x.name === 'lo');
      if (lo && lo.up && !record.loUp) {
        // Setup brought lo up; the kernel then added 127.0.0.1 and ::1: take all back.
        await r.setUp(lo.index, false);
        await ignoreErrno(r.delAddress(lo.index, '127.0.0.1/8'), 'EADDRNOTAVAIL');
        await ignoreErrno(r.delAddress(lo.index, '::1/128'), 'EADDRNOTAVAIL');
      }
      await restoreIface(r, record.ifName, record, links);
    },
  };
}

/** The bridges and TAPs netlet makes under these interfaces' names: a foreign link of another kind stays. */
const ownLinks = (links: LinkInfo[], sets: Pick<VethSettings, 'bridge' | 'tap'>[]): LinkInfo[] =>
  links.filter((l) => sets.some((s) => (l.name === s.tap && l.kind === 'tun') || (l.name === s.bridge && l.kind === 'bridge')));

/** True when exactly `links` (none: no link at all) are in `group`. */
const holdsOnly = (all: LinkInfo[], group: number, links: LinkInfo[]): boolean => {
  const members = all.filter((l) => l.group === group);
  return members.length === links.length && links.every((l) => members.includes(l));
};

/**
 * Deletes the bridges and TAPs of all these interfaces (a whole pod's) in one RTM_DELLINK
 * when they share one link group that holds nothing else: one kernel batch for the pod instead
 * of one per interface (2 interfaces: 107–111 → 85–87 ms here). False when they do not (records
 * from before the pod's group, a foreign link in it): then each interface's unplumb deletes its own.
 */
export async function unplumbPod(rt: Rtnl, sets: VethSettings[]): Promise<boolean> {
  const r = rt.offLoop;
  return deleteAsGroup(r, await r.links(), sets);
}

/** With `links` a dump just taken: the sets' links deleted in one request when they share a group holding exactly them (true; also when none is left). */
async function deleteAsGroup(r: Rtnl, links: LinkInfo[], sets: VethSettings[]): Promise<boolean> {
  const group = sets[0]?.linkGroup;
  const ours = ownLinks(links, sets);
  if (ours.length === 0) return true;
  if (!group || sets.some((s) => s.linkGroup !== group) || !holdsOnly(links, group, ours)) return false;
  await ignoreErrno(r.deleteGroup(group), 'ENODEV');
  return true;
}

/**
 * A bridge port needs no IPv6 of its own. Left on, each time a VM opens the TAP (carrier on) the
 * kernel may or may not give it a link-local address, a multicast route and DAD/MLD into the VM,
 * as linkwatch and DAD timing fall: the pod netns would differ from run to run. No IPv6: skipped.
 */
function disableIpv6(nsFd: number, link: string): void {
  try {
    native.sysctlIn(nsFd, `net/ipv6/conf/${link}/disable_ipv6`, '1');
  } catch (e) {
    if (!isErrno(e, 'ENOENT')) throw e;
  }
}

const nameConflict = (name: string, kind: string | undefined, want: string): NetletError =>
  new NetletError('NAME_CONFLICT', `${name} already exists in the pod netns as a ${kind ?? 'physical'} link, not a ${want}: netlet will not reuse or delete it; remove or rename it`, { name, kind });

/** Fresh fds for an existing TAP (one per queue), e.g. for a restarted VM. */
export function openTapFds(rt: Rtnl, settings: Pick<VethSettings, 'tap' | 'queues'>, vnetHdr = true): number[] {
  return native.openTap(rt.netns.fd, settings.tap, { vnetHdr, queues: settings.queues });
}
