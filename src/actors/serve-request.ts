// What the DHCP pool serves for one veth interface, from its plan: DHCPv4 when it has an
// IPv4 address, DHCPv6 + RAs when it has a global IPv6 address (docs/ipv6.md).
import { configFromPlan } from '../dhcp/index.js';
import { dhcp6ConfigFromPlan } from '../dhcp6/index.js';
import { raFromPlan } from '../ra/index.js';
import { ipv6Scope } from '../model/ipv6.js';
import type { PodNetworkPlan, InterfacePlan } from '../model/plan.js';
import type { VethSettings } from '../machines/veth-contract.js';
import type { ServeRequest } from '../io/dhcp-protocol.js';

export type ServeParts = Pick<ServeRequest, 'config' | 'ipv6'>;

/** undefined: nothing to serve (no IPv4 and no global IPv6 address). */
export function servePartsFor(iface: InterfacePlan, plan: PodNetworkPlan, s: VethSettings, leaseSeconds?: number): ServeParts | undefined {
  const parts: ServeParts = {};
  if (iface.ips.some((ip) => ip.family === 4)) {
    parts.config = configFromPlan(iface, plan.dns, {
      serverId: s.bridgeAddress,
      ...(plan.hostname ? { hostname: plan.hostname } : {}),
      ...(leaseSeconds ? { leaseSeconds } : {}),
    });
  }
  if (iface.ips.some((ip) => ip.family === 6 && ipv6Scope(ip.address) === 'global')) {
    const life = leaseSeconds ? { preferredLifetime: leaseSeconds, validLifetime: leaseSeconds } : {};
    const ra = raFromPlan(iface, plan.dns, { bridgeMac: s.bridgeMac });
    parts.ipv6 = {
      dhcp6: dhcp6ConfigFromPlan(iface, plan.dns, { bridgeMac: s.bridgeMac, ...life }),
      ra: ra.advertisement,
      ...(ra.dropped ? { raDropped: ra.dropped } : {}),
    };
  }
  return parts.config || parts.ipv6 ? parts : undefined;
}
