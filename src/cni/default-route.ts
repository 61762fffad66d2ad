// Default-route policy over several networks: exactly one IPv4 default route and at
// most one IPv6 one. The owner is the network marked `default-route` (Multus), else
// the first network that has one. Every other default route is dropped and reported.
import type { InterfacePlan, IpFamily, Route } from '../model/plan.js';
import { familyOf, inSubnet, isDefaultRoute } from '../model/ip.js';
import { sameIp } from './result.js';

export interface AttachmentRoutes {
  network: string;
  ifName: string;
  /** Multus `default-route` gateways; a non-empty list marks this network as the owner. */
  defaultRoute?: string[];
  interfaces: InterfacePlan[];
}

export interface DroppedRoute {
  network: string;
  /** The pod interface the route was on. */
  interface: string;
  route: Route;
  reason: string;
}

const defaultDst = (f: IpFamily): string => (f === 4 ? '0.0.0.0/0' : '::/0');

/** Applies the policy in place on copies of the interfaces; returns them and what was dropped. */
export function applyDefaultRoutePolicy(attachments: AttachmentRoutes[]): { interfaces: InterfacePlan[][]; dropped: DroppedRoute[] } {
  const copies = attachments.map((a) => a.interfaces.map((i) => ({ ...i, routes: [...i.routes] })));
  const dropped: DroppedRoute[] = [];
  const marked = attachments.findIndex((a) => (a.defaultRoute?.length ?? 0) > 0);
  for (const family of [4, 6] as const) {
    type Found = { att: number; iface: InterfacePlan; route: Route };
    const found: Found[] = [];
    copies.forEach((ifaces, att) => ifaces.forEach((iface) => iface.routes.forEach((route) => {
      if (route.family === family && isDefaultRoute(route.dst)) found.push({ att, iface, route });
    })));
    let owner: Found | undefined;
    if (marked >= 0) {
      const gw = attachments[marked]!.defaultRoute!.find((g) => familyOf(g) === family);
      owner = found.find((f) => f.att === marked && (!gw || (f.route.gateway !== undefined && sameIp(f.route.gateway, gw))));
      if (!owner && gw) {
        // Multus semantics: the marked network gets a default route via the named gateway.
        const ifaces = copies[marked]!;
        const iface = ifaces.find((i) => i.ips.some((x) => x.family === family && inSubnet(gw, x.address, x.prefixLength)))
          ?? ifaces.find((i) => i.ips.some((x) => x.family === family)) ?? ifaces[0];
        if (iface) {
          const route: Route = { dst: defaultDst(family), family, gateway: gw };
          iface.routes.push(route);
          owner = { att: marked, iface, route };
        }
      }
    }
    owner ??= found[0];
    for (const f of found) {
      if (f === owner || f.route === owner?.route) continue;
      const ownerNet = owner ? attachments[owner.att]!.network : '';
      const reason = owner && owner.att === f.att
        ? `a second IPv${family} default route of network ${ownerNet}; only the first is kept`
        : `IPv${family} default route belongs to network ${ownerNet}${marked === owner?.att ? ' (marked default-route)' : ' (the first network)'}`;
      f.iface.routes = f.iface.routes.filter((r) => r !== f.route);
      dropped.push({ network: attachments[f.att]!.network, interface: f.iface.name, route: f.route, reason });
    }
  }
  return { interfaces: copies, dropped };
}
