// The shapes netlet renders for cloud-init: Network Config Version 1 and 2, and
// OpenStack network_data.json. Only the keys netlet emits are typed.

// ---- Network Config Version 1 ----

export interface V1Route {
  /** Network address: dotted for IPv4, CIDR ("fd00:10::/64") for IPv6. */
  network: string;
  /** IPv4 only; IPv6 carries its prefix in `network`. */
  netmask?: string;
  /** "0.0.0.0" / "::" marks an on-link route (see docs/cloud-init.md). */
  gateway: string;
}

export type V1Subnet =
  | { type: 'static'; address: string; netmask: string; gateway?: string; routes?: V1Route[] }
  | { type: 'static6'; address: string; gateway?: string; routes?: V1Route[] }
  | { type: 'dhcp' };

export interface V1Physical {
  type: 'physical';
  name: string;
  mac_address: string;
  mtu?: number;
  subnets: V1Subnet[];
}

export interface V1Nameserver {
  type: 'nameserver';
  address: string[];
  search: string[];
}

export interface NetworkConfigV1 {
  version: 1;
  config: (V1Physical | V1Nameserver)[];
}

// ---- Network Config Version 2 (netplan) ----

export interface V2Route {
  to: string;
  via: string;
  /** The gateway is reached through an on-link route, not through an address's subnet. */
  'on-link'?: true;
}

export interface V2Ethernet {
  match: { macaddress: string };
  'set-name': string;
  addresses?: string[];
  dhcp4?: true;
  /** The IPv6 default gateway (see v2.ts for why not a `::/0` route). */
  gateway6?: string;
  mtu?: number;
  routes?: V2Route[];
  nameservers?: { addresses: string[]; search: string[] };
}

export interface NetworkConfigV2 {
  version: 2;
  ethernets: Record<string, V2Ethernet>;
}

// ---- OpenStack network_data.json (ConfigDrive) ----

export interface NdLink {
  id: string;
  /** Not in OpenStack's spec; cloud-init names the guest NIC after it. */
  name: string;
  type: 'phy';
  ethernet_mac_address: string;
  mtu?: number;
}

export interface NdRoute {
  network: string;
  netmask: string;
  gateway: string;
}

export type NdNetwork =
  | {
      id: string;
      type: 'ipv4' | 'ipv6';
      link: string;
      network_id: string;
      ip_address: string;
      netmask: string;
      routes: NdRoute[];
    }
  | { id: string; type: 'ipv4_dhcp'; link: string; network_id: string };

export interface NdService {
  type: 'dns';
  address: string;
  /** Not in OpenStack's spec; cloud-init passes it on as the resolver's search list. */
  search?: string[];
}

export interface NetworkData {
  links: NdLink[];
  networks: NdNetwork[];
  services: NdService[];
}
