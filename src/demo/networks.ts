// The demo's embedded CNI network configs: the real Debian bridge plugin with
// host-local IPAM, one network per VM interface; with ipv6, dual stack (an IPv4 and an
// IPv6 range; the first network also carries the IPv6 default route).
export interface DemoNetwork {
  name: string;
  bridge: string;
  subnet: string;
  gateway: string;
  /** With ipv6: the IPv6 range and its gateway (on the node's bridge). */
  subnet6?: string;
  gateway6?: string;
  config: Record<string, unknown>;
}

export function demoNetworks(count: number, dataDir: string, tag: string, ipv6 = false): DemoNetwork[] {
  return Array.from({ length: count }, (_, i) => {
    const n = i + 1;
    const subnet = `10.250.${n}.0/24`;
    const gateway = `10.250.${n}.1`;
    const name = `demo-net${n}`;
    // The first network carries the default route and an extra one; the others only their subnet.
    const routes = n === 1 ? [{ dst: '0.0.0.0/0' }, { dst: '10.251.0.0/16' }] : [];
    const subnet6 = `fd50:${n}::/64`;
    const gateway6 = `fd50:${n}::1`;
    const ipam = ipv6
      ? { type: 'host-local', dataDir, ranges: [[{ subnet, gateway }], [{ subnet: subnet6, gateway: gateway6 }]], routes: n === 1 ? [...routes, { dst: '::/0' }] : routes }
      : { type: 'host-local', dataDir, subnet, gateway, routes };
    return {
      name,
      bridge: `${tag}b${n}`,
      subnet,
      gateway,
      ...(ipv6 ? { subnet6, gateway6 } : {}),
      config: {
        cniVersion: '1.0.0',
        name,
        plugins: [
          {
            type: 'bridge',
            bridge: `${tag}b${n}`,
            isGateway: true,
            mtu: n === 1 ? 1450 : 1500,
            ipam,
            dns: { nameservers: [`10.250.${n}.53`, ...(ipv6 ? [`fd50:${n}::53`] : [])], search: [`net${n}.demo.svc.cluster.local`] },
          },
        ],
      },
    };
  });
}
