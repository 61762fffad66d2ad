// What every renderer needs from a plan, decided once: which interface carries each
// family's default route, the order of routes (on-link routes before the gateways
// that need them) and whether a default gateway fits a subnet's `gateway` key.
import {
  NetletError,
  inSubnet,
  ipv4Network,
  normaliseMac,
  parseCidr,
  type Dns,
  type InterfacePlan,
  type IpConfig,
  type IpFamily,
  type PodNetworkPlan,
  type Route,
} from '../model/index.js';

export interface LaidRoute {
  /** Network address (IPv4 masked to the prefix). */
  network: string;
  prefixLength: number;
  family: IpFamily;
  /** Undefined: an on-link route (scope link, no next hop). */
  gateway?: string;
  /** The gateway lies in no address's subnet: it is reached through an on-link route. */
  viaOnLink: boolean;
  isDefault: boolean;
}

export interface FamilyLayout {
  family: IpFamily;
  addresses: IpConfig[];
  /** Routes to render, in order. Includes the default route when this interface carries it. */
  routes: LaidRoute[];
  /** The default gateway when it lies inside one of `addresses`' subnets (v1's subnet `gateway`). */
  subnetGateway?: string;
}

export interface InterfaceLayout {
  name: string;
  network: string;
  mac: string;
  mtu?: number;
  v4: FamilyLayout;
  v6: FamilyLayout;
  /** No address at all: the guest asks DHCP (netlet's DHCP server answers on veth links). */
  dhcp: boolean;
}

export interface PlanLayout {
  podId: string;
  interfaces: InterfaceLayout[];
  nameservers: string[];
  search: string[];
}

/** Any /0, however spelt ("0.0.0.0/0", "::/0", "0::/0"). */
const isDefaultRoute = (r: Route): boolean => parseCidr(r.dst)?.prefixLength === 0;

const hostPrefix = (f: IpFamily): number => (f === 4 ? 32 : 128);

export function layoutPlan(plan: PodNetworkPlan): PlanLayout {
  // A guest has one default route per family: the first interface (plan order) that has
  // both an address of that family and a default route keeps it; the others drop theirs.
  const carrier = (f: IpFamily): InterfacePlan | undefined =>
    plan.interfaces.find((i) => i.ips.some((a) => a.family === f) && i.routes.some((r) => r.family === f && isDefaultRoute(r)));
  const carriers = { 4: carrier(4), 6: carrier(6) };
  return {
    podId: plan.podId,
    interfaces: plan.interfaces.map((iface) => layoutInterface(iface, carriers)),
    ...dnsLists(plan.dns),
  };
}

function layoutInterface(iface: InterfacePlan, carriers: Record<IpFamily, InterfacePlan | undefined>): InterfaceLayout {
  const mac = iface.mac === undefined ? undefined : normaliseMac(iface.mac);
  if (!mac) {
    throw new NetletError('CLOUDINIT_NO_MAC', `interface ${iface.name}: cloud-init matches NICs by MAC, and the plan has ${iface.mac === undefined ? 'none' : `an invalid one (${iface.mac})`}; fill InterfacePlan.mac first`, { interface: iface.name });
  }
  const v4 = layoutFamily(iface, 4, carriers[4] === iface);
  const v6 = layoutFamily(iface, 6, carriers[6] === iface);
  return {
    name: iface.name,
    network: iface.network,
    mac,
    ...(iface.mtu !== undefined ? { mtu: iface.mtu } : {}),
    v4,
    v6,
    dhcp: iface.ips.length === 0,
  };
}

function layoutFamily(iface: InterfacePlan, family: IpFamily, carriesDefault: boolean): FamilyLayout {
  const addresses = iface.ips.filter((a) => a.family === family);
  // Routes without an address of their family have nothing to hang on in v1; DHCP brings its own.
  if (addresses.length === 0) return { family, addresses, routes: [] };

  let seenDefault = false;
  const wanted = iface.routes.filter((r) => {
    if (r.family !== family) return false;
    if (!isDefaultRoute(r)) return true;
    if (!carriesDefault || seenDefault) return false;
    seenDefault = true;
    return true;
  });
  // An IPv6 link-local gateway (Calico's fe80::ecee:eeff:feee:eeee) is on the link by definition.
  const inAddressSubnet = (gw: string): boolean =>
    (family === 6 && inSubnet(gw, 'fe80::', 10)) || addresses.some((a) => inSubnet(gw, a.address, a.prefixLength));

  const routes: LaidRoute[] = [];
  const taken = new Set<number>();
  wanted.forEach((route, index) => {
    if (taken.has(index)) return;
    const laid = laidRoute(route, iface);
    if (laid.gateway !== undefined && !inAddressSubnet(laid.gateway)) {
      laid.viaOnLink = true;
      const gw = laid.gateway;
      const covers = (r: LaidRoute): boolean => r.gateway === undefined && inSubnet(gw, r.network, r.prefixLength);
      if (!routes.some(covers)) {
        // The plan lists on-link routes first; if one comes later, or is missing, put it here:
        // a route via an unreachable gateway fails to install.
        const later = wanted.findIndex((r, j) => j > index && !taken.has(j) && r.gateway === undefined && covers(laidRoute(r, iface)));
        const onLinkRoute = wanted[later];
        if (onLinkRoute) taken.add(later);
        routes.push(onLinkRoute ? laidRoute(onLinkRoute, iface) : { network: gw, prefixLength: hostPrefix(family), family, viaOnLink: false, isDefault: false });
      }
    }
    routes.push(laid);
  });

  const defaultGateway = routes.find((r) => r.isDefault)?.gateway;
  const subnetGateway = defaultGateway !== undefined && inAddressSubnet(defaultGateway) ? defaultGateway : undefined;
  return { family, addresses, routes, ...(subnetGateway ? { subnetGateway } : {}) };
}

function laidRoute(route: Route, iface: InterfacePlan): LaidRoute {
  const cidr = parseCidr(route.dst);
  if (!cidr || cidr.family !== route.family) {
    throw new NetletError('CLOUDINIT_BAD_ROUTE', `interface ${iface.name}: route destination ${route.dst} is not an IPv${route.family} CIDR`, { interface: iface.name, route });
  }
  const network = cidr.family === 4 ? ipv4Network(cidr.address, cidr.prefixLength) : cidr.address;
  return {
    network,
    prefixLength: cidr.prefixLength,
    family: cidr.family,
    ...(route.gateway !== undefined ? { gateway: route.gateway } : {}),
    viaOnLink: false,
    isDefault: cidr.prefixLength === 0,
  };
}

/** resolv.conf's `domain` and `search` exclude each other; search wins, domain fills in. */
function dnsLists(dns: Dns): { nameservers: string[]; search: string[] } {
  const search = dns.search.length > 0 ? dns.search : dns.domain ? [dns.domain] : [];
  return { nameservers: [...dns.nameservers], search: [...search] };
}

/**
 * The family's routes split over its addresses, for formats that hang routes on a subnet
 * (v1, network_data.json). A route goes with the address whose subnet reaches its gateway
 * (eni adds it once that address is up); on-link routes and the routes through them stay
 * together, in order, on the primary address (the one reaching the default gateway, else
 * the first). `withSubnetDefault: false` leaves out a default route that v1 spells as the
 * subnet's `gateway`.
 */
export function routesBySubnet(f: FamilyLayout, withSubnetDefault: boolean): { primary: number; routes: LaidRoute[][] } {
  const subnetOf = (gw: string | undefined): number =>
    gw === undefined ? -1 : f.addresses.findIndex((a) => inSubnet(gw, a.address, a.prefixLength));
  const primary = Math.max(0, subnetOf(f.subnetGateway));
  const routes = f.addresses.map((): LaidRoute[] => []);
  for (const r of f.routes) {
    if (r.isDefault && f.subnetGateway !== undefined && !withSubnetDefault) continue;
    const at = subnetOf(r.gateway);
    routes[at < 0 ? primary : at]?.push(r);
  }
  return { primary, routes };
}
