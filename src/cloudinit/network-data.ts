// OpenStack network_data.json for a ConfigDrive: links (NICs by MAC), networks (one
// per address, each with the routes through it), services (DNS).
import type { PodNetworkPlan } from '../model/index.js';
import { prefixToMask } from '../model/index.js';
import { ipv6PrefixToMask } from './ipv6-mask.js';
import { layoutPlan, routesBySubnet, type FamilyLayout, type InterfaceLayout, type LaidRoute, type PlanLayout } from './layout.js';
import { onLinkGateway } from './onlink.js';
import type { NdNetwork, NdRoute, NdService, NetworkData } from './types.js';

export function networkDataFromLayout(layout: PlanLayout): NetworkData {
  const networks: NdNetwork[] = [];
  for (const i of layout.interfaces) networks.push(...interfaceNetworks(i, networks.length));
  return {
    links: layout.interfaces.map((i) => ({
      id: i.name,
      name: i.name,
      type: 'phy' as const,
      ethernet_mac_address: i.mac,
      ...(i.mtu !== undefined ? { mtu: i.mtu } : {}),
    })),
    networks,
    services: layout.nameservers.map(
      // cloud-init turns each service into a `nameserver` entry and merges their search
      // lists: give the list once.
      (address, index): NdService => ({ type: 'dns', address, ...(index === 0 && layout.search.length > 0 ? { search: layout.search } : {}) }),
    ),
  };
}

export const networkData = (plan: PodNetworkPlan): NetworkData => networkDataFromLayout(layoutPlan(plan));

function interfaceNetworks(i: InterfaceLayout, firstIndex: number): NdNetwork[] {
  let n = firstIndex;
  const id = (): string => `network${n++}`;
  if (i.dhcp) return [{ id: id(), type: 'ipv4_dhcp', link: i.name, network_id: i.network }];
  const familyNetworks = (f: FamilyLayout): NdNetwork[] => {
    const { routes } = routesBySubnet(f, true);
    return f.addresses.map((a, index) => ({
      id: id(),
      type: a.family === 4 ? ('ipv4' as const) : ('ipv6' as const),
      link: i.name,
      network_id: i.network,
      ip_address: a.address,
      netmask: mask(a.family, a.prefixLength),
      routes: (routes[index] ?? []).map(ndRoute),
    }));
  };
  return [...familyNetworks(i.v4), ...familyNetworks(i.v6)];
}

const mask = (family: 4 | 6, prefixLength: number): string => (family === 4 ? prefixToMask(prefixLength) : ipv6PrefixToMask(prefixLength));

const ndRoute = (r: LaidRoute): NdRoute => ({
  network: r.network,
  netmask: mask(r.family, r.prefixLength),
  gateway: r.gateway ?? onLinkGateway(r.family),
});
