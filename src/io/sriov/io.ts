// The SriovIo the machine's actors call: sysfs for the device, ports for the PF
// and the netdev. Each call is idempotent (checks, then changes what differs).
import type { NetdevHome, SriovIo, VfConfig } from '../../machines/sriov-contract.js';
import type { SysfsPort, WaitOptions } from '../sysfs.js';
import { waitUntil } from '../sysfs.js';
import { detectVf } from './detect.js';
import * as drv from './driver.js';
import { netnsRef, type LinkNetnsPort, type PfControlPort } from './ports.js';

export interface SriovIoDeps {
  sysfs: SysfsPort;
  pf: PfControlPort;
  links: LinkNetnsPort;
  /** Bounds every wait (vfio device node, driver rebind, netdev reappearing). */
  wait?: WaitOptions;
}

async function setPf(pf: PfControlPort, name: string, vf: number, want: VfConfig): Promise<void> {
  const cur = await pf.getVf(name, vf);
  if (cur.mac.toLowerCase() !== want.mac.toLowerCase()) await pf.setVfMac(name, vf, want.mac.toLowerCase());
  if (cur.vlan !== want.vlan || cur.qos !== want.qos) await pf.setVfVlan(name, vf, want.vlan, want.qos);
}

/** Host-visible netdev, or the one already back home, whichever shows first. */
async function netdevBack(deps: SriovIoDeps, pci: string, home: NetdevHome): Promise<boolean> {
  if ((await drv.hostNetdevs(deps.sysfs, pci)).length > 0) return true;
  return home.netns !== null && deps.links.linkExists(home.name, netnsRef(home.netns));
}

export function createSriovIo(deps: SriovIoDeps): SriovIo {
  const { sysfs } = deps;
  return {
    detect: (req) => detectVf(sysfs, req),
    readPf: ({ pf, vfIndex }) => deps.pf.getVf(pf, vfIndex),
    setPf: ({ pf, vfIndex, want }) => setPf(deps.pf, pf, vfIndex, want),
    unbindDriver: ({ pciAddress }) => drv.unbindDriver(sysfs, pciAddress),
    bindVfio: ({ pciAddress }) => drv.bindVfio(sysfs, pciAddress),
    waitVfioDevice: ({ pciAddress, iommuGroup }) => drv.waitVfioDevice(sysfs, pciAddress, iommuGroup, deps.wait),
    unbindVfio: ({ pciAddress }) => drv.unbindVfio(sysfs, pciAddress),
    clearOverride: ({ pciAddress }) => drv.clearOverride(sysfs, pciAddress),
    reprobe: ({ pciAddress, driver }) => drv.reprobe(sysfs, pciAddress, driver, deps.wait),
    waitNetdev: ({ pciAddress, netdev }) =>
      waitUntil(() => netdevBack(deps, pciAddress, netdev), `netdev of ${pciAddress} to reappear`, deps.wait),
    restoreNetns: async ({ pciAddress, netdev }) => {
      // The reprobed netdev appears in the host netns under a kernel/udev name.
      const [name] = await drv.hostNetdevs(sysfs, pciAddress);
      if (name === undefined) return; // nothing in the host: already back home
      if (netdev.netns === null && name === netdev.name) return;
      await deps.links.moveLink({ name, from: 'host', to: netnsRef(netdev.netns), newName: netdev.name });
    },
  };
}
