// Recording fakes for the PF-control and netns-link ports. Both act on a
// FakeSysfsTree (pod netns live under <root>/netns) and log every call in order.
import { SysError } from '../../src/model/errors.js';
import type { VfConfig } from '../../src/machines/sriov-contract.js';
import type { LinkNetnsPort, NetnsRef, PfControlPort } from '../../src/io/sriov/ports.js';
import type { FakeSysfsTree } from './fake-sysfs.js';

export type PortCall =
  | { op: 'getVf'; pf: string; vf: number }
  | { op: 'setVfMac'; pf: string; vf: number; mac: string }
  | { op: 'setVfVlan'; pf: string; vf: number; vlan: number; qos: number }
  | { op: 'linkExists'; name: string; netns: NetnsRef }
  | { op: 'moveLink'; name: string; from: NetnsRef; to: NetnsRef; newName?: string };

const nsName = (ref: NetnsRef): string | null => (ref === 'host' ? null : ref.path.split('/').pop()!);

export class FakePf implements PfControlPort, LinkNetnsPort {
  readonly calls: PortCall[] = [];
  /** pf → vf index → config. */
  readonly table = new Map<string, Map<number, VfConfig>>();
  /** When set, getVf reports this VLAN for that VF instead of the real one (a PF that lies). */
  lie: { pf: string; vf: number; vlan?: number; mac?: string } | undefined;

  constructor(readonly tree: FakeSysfsTree, initial: VfConfig = { mac: '00:00:00:00:00:00', vlan: 100, qos: 0, spoofchk: true, trust: false }) {
    for (const pf of tree.pfs) {
      this.table.set(pf.netdev, new Map(pf.vfs.map((_, i) => [i, { ...initial }])));
    }
  }

  private entry(pf: string, vf: number): VfConfig {
    const e = this.table.get(pf)?.get(vf);
    if (!e) throw new SysError('ENODEV', 'rtnetlink getLink', `fake PF: no ${pf} vf ${vf}`);
    return e;
  }

  /** PF state for tree comparisons. */
  snapshot(): Record<string, VfConfig> {
    const out: Record<string, VfConfig> = {};
    for (const [pf, vfs] of this.table) for (const [i, c] of vfs) out[`${pf}/${i}`] = { ...c };
    return out;
  }

  async getVf(pf: string, vf: number): Promise<VfConfig> {
    this.calls.push({ op: 'getVf', pf, vf });
    const e = { ...this.entry(pf, vf) };
    if (this.lie && this.lie.pf === pf && this.lie.vf === vf) {
      if (this.lie.vlan !== undefined) e.vlan = this.lie.vlan;
      if (this.lie.mac !== undefined) e.mac = this.lie.mac;
    }
    return e;
  }

  async setVfMac(pf: string, vf: number, mac: string): Promise<void> {
    this.calls.push({ op: 'setVfMac', pf, vf, mac });
    this.entry(pf, vf).mac = mac;
  }

  async setVfVlan(pf: string, vf: number, vlan: number, qos: number): Promise<void> {
    this.calls.push({ op: 'setVfVlan', pf, vf, vlan, qos });
    Object.assign(this.entry(pf, vf), { vlan, qos });
  }

  async linkExists(name: string, netns: NetnsRef): Promise<boolean> {
    this.calls.push({ op: 'linkExists', name, netns });
    const ns = nsName(netns);
    return ns === null ? this.tree.pciOfHostNetdev(name) !== null : this.tree.podNetdevs(ns).has(name);
  }

  async moveLink(req: { name: string; from: NetnsRef; to: NetnsRef; newName?: string }): Promise<void> {
    this.calls.push({ op: 'moveLink', ...req });
    const from = nsName(req.from);
    const to = nsName(req.to);
    const newName = req.newName ?? req.name;
    let pci: string | null;
    if (from === null) {
      pci = this.tree.pciOfHostNetdev(req.name);
      if (pci) this.tree.removeHostNetdev(pci, req.name);
    } else {
      pci = this.tree.podNetdevs(from).get(req.name) ?? null;
      if (pci) this.tree.removePodNetdev(from, req.name);
    }
    if (!pci) throw new SysError('ENODEV', 'rtnetlink setLink', `fake: no link ${req.name} in ${from ?? 'host'}`);
    if (to === null) this.tree.netdevDir(pci, newName);
    else {
      if (this.tree.podNetdevs(to).has(newName)) throw new SysError('EEXIST', 'rtnetlink setLink', `fake: ${newName} exists in ${to}`);
      this.tree.podNetdev(to, newName, pci);
    }
  }
}
