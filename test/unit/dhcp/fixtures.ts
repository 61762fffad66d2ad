// Plans shaped like the ones CNI plugins produce, for the DHCP tests.
import type { Dns, InterfacePlan } from '../../../src/model/plan.js';
import type { DhcpServerConfig } from '../../../src/dhcp/config.js';
import { MAC } from './clients.js';

export const SERVER_ID = '169.254.0.1';

/** A bridge/ptp-style dual-stack interface with a default route via 10.1.0.1. */
export const bridgeIface = (): InterfacePlan => ({
  name: 'eth0',
  network: 'kindnet',
  mac: '52:54:00:12:34:56',
  mtu: 1450,
  ips: [
    { address: 'fd00::5', prefixLength: 64, family: 6 },
    { address: '10.1.0.5', prefixLength: 24, family: 4, gateway: '10.1.0.1' },
  ],
  routes: [
    { dst: '0.0.0.0/0', family: 4, gateway: '10.1.0.1' },
    { dst: '::/0', family: 6, gateway: 'fd00::1' },
  ],
  dns: { nameservers: ['10.1.0.53'], search: ['cni.local'], options: [] },
});

/** Calico-style: a /32 address, an on-link route to the fake gateway, default via it. */
export const calicoIface = (): InterfacePlan => ({
  name: 'eth0',
  network: 'k8s-pod-network',
  mac: '52:54:00:12:34:56',
  ips: [{ address: '10.244.1.5', prefixLength: 32, family: 4 }],
  routes: [
    { dst: '169.254.1.1/32', family: 4 },
    { dst: '0.0.0.0/0', family: 4, gateway: '169.254.1.1' },
  ],
  dns: { nameservers: [], search: [], options: [] },
});

export const podDns = (): Dns => ({
  nameservers: ['10.96.0.10', 'fd00::10'],
  search: ['default.svc.cluster.local', 'svc.cluster.local', 'cluster.local'],
  options: ['ndots:5'],
});

/** The config for bridgeIface with the pod's DNS. */
export const baseConfig = (over: Partial<DhcpServerConfig> = {}): DhcpServerConfig => ({
  clientMac: MAC,
  address: '10.1.0.5',
  prefixLength: 24,
  gateway: '10.1.0.1',
  routes: [{ dst: '0.0.0.0/0', family: 4, gateway: '10.1.0.1' }],
  dns: { nameservers: ['10.96.0.10'], search: ['default.svc.cluster.local', 'svc.cluster.local', 'cluster.local'] },
  hostname: 'vm01',
  mtu: 1450,
  serverId: SERVER_ID,
  ...over,
});
