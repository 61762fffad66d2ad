// What a guest must end up with for each golden case, written by hand (not derived
// from the renderer) so that net-convert output is checked against intent.
import type { GuestInterface } from './cloudinit-outputs.js';

export interface ExpectedGuest {
  interfaces: Record<string, Required<Pick<GuestInterface, 'mac' | 'addresses' | 'dhcp4' | 'routes'>> & { mtu?: number }>;
  nameservers: string[];
  search: string[];
}

const clusterSearch = ['default.svc.cluster.local', 'svc.cluster.local', 'cluster.local'];
const eth0 = { mac: '0a:58:0a:f4:00:05', addresses: ['10.244.0.5/24'], mtu: 1450, dhcp4: false, routes: ['0.0.0.0/0>10.244.0.1'] };

export const expectedGuests: Record<string, ExpectedGuest> = {
  'one-veth': { interfaces: { eth0 }, nameservers: ['10.96.0.10'], search: clusterSearch },
  several: {
    interfaces: {
      eth0,
      net1: { mac: '2e:7c:01:aa:02:03', addresses: ['192.168.100.20/24'], mtu: 1500, dhcp4: false, routes: ['192.168.200.0/24>192.168.100.1'] },
      net2: { mac: '2e:7c:01:aa:02:04', addresses: ['10.10.0.7/16', '10.11.0.7/16'], dhcp4: false, routes: ['10.12.0.0/16>10.11.0.1'] },
    },
    nameservers: ['10.96.0.10'],
    search: clusterSearch,
  },
  sriov: {
    interfaces: {
      eth0,
      net1: { mac: '7a:2e:5f:10:aa:01', addresses: ['10.56.217.171/24'], mtu: 9000, dhcp4: false, routes: ['10.56.0.0/16>10.56.217.1'] },
    },
    nameservers: ['10.96.0.10'],
    search: clusterSearch,
  },
  'dual-stack': {
    interfaces: {
      eth0: {
        mac: '0a:58:0a:f4:01:07',
        addresses: ['10.244.1.7/24', 'fd00:10:244:1::7/64'],
        mtu: 1500,
        dhcp4: false,
        routes: ['0.0.0.0/0>10.244.1.1', '::/0>fd00:10:244:1::1', 'fd00:10:96::/112>fd00:10:244:1::1'],
      },
    },
    nameservers: ['10.96.0.10', 'fd00:10:96::a'],
    search: ['svc.cluster.local'],
  },
  calico: {
    interfaces: {
      eth0: { mac: 'ee:ee:ee:ee:ee:01', addresses: ['10.244.140.67/32'], mtu: 1440, dhcp4: false, routes: ['169.254.1.1/32>0.0.0.0', '0.0.0.0/0>169.254.1.1'] },
    },
    nameservers: ['10.96.0.10'],
    search: clusterSearch,
  },
  'no-address': {
    interfaces: { eth0: { mac: '0a:58:0a:f4:02:09', addresses: [], mtu: 1400, dhcp4: true, routes: [] } },
    nameservers: ['10.96.0.10'],
    search: ['cluster.local'],
  },
};
