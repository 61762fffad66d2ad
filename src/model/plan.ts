// The normalised network plan of one pod: what CNI gave, independent of CNI versions.
// Every other module (dhcp, cloudinit, machines) reads this, never a raw CNI result.

export type IpFamily = 4 | 6;

/** One address on an interface, as CNI assigned it. */
export interface IpConfig {
  /** Address without prefix, e.g. "10.1.0.5" or "fd00::5". */
  address: string;
  /** Prefix length, e.g. 24. */
  prefixLength: number;
  family: IpFamily;
  /** The gateway CNI named for this address, if any. */
  gateway?: string;
}

/** A route the interface carries. No gateway means on-link (scope link). */
export interface Route {
  /** Destination in CIDR form, e.g. "0.0.0.0/0" or "169.254.1.1/32". */
  dst: string;
  family: IpFamily;
  gateway?: string;
}

export interface Dns {
  nameservers: string[];
  domain?: string;
  search: string[];
  options: string[];
}

/** One interface CNI put into the pod netns (or handed over as a PCI device). */
export interface InterfacePlan {
  /** Name inside the pod netns (CNI_IFNAME), e.g. "eth0". */
  name: string;
  /** The CNI network this interface belongs to. */
  network: string;
  /** MAC as CNI reported it, lowercase; the VM gets this one. May be filled from the link later. */
  mac?: string;
  mtu?: number;
  /** The netns path CNI reported (`sandbox`), if any. */
  sandbox?: string;
  /** PCI address of a device (SR-IOV VF, DPDK mode), from the result's `pciID` or device info. */
  pciID?: string;
  /** vhost-user socket path, if the plugin gave one. */
  socketPath?: string;
  ips: IpConfig[];
  /** Routes via this interface, in CNI order; on-link routes first where a gateway needs one. */
  routes: Route[];
  dns: Dns;
}

export interface PodNetworkPlan {
  podId: string;
  interfaces: InterfacePlan[];
  /** Pod-level DNS: the pod's own config when given, else merged from the results. */
  dns: Dns;
  hostname?: string;
}

export const emptyDns = (): Dns => ({ nameservers: [], search: [], options: [] });
