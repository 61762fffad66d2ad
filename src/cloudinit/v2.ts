// Network Config Version 2 (netplan syntax): one `ethernets` entry per interface,
// matched by MAC and renamed to the pod's interface name.
import type { PodNetworkPlan } from '../model/index.js';
import { layoutPlan, type InterfaceLayout, type LaidRoute, type PlanLayout } from './layout.js';
import { onLinkGateway } from './onlink.js';
import type { NetworkConfigV2, V2Ethernet, V2Route } from './types.js';

export function networkConfigV2FromLayout(layout: PlanLayout): NetworkConfigV2 {
  // netplan has no global resolver section: the interface with the default route carries it.
  const dnsHolder = layout.interfaces.find((i) => i.v4.routes.some((r) => r.isDefault) || i.v6.routes.some((r) => r.isDefault)) ?? layout.interfaces[0];
  const hasDns = layout.nameservers.length > 0 || layout.search.length > 0;
  const ethernets: Record<string, V2Ethernet> = {};
  for (const i of layout.interfaces) {
    ethernets[i.name] = ethernet(i, hasDns && i === dnsHolder ? layout : undefined);
  }
  return { version: 2, ethernets };
}

export const networkConfigV2 = (plan: PodNetworkPlan): NetworkConfigV2 =>
  networkConfigV2FromLayout(layoutPlan(plan));

function ethernet(i: InterfaceLayout, dns: PlanLayout | undefined): V2Ethernet {
  const addresses = [...i.v4.addresses, ...i.v6.addresses].map((a) => `${a.address}/${a.prefixLength}`);
  // cloud-init 22.4 turns a v2 route to "::/0" into "::/64" when it converts v2 for
  // networkd/eni (it normalises routes twice and the second pass drops prefix 0), so the
  // IPv6 default travels as `gateway6`, which it converts right. IPv4's "0.0.0.0/0" survives.
  const gateway6 = i.v6.routes.find((r) => r.isDefault && r.gateway !== undefined)?.gateway;
  const routes = [...i.v4.routes, ...i.v6.routes.filter((r) => !(r.isDefault && r.gateway === gateway6))].map(v2Route);
  return {
    match: { macaddress: i.mac },
    'set-name': i.name,
    ...(addresses.length > 0 ? { addresses } : {}),
    ...(i.dhcp ? { dhcp4: true as const } : {}),
    ...(gateway6 !== undefined ? { gateway6 } : {}),
    ...(i.mtu !== undefined ? { mtu: i.mtu } : {}),
    ...(routes.length > 0 ? { routes } : {}),
    ...(dns ? { nameservers: { addresses: dns.nameservers, search: dns.search } } : {}),
  };
}

function v2Route(r: LaidRoute): V2Route {
  return {
    to: `${r.network}/${r.prefixLength}`,
    // Same spelling as cloud-init's own v1->netplan output, and it survives cloud-init's
    // v2->v1 conversion (which drops `on-link` and `scope`) on non-netplan guests.
    via: r.gateway ?? onLinkGateway(r.family),
    ...(r.viaOnLink ? { 'on-link': true as const } : {}),
  };
}
