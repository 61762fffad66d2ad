// Routes and addresses as the kernel holds them, in a form that can be written back
// exactly: any table, both families, the kernel's numbers for type/protocol/scope.
// Pure data and the keys that say which routes compete for one destination.

export interface KernelNexthop {
  dev: string;
  gateway?: string;
  /** rtnh_hops + 1, as `ip route` shows it. */
  weight: number;
  onlink?: boolean;
}

export interface KernelRoute {
  family: 4 | 6;
  table: number;
  /** CIDR; 0.0.0.0/0 or ::/0 for default. */
  dst: string;
  /** IPv6 source-specific routes (`from`). */
  src?: string;
  tos?: number;
  /** RTA_PRIORITY; IPv6 routes always have one. */
  metric?: number;
  /** RTN_* (1 unicast, 6 blackhole, ...). */
  type: number;
  /** RTPROT_* (2 kernel, 3 boot, 4 static, ...). */
  protocol: number;
  /** RT_SCOPE_* (0 universe, 253 link, 254 host). */
  scope: number;
  onlink?: boolean;
  dev?: string;
  gateway?: string;
  prefsrc?: string;
  /** IPv6 router preference (RTA_PREF). */
  pref?: number;
  /** RTA_METRICS members (mtu, advmss, ...), hex of their raw values. */
  metrics?: Record<string, string>;
  /** An IPv4 multipath route's nexthops (IPv6 siblings are separate routes). */
  nexthops?: KernelNexthop[];
}

/** For each destination that several routes compete for, their order (member ids), first used first. */
export type RouteOrder = Record<string, string[]>;

export const RT_TABLE_MAIN = 254;
export const RT_TABLE_LOCAL = 255;
export const RTPROT_KERNEL = 2;
export const RTPROT_RA = 9;

/** Routes the kernel orders among themselves: same family, table, destination, source, TOS and metric. */
export const routeGroupKey = (r: KernelRoute): string =>
  `${r.family} t${r.table} ${r.dst}${r.src ? ` from ${r.src}` : ''} tos${r.tos ?? 0} m${r.metric ?? (r.family === 6 ? 1024 : 0)}`;

/** One route within its group: what the kernel tells it apart by. */
export function routeMemberId(r: KernelRoute): string {
  if (r.nexthops?.length) return `t${r.type} ${r.nexthops.map((n) => `${n.gateway ?? ''}@${n.dev}`).join(',')}`;
  return `t${r.type} ${r.gateway ?? ''}@${r.dev ?? ''}`;
}

export const routeId = (r: KernelRoute): string => `${routeGroupKey(r)} | ${routeMemberId(r)}`;

/** The devices a route sends through. */
export const routeDevs = (r: KernelRoute): string[] =>
  r.nexthops?.length ? r.nexthops.map((n) => n.dev) : r.dev ? [r.dev] : [];

export const routeUses = (r: KernelRoute, dev: string): boolean => routeDevs(r).includes(dev);

/** The order of every group of two or more routes, as the kernel listed them. */
export function routeOrder(routes: KernelRoute[], only?: (r: KernelRoute) => boolean): RouteOrder {
  const groups = new Map<string, KernelRoute[]>();
  for (const r of routes) {
    const k = routeGroupKey(r);
    groups.set(k, [...(groups.get(k) ?? []), r]);
  }
  const out: RouteOrder = {};
  for (const [k, rs] of groups) {
    if (rs.length > 1 && (!only || rs.some(only))) out[k] = rs.map(routeMemberId);
  }
  return out;
}

/** The groups of `order` that have a route through `dev`. */
export function routeOrderFor(order: RouteOrder, dev: string): RouteOrder {
  const uses = (id: string): boolean => id.endsWith(`@${dev}`) || id.includes(`@${dev},`);
  return Object.fromEntries(Object.entries(order).filter(([, ids]) => ids.some(uses)));
}

/**
 * The members that must move (be deleted and appended again, in this order) so that `current`
 * lists the routes that `want` knows in `want`'s order. Members `want` does not know stay put.
 */
export function routesToMove(current: string[], want: string[]): string[] {
  const known = new Set(want);
  const have = new Set(current);
  const now = current.filter((m) => known.has(m));
  const goal = want.filter((m) => have.has(m));
  const i = now.findIndex((m, j) => m !== goal[j]);
  return i < 0 ? [] : goal.slice(i);
}

/** A captured interface address: CIDR, with what `ip addr` shows of it. */
export interface KernelAddress {
  address: string;
  /** IPv4: the broadcast it had, or 'none'. */
  broadcast?: string;
  /** IFA_F_* flags that can be set (nodad, noprefixroute, managetempaddr, homeaddress). */
  flags?: string[];
}

/** A route as records before version 2 held it (main table, IPv4, through the veth). */
export interface LegacyRoute {
  dst: string;
  gateway?: string;
  scope: 'link' | 'universe';
  metric?: number;
  prefsrc?: string;
  protocol: 'boot' | 'static';
}
