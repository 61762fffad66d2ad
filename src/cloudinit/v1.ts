// Network Config Version 1: one `physical` entry per interface, subnets per address,
// routes inside the subnet (guests ignore top-level `route` entries), one `nameserver`.
import type { PodNetworkPlan } from '../model/index.js';
import { prefixToMask } from '../model/index.js';
import { layoutPlan, routesBySubnet, type FamilyLayout, type InterfaceLayout, type LaidRoute, type PlanLayout } from './layout.js';
import { onLinkGateway } from './onlink.js';
import type { NetworkConfigV1, V1Physical, V1Route, V1Subnet } from './types.js';

export function networkConfigV1FromLayout(layout: PlanLayout): NetworkConfigV1 {
  const config: NetworkConfigV1['config'] = layout.interfaces.map(physical);
  if (layout.nameservers.length > 0 || layout.search.length > 0) {
    config.push({ type: 'nameserver', address: layout.nameservers, search: layout.search });
  }
  return { version: 1, config };
}

export const networkConfigV1 = (plan: PodNetworkPlan): NetworkConfigV1 =>
  networkConfigV1FromLayout(layoutPlan(plan));

function physical(i: InterfaceLayout): V1Physical {
  const subnets: V1Subnet[] = i.dhcp ? [{ type: 'dhcp' }] : [...familySubnets(i.v4), ...familySubnets(i.v6)];
  return {
    type: 'physical',
    name: i.name,
    mac_address: i.mac,
    ...(i.mtu !== undefined ? { mtu: i.mtu } : {}),
    subnets,
  };
}

function familySubnets(f: FamilyLayout): V1Subnet[] {
  const { primary, routes: bySubnet } = routesBySubnet(f, false);
  return f.addresses.map((a, index) => {
    const routes = (bySubnet[index] ?? []).map(v1Route);
    const extra = {
      ...(index === primary && f.subnetGateway !== undefined ? { gateway: f.subnetGateway } : {}),
      ...(routes.length > 0 ? { routes } : {}),
    };
    return a.family === 4
      ? { type: 'static', address: a.address, netmask: prefixToMask(a.prefixLength), ...extra }
      : { type: 'static6', address: `${a.address}/${a.prefixLength}`, ...extra };
  });
}

function v1Route(r: LaidRoute): V1Route {
  const gateway = r.gateway ?? onLinkGateway(r.family);
  return r.family === 4
    ? { network: r.network, netmask: prefixToMask(r.prefixLength), gateway }
    : { network: `${r.network}/${r.prefixLength}`, gateway };
}
