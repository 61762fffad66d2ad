// The SR-IOV machine's data and io contract: what the machine decides with and the
// async effects its actors call. src/io/sriov implements SriovIo; tests fake it.
import type { StepError } from './common.js';
import type { InterfacePlan } from '../model/plan.js';

/** A VF as sysfs shows it. */
export interface VfInfo {
  /** PCI address, any domain, e.g. "0001:3b:02.1". */
  pciAddress: string;
  pfPciAddress: string;
  /** The PF's netdev in the host netns (VF config goes through it). */
  pfNetdev: string;
  /** N in the PF's `virtfnN` link that points at this VF. */
  vfIndex: number;
  /** Bound driver (basename of `driver`), null when unbound. "vfio-pci" means DPDK mode. */
  driver: string | null;
  vendor: string;
  device: string;
  iommuGroup: string;
  /** The VF's netdev if visible in the host netns (`net/*`), else null. */
  hostNetdev: string | null;
}

/** The PF's view of one VF (`ip link show <pf>` vf lines). */
export interface VfConfig {
  /** Lowercase, colon separated; all zeroes when unset. */
  mac: string;
  /** 0 = no VLAN filter. */
  vlan: number;
  qos: number;
  spoofchk?: boolean;
  trust?: boolean;
}

/** Where a VF's netdev lived before passthrough; netns null = host netns. */
export interface NetdevHome {
  name: string;
  netns: string | null;
}

/** Everything teardown needs to put the VF back; persisted by the durable-state layer. */
export interface VfRecord {
  vf: VfInfo;
  /** PF-side VF config before netlet touched it. */
  pf: VfConfig;
  netdev: NetdevHome | null;
  /** The MAC the VM gets (the plan's, else the VF's admin MAC). */
  targetMac: string;
}

export interface DetectRequest {
  /** From the plan's pciID; preferred, since the VF netdev is usually inside the pod netns. */
  pciAddress?: string;
  /** A netdev visible in the host sysfs view. */
  netdev?: string;
}

export interface PciRef {
  pciAddress: string;
}

/** The effects the SriovInterface machine invokes; each must be idempotent. */
export interface SriovIo {
  detect: (req: DetectRequest) => Promise<VfInfo>;
  readPf: (req: { pf: string; vfIndex: number }) => Promise<VfConfig>;
  /** Sets what differs from `want` (MAC, VLAN/QoS) through the PF. */
  setPf: (req: { pf: string; vfIndex: number; want: VfConfig }) => Promise<void>;
  /** Unbinds the current (non-vfio) driver; no-op when unbound or on vfio-pci. */
  unbindDriver: (req: PciRef) => Promise<void>;
  /** driver_override=vfio-pci, then drivers_probe. */
  bindVfio: (req: PciRef) => Promise<void>;
  /** Waits for vfio-pci to own the VF and /dev/vfio/<group>; returns that path. */
  waitVfioDevice: (req: PciRef & { iommuGroup: string }) => Promise<string>;
  unbindVfio: (req: PciRef) => Promise<void>;
  clearOverride: (req: PciRef) => Promise<void>;
  /** drivers_probe so the original driver binds again; waits until it has. */
  reprobe: (req: PciRef & { driver: string }) => Promise<void>;
  /** Waits until the VF netdev exists again (in the host, or already back home). */
  waitNetdev: (req: PciRef & { netdev: NetdevHome }) => Promise<void>;
  /** Moves/renames the reprobed netdev back to where it lived. */
  restoreNetns: (req: PciRef & { netdev: NetdevHome }) => Promise<void>;
}

/** SriovIo's members, for wiring that builds the io lazily (an object must list them). */
export const SRIOV_IO_METHODS = [
  'detect', 'readPf', 'setPf', 'unbindDriver', 'bindVfio', 'waitVfioDevice',
  'unbindVfio', 'clearOverride', 'reprobe', 'waitNetdev', 'restoreNetns',
] as const satisfies readonly (keyof SriovIo)[];

export type SriovStepError = StepError;

/** A persisted partial state to tear down (or reattach to, when setup had completed). */
export interface SriovResume {
  done: string[];
  record?: VfRecord;
  vfioDevice?: string;
}

export interface SriovInput {
  plan: InterfacePlan;
  options: { sriovEnabled: boolean };
  resume?: SriovResume;
}

export const ZERO_MAC = '00:00:00:00:00:00';
