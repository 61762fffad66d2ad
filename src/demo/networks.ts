// The demo's embedded CNI network configs: the real Debian bridge plugin with
// host-local IPAM, one network per VM interface.
export interface DemoNetwork {
  name: string;
  bridge: string;
  subnet: string;
  gateway: string;
  config: Record<string, unknown>;
}

export function demoNetworks(count: number, dataDir: string, tag: string): DemoNetwork[] {
  return Array.from({ length: count }, (_, i) => {
    const n = i + 1;
    const subnet = `10.250.${n}.0/24`;
    const gateway = `10.250.${n}.1`;
    const name = `demo-net${n}`;
    // The first network carries the default route and an extra one; the others only their subnet.
    const routes = n === 1 ? [{ dst: '0.0.0.0/0' }, { dst: '10.251.0.0/16' }] : [];
    return {
      name,
      bridge: `${tag}b${n}`,
      subnet,
      gateway,
      config: {
        cniVersion: '1.0.0',
        name,
        plugins: [
          {
            type: 'bridge',
            bridge: `${tag}b${n}`,
            isGateway: true,
            mtu: n === 1 ? 1450 : 1500,
            ipam: { type: 'host-local', dataDir, subnet, gateway, routes },
            dns: { nameservers: [`10.250.${n}.53`], search: [`net${n}.demo.svc.cluster.local`] },
          },
        ],
      },
    };
  });
}
