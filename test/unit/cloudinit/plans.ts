// The input plans behind the golden files in test/fixtures/cloudinit/<case>/.
import type { Dns, InterfacePlan, PodNetworkPlan } from '../../../src/model/index.js';

const clusterDns: Dns = {
  nameservers: ['10.96.0.10'],
  search: ['default.svc.cluster.local', 'svc.cluster.local', 'cluster.local'],
  options: ['ndots:5'],
};
const noDns: Dns = { nameservers: [], search: [], options: [] };

const veth = (over: Partial<InterfacePlan> & Pick<InterfacePlan, 'name' | 'mac'>): InterfacePlan => ({
  network: 'kindnet',
  ips: [],
  routes: [],
  dns: noDns,
  ...over,
});

const eth0: InterfacePlan = veth({
  name: 'eth0',
  mac: '0a:58:0a:f4:00:05',
  mtu: 1450,
  sandbox: '/var/run/netns/cni-1234',
  ips: [{ address: '10.244.0.5', prefixLength: 24, family: 4, gateway: '10.244.0.1' }],
  routes: [{ dst: '0.0.0.0/0', family: 4, gateway: '10.244.0.1' }],
});

export const sriovVf: InterfacePlan = {
  name: 'net1',
  network: 'sriov-net-a',
  mac: '7a:2e:5f:10:aa:01',
  mtu: 9000,
  pciID: '0000:3b:02.1',
  ips: [{ address: '10.56.217.171', prefixLength: 24, family: 4, gateway: '10.56.217.1' }],
  routes: [{ dst: '10.56.0.0/16', family: 4, gateway: '10.56.217.1' }],
  dns: noDns,
};

export const goldenCases: Record<string, PodNetworkPlan> = {
  'one-veth': { podId: 'default/web-0', interfaces: [eth0], dns: clusterDns },

  several: {
    podId: 'default/multi-1',
    interfaces: [
      eth0,
      veth({
        name: 'net1',
        network: 'macvlan-a',
        mac: '2E:7C:01:AA:02:03', // uppercase on purpose: rendered lowercase
        mtu: 1500,
        ips: [{ address: '192.168.100.20', prefixLength: 24, family: 4 }],
        routes: [
          { dst: '192.168.200.0/24', family: 4, gateway: '192.168.100.1' },
          // A second default: the guest keeps eth0's (first interface), this one is dropped.
          { dst: '0.0.0.0/0', family: 4, gateway: '192.168.100.1' },
        ],
      }),
      veth({
        name: 'net2',
        network: 'bridge-b',
        mac: '2e:7c:01:aa:02:04',
        ips: [
          { address: '10.10.0.7', prefixLength: 16, family: 4 },
          { address: '10.11.0.7', prefixLength: 16, family: 4 },
        ],
        routes: [{ dst: '10.12.3.4/16', family: 4, gateway: '10.11.0.1' }],
      }),
    ],
    dns: clusterDns,
  },

  sriov: { podId: 'default/sriov-2', interfaces: [eth0, sriovVf], dns: clusterDns },

  'dual-stack': {
    podId: 'default/ds-3',
    interfaces: [
      veth({
        name: 'eth0',
        mac: '0a:58:0a:f4:01:07',
        mtu: 1500,
        ips: [
          { address: '10.244.1.7', prefixLength: 24, family: 4, gateway: '10.244.1.1' },
          { address: 'fd00:10:244:1::7', prefixLength: 64, family: 6, gateway: 'fd00:10:244:1::1' },
        ],
        routes: [
          { dst: '0.0.0.0/0', family: 4, gateway: '10.244.1.1' },
          { dst: '::/0', family: 6, gateway: 'fd00:10:244:1::1' },
          { dst: 'fd00:10:96::/112', family: 6, gateway: 'fd00:10:244:1::1' },
        ],
      }),
    ],
    dns: { nameservers: ['10.96.0.10', 'fd00:10:96::a'], search: ['svc.cluster.local'], options: [] },
  },

  calico: {
    podId: 'kube-system/calico-pod-4',
    interfaces: [
      veth({
        name: 'eth0',
        network: 'k8s-pod-network',
        mac: 'ee:ee:ee:ee:ee:01',
        mtu: 1440,
        ips: [{ address: '10.244.140.67', prefixLength: 32, family: 4, gateway: '169.254.1.1' }],
        routes: [
          { dst: '169.254.1.1/32', family: 4 },
          { dst: '0.0.0.0/0', family: 4, gateway: '169.254.1.1' },
        ],
      }),
    ],
    dns: clusterDns,
  },

  'no-address': {
    podId: 'default/dhcp-5',
    interfaces: [veth({ name: 'eth0', mac: '0a:58:0a:f4:02:09', mtu: 1400 })],
    dns: { nameservers: ['10.96.0.10'], domain: 'cluster.local', search: [], options: [] },
  },
};

/** The files each golden case directory holds, by rendering. */
export const goldenFiles = {
  v1: 'network-config-v1.yaml',
  v2: 'network-config-v2.yaml',
  networkData: 'network_data.json',
} as const;
