// The VethInterface machine's data and io contract. src/io/veth implements VethIo;
// model tests fake it. Every call must be idempotent: undo of something never done
// is a no-op, so rollback and teardown can run the whole undo chain from any state.
import type { KernelAddress, KernelRoute, LegacyRoute, RouteOrder } from '../model/kernel-route.js';
import type { StepError } from './common.js';

/** The veth as CNI left it: everything teardown needs to restore it exactly. */
export interface VethRecord {
  ifName: string;
  mac: string;
  mtu: number;
  up: boolean;
  /**
   * IPv4 addresses (with the broadcast they had, 'none' if none), then the permanent IPv6
   * addresses but the link-local (kept on the veth), each family in kernel order.
   */
  addresses: KernelAddress[];
  /** Loopback's state: setup brings lo up, teardown puts it back. */
  loUp: boolean;
  /**
   * Every route through the veth in every table but `local`, both families, in kernel
   * order; not the main table's `proto kernel` routes (the addresses bring those back).
   */
  routes: (KernelRoute | LegacyRoute)[];
  /** routeId of the main-table `proto kernel` routes that existed (sbr removes some). */
  kernelRoutes?: string[];
  /** Order of the routes to each destination the veth shares with other routes. */
  order?: RouteOrder;
  /** net.ipv6.conf.all.forwarding before the pod's setup ("0"/"1"); setup turns it on for an IPv6 VM. */
  forwarding6?: string;
}

/** Names and settings the machine was given; deterministic per interface. */
export interface VethSettings {
  bridge: string;
  tap: string;
  /** nftables bridge table holding this interface's DHCP isolation rules. */
  table: string;
  /** Link group of bridge and TAP, deleted together: the pod's (records before 2026-12-03: the
   *  interface's own; older ones none). */
  linkGroup?: number;
  /** The bridge's internal address (DHCP server id), without prefix. */
  bridgeAddress: string;
  /** A fixed MAC for the bridge: a bridge's MAC otherwise follows its ports. */
  bridgeMac: string;
  /** The MAC the VM gets (CNI's, i.e. the veth's original). */
  vmMac: string;
  /** The VM's IPv4 address, if any: the bridge gets a /32 route and neighbour for it. */
  vmAddress?: string;
  /** Every address CNI gave the interface (both families): the only sources anti-spoofing lets
   *  through. Records older than it lack it: then vmAddress alone (and no IPv6 but link-local). */
  vmAddresses?: string[];
  /** TAP queues (IFF_MULTI_QUEUE when > 1). */
  queues: number;
}

export type VethStepError = StepError;

export interface VethResume {
  done: string[];
  record?: VethRecord;
}

export interface VethInput {
  settings: VethSettings;
  ifName: string;
  resume?: VethResume;
}

/** The effects the machine invokes. */
export interface VethIo {
  capture(req: { ifName: string }): Promise<VethRecord>;
  /** Removes the captured routes and addresses (not the link-local); gives the veth a new random local MAC. */
  strip(req: { record: VethRecord }): Promise<void>;
  /** Bridge + TAP (both at the veth's MTU), enslaved, up; bridge address, VM /32 route and neighbour; lo up;
   *  for an IPv6 VM: forwarding on and the veth's IPv6 routes on the bridge (src/io/ipv6-route.ts). */
  plumb(req: { record: VethRecord; settings: VethSettings }): Promise<void>;
  /** Bridge filter: DHCP neither leaves through the veth nor comes in from it; the VM speaks only as itself (anti-spoofing). */
  isolate(req: { record: VethRecord; settings: VethSettings }): Promise<void>;
  /** Resolves once the DHCP servers (v4, and DHCPv6 + RA for an IPv6 VM) answer on the bridge.
   *  `rebind` (recovery): their sockets made again, on the bridge there is now (a socket stays
   *  bound to the bridge it was made on: one deleted and made again is another). */
  startDhcp(req: { settings: VethSettings; rebind?: boolean }): Promise<void>;
  stopDhcp(req: { settings: VethSettings }): Promise<void>;
  unisolate(req: { settings: VethSettings }): Promise<void>;
  /** Deletes TAP and bridge (the veth is released from the bridge). */
  unplumb(req: { settings: VethSettings; ifName: string }): Promise<void>;
  /** Puts MAC, MTU, up state, addresses and routes back as recorded, routes in their recorded order;
   *  IPv6 forwarding as recorded once the netns holds no netlet bridge. */
  restore(req: { record: VethRecord }): Promise<void>;
}

/** VethIo's members, for wiring that finds the io when an actor runs (an object must list them). */
export const VETH_IO_METHODS = [
  'capture', 'strip', 'plumb', 'isolate', 'startDhcp', 'stopDhcp', 'unisolate', 'unplumb', 'restore',
] as const satisfies readonly (keyof VethIo)[];
