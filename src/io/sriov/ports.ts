// Ports the SR-IOV io drives besides sysfs: the PF's VF table (rtnetlink on the PF)
// and netdev moves between netns. Real implementations: rtnl-pf.ts, netns-link.ts.
import type { VfConfig } from '../../machines/sriov-contract.js';

/** VF settings held by the PF driver (what `ip link set <pf> vf N ...` changes). */
export interface PfControlPort {
  getVf(pf: string, vf: number): Promise<VfConfig>;
  setVfMac(pf: string, vf: number, mac: string): Promise<void>;
  setVfVlan(pf: string, vf: number, vlan: number, qos: number): Promise<void>;
}

/** A netns by path (e.g. the pod sandbox), or the host netns netlet runs in. */
export type NetnsRef = { path: string } | 'host';

export interface LinkNetnsPort {
  linkExists(name: string, netns: NetnsRef): Promise<boolean>;
  /** Moves `name` from `from` to `to` (same netns = rename only), renaming it to `newName` if given. */
  moveLink(req: { name: string; from: NetnsRef; to: NetnsRef; newName?: string }): Promise<void>;
}

export const netnsRef = (path: string | null): NetnsRef => (path ? { path } : 'host');
