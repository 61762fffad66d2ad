// Every route of a netns (all tables but `local`, both families) as KernelRoute data,
// and the writes that put one back exactly where it was among routes to the same
// destination. The kernel lists routes to one destination in the order it uses them.
import netlinkPkg from 'netlink';
import type { rt as RtTypes } from 'netlink';
import { ignoreErrno, SysError } from '../model/errors.js';
import { bytesToIp, ipToBytes, parseCidr } from '../model/ip.js';
import {
  RT_TABLE_LOCAL, routeGroupKey, routeMemberId, routesToMove,
  type KernelNexthop, type KernelRoute, type RouteOrder,
} from '../model/kernel-route.js';
import type { LinkInfo, Rtnl } from './rtnl.js';

const { rt: rtEnums } = netlinkPkg;
const AF = { 4: 2, 6: 10 } as const;
const RTNH_F_ONLINK = 4;
const RTA_GATEWAY = 5;
const RT_TABLE_COMPAT = 252;

/** The package names enum members it knows: turn them back into the kernel's numbers. */
function num(v: unknown, names: Record<string, unknown>): number {
  if (typeof v === 'number') return v;
  if (typeof v === 'string' && typeof names[v] === 'number') return names[v];
  return 0;
}

const rawFlags = (f: unknown): number => (f ? rtEnums.formatRouteFlags(f) : 0);

function parseMultipath(buf: Buffer, names: Map<number, string>): KernelNexthop[] {
  const out: KernelNexthop[] = [];
  for (let off = 0; off + 8 <= buf.length; ) {
    const len = buf.readUInt16LE(off);
    if (len < 8) break;
    const flags = buf.readUInt8(off + 2);
    const nh: KernelNexthop = { dev: names.get(buf.readInt32LE(off + 4)) ?? `if${buf.readInt32LE(off + 4)}`, weight: buf.readUInt8(off + 3) + 1 };
    for (let a = off + 8; a + 4 <= off + len; ) {
      const alen = buf.readUInt16LE(a);
      if (alen < 4) break;
      if (buf.readUInt16LE(a + 2) === RTA_GATEWAY) nh.gateway = bytesToIp(buf.subarray(a + 4, a + alen));
      a += (alen + 3) & ~3;
    }
    if (flags & RTNH_F_ONLINK) nh.onlink = true;
    out.push(nh);
    off += (len + 3) & ~3;
  }
  return out;
}

function formatMultipath(nhs: KernelNexthop[], index: (dev: string) => number): Buffer {
  return Buffer.concat(nhs.map((nh) => {
    const gw = nh.gateway ? ipToBytes(nh.gateway) : undefined;
    const attr = gw ? Buffer.alloc((4 + gw.length + 3) & ~3) : Buffer.alloc(0);
    if (gw) {
      attr.writeUInt16LE(4 + gw.length, 0);
      attr.writeUInt16LE(RTA_GATEWAY, 2);
      gw.copy(attr, 4);
    }
    const head = Buffer.alloc(8);
    head.writeUInt16LE(8 + attr.length, 0);
    head.writeUInt8(nh.onlink ? RTNH_F_ONLINK : 0, 2);
    head.writeUInt8(Math.max(0, nh.weight - 1), 3);
    head.writeInt32LE(index(nh.dev), 4);
    return Buffer.concat([head, attr]);
  }));
}

/**
 * One message as routes (an IPv6 multipath message is one route per sibling: the kernel
 * adds and deletes them one by one). `exact` is false when the message holds what a
 * KernelRoute cannot write back (nexthop objects, encapsulation, marks).
 */
function decode(m: { data: RtTypes.Route; attrs: RtTypes.RouteAttrs }, family: 4 | 6, names: Map<number, string>): { routes: KernelRoute[]; exact: boolean } {
  const d = m.data;
  const a = m.attrs;
  const base: KernelRoute = {
    family,
    table: a.table ?? d.table ?? 0,
    dst: a.dst ? `${bytesToIp(a.dst)}/${d.dstLen ?? 0}` : family === 4 ? '0.0.0.0/0' : '::/0',
    type: num(d.type, rtEnums.RouteType),
    protocol: num(d.protocol, rtEnums.RouteProtocol),
    scope: num(d.scope, rtEnums.RouteScope),
  };
  if (a.src) base.src = `${bytesToIp(a.src)}/${d.srcLen ?? 0}`;
  if (d.tos) base.tos = d.tos;
  if (a.priority !== undefined) base.metric = a.priority;
  if (a.prefsrc) base.prefsrc = bytesToIp(a.prefsrc);
  if (a.pref?.length) base.pref = a.pref.readUInt8(0);
  if (a.metrics) {
    const metrics = Object.fromEntries(Object.entries(a.metrics).filter(([k, v]) => !k.startsWith('__') && Buffer.isBuffer(v)).map(([k, v]) => [k, (v as Buffer).toString('hex')]));
    if (Object.keys(metrics).length) base.metrics = metrics;
  }
  const onlink = (rawFlags(d.flags) & RTNH_F_ONLINK) !== 0;
  const exact = !(a.encap || a.encapType || a.nhId || a.via || a.mark);
  if (a.multipath) {
    const nhs = parseMultipath(a.multipath, names);
    if (family === 6) {
      return { routes: nhs.map((nh) => ({ ...base, dev: nh.dev, ...(nh.gateway ? { gateway: nh.gateway } : {}), ...(nh.onlink ? { onlink: true } : {}) })), exact };
    }
    return { routes: [{ ...base, nexthops: nhs }], exact };
  }
  const r: KernelRoute = { ...base };
  if (onlink) r.onlink = true;
  if (a.oif !== undefined) r.dev = names.get(a.oif) ?? `if${a.oif}`;
  if (a.gateway) r.gateway = bytesToIp(a.gateway);
  return { routes: [r], exact };
}

export interface RouteDump {
  routes: KernelRoute[];
  /** Ids of routes (routeId) that cannot be written back exactly. */
  inexact: Set<string>;
  /** ifindex by link name, as of the dump. */
  index: Map<string, number>;
}

/** Every route of the netns but the `local` table's, in kernel order. */
export async function dumpRoutes(rt: Rtnl, linkDump?: LinkInfo[]): Promise<RouteDump> {
  // A caller that has just dumped the links passes them: one request less.
  const links = linkDump ?? (await rt.links());
  const names = new Map(links.map((l) => [l.index, l.name]));
  const index = new Map(links.map((l) => [l.name, l.index]));
  const routes: KernelRoute[] = [];
  const inexact = new Set<string>();
  for (const family of [4, 6] as const) {
    for (const m of await rt.routeMessages(family)) {
      const { routes: rs, exact } = decode(m, family, names);
      for (const r of rs) {
        if (r.table === RT_TABLE_LOCAL) continue;
        routes.push(r);
        if (!exact) inexact.add(`${routeGroupKey(r)} | ${routeMemberId(r)}`);
      }
    }
  }
  return { routes, inexact, index };
}

function encode(r: KernelRoute, index: (dev: string) => number): [RtTypes.Route, RtTypes.RouteAttrs] {
  const dst = parseCidr(r.dst);
  if (!dst) throw new SysError('EINVAL', 'rtnetlink route', `not a CIDR destination: ${r.dst}`);
  const src = r.src ? parseCidr(r.src) : undefined;
  const data: RtTypes.Route = {
    family: AF[r.family],
    dstLen: dst.prefixLength,
    srcLen: src?.prefixLength ?? 0,
    tos: r.tos ?? 0,
    table: r.table > 255 ? RT_TABLE_COMPAT : r.table,
    protocol: r.protocol,
    scope: r.scope,
    type: r.type,
  };
  if (r.onlink) data.flags = rtEnums.parseRouteFlags(RTNH_F_ONLINK);
  const attrs: RtTypes.RouteAttrs = { table: r.table };
  if (dst.prefixLength > 0) attrs.dst = ipToBytes(dst.address);
  if (src && src.prefixLength > 0) attrs.src = ipToBytes(src.address);
  if (r.metric !== undefined) attrs.priority = r.metric;
  if (r.prefsrc) attrs.prefsrc = ipToBytes(r.prefsrc);
  if (r.pref !== undefined) attrs.pref = Buffer.from([r.pref]);
  if (r.metrics) attrs.metrics = Object.fromEntries(Object.entries(r.metrics).map(([k, v]) => [k, Buffer.from(v, 'hex')]));
  if (r.nexthops?.length) attrs.multipath = formatMultipath(r.nexthops, index);
  else {
    if (r.dev) attrs.oif = index(r.dev);
    if (r.gateway) attrs.gateway = ipToBytes(r.gateway);
  }
  return [data, attrs];
}

const indexer = (m: Map<string, number>) => (dev: string): number => {
  const i = m.get(dev);
  if (i === undefined) throw new SysError('ENODEV', 'rtnetlink route', `no link named ${dev} for a route through it`, { dev });
  return i;
};

/** Adds a route behind the routes to its destination; "already there" counts as done. */
export async function addKernelRoute(rt: Rtnl, r: KernelRoute, index: Map<string, number>): Promise<void> {
  const [d, a] = encode(r, indexer(index));
  // IPv6 has no prepend: a plain create goes behind routes of the same metric.
  await ignoreErrno(rt.newRouteMessage(d, a, r.family === 4 ? 'append' : 'create'), 'EEXIST');
}

/** Deletes exactly this route; "not there" counts as done. */
export async function delKernelRoute(rt: Rtnl, r: KernelRoute, index: Map<string, number>): Promise<void> {
  const [d, a] = encode(r, indexer(index));
  // Scope NOWHERE and protocol 0 match any (like `ip route del`); the nexthop picks the member.
  d.scope = 255;
  d.protocol = 0 as never;
  await ignoreErrno(rt.delRouteMessage(d, a), 'ESRCH', 'ENODEV');
}

/**
 * Puts the routes of each group in `order` back in that order, moving (delete, append)
 * those that stand wrong. Only groups whose routes can all be written back are touched.
 * Returns the ids of the groups it had to reorder.
 */
export async function reorderRoutes(rt: Rtnl, order: RouteOrder, links?: LinkInfo[]): Promise<string[]> {
  if (Object.keys(order).length === 0) return [];
  const dump = await dumpRoutes(rt, links);
  const fixed: string[] = [];
  for (const [key, want] of Object.entries(order)) {
    const members = dump.routes.filter((r) => routeGroupKey(r) === key);
    const move = routesToMove(members.map(routeMemberId), want);
    if (move.length === 0) continue;
    const byId = new Map(members.map((r) => [routeMemberId(r), r]));
    if (move.some((id) => dump.inexact.has(`${key} | ${id}`))) continue;
    for (const id of move) {
      const r = byId.get(id)!;
      await delKernelRoute(rt, r, dump.index);
      await addKernelRoute(rt, r, dump.index);
    }
    fixed.push(key);
  }
  return fixed;
}
