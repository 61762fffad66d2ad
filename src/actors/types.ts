// Public types of the in-process API.
import type { DhcpServerStatus } from '../dhcp/index.js';
import type { SpoofCounters } from '../io/nft-rules.js';
import type { Ipv6Status } from '../io/ipv6-status.js';

export interface PodIp {
  /** CIDR, e.g. "10.1.0.5/24". */
  address: string;
  gateway?: string;
}

export type PodInterface =
  | { kind: 'tap'; name: string; tapName: string; bridgeName: string; mac: string; mtu: number; fd: number; fds: number[]; ips: PodIp[] }
  | { kind: 'sriov'; name: string; pciAddress: string; mac: string; vlan?: number; mtu: number; ips: PodIp[] };

export interface PodNetwork {
  podId: string;
  interfaces: PodInterface[];
  cloudInit: {
    networkConfigV1: object;
    networkConfigV1Yaml: string;
    networkConfigV2: object;
    networkConfigV2Yaml: string;
    networkData: object;
    /** Changes whenever the rendered network changes: use it as the cloud-init instance-id. */
    instanceId: string;
  };
}

export interface InterfaceStatus {
  name: string;
  kind: 'tap' | 'sriov';
  state: string;
  error?: string;
  lastError?: { code: string; message: string; at: string };
  mac?: string;
  ips?: string[];
  tapName?: string;
  bridgeName?: string;
  pciAddress?: string;
  dhcp?: DhcpServerStatus;
  /** TAP interfaces with a global IPv6 address: the DHCPv6 server's and the RA sender's status. */
  ipv6?: Ipv6Status;
  /** When it was hot-plugged into the ready pod (attachInterface); absent for setup's interfaces. */
  attachedAt?: string;
  /** TAP interfaces: whether anti-spoofing is on, and the frames it dropped per reason (while ready). */
  antiSpoofing?: { enabled: boolean; dropped?: SpoofCounters };
}

export interface PodStatus {
  podId: string;
  /** settingUp | ready | degraded | attaching | detaching | rollingBack | rollbackFailed | tearingDown | teardownFailed | failed | gone */
  phase: string;
  interfaces: InterfaceStatus[];
  error?: string;
  /**
   * How the last attachInterface/detachInterface ended: done; rolledBack (the attach was
   * undone, the other interfaces untouched; `error` says why); incomplete (an undo or CNI DEL
   * failed: detachInterface retries).
   */
  lastChange?: { op: 'attach' | 'detach'; interface: string; outcome: 'done' | 'rolledBack' | 'incomplete'; error?: string };
}

export interface PodEventRecord {
  at: string;
  machine: 'pod' | 'interface';
  interface?: string;
  from: string;
  to: string;
}
