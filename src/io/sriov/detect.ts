// Finds out what a VF is from sysfs: its PF, index, driver, ids, IOMMU group, netdev.
import type { DetectRequest, VfInfo } from '../../machines/sriov-contract.js';
import { NetletError, SysError } from '../../model/errors.js';
import type { SysfsPort } from '../sysfs.js';
import { basename, devDir, normalizePci } from './pci.js';

/** The PCI address behind a host-visible netdev (`class/net/<name>/device`). */
export async function pciOfNetdev(sysfs: SysfsPort, netdev: string): Promise<string> {
  const link = `class/net/${netdev}/device`;
  if (!(await sysfs.exists(link))) {
    throw new SysError(
      'ENODEV',
      'readlink',
      `netdev ${netdev} has no PCI device in ${sysfs.sysRoot}/class/net (not in this netns, or not PCI); give the VF's PCI address (pciID) instead`,
      { netdev },
    );
  }
  return normalizePci(basename(await sysfs.readlink(link)));
}

async function linkBase(sysfs: SysfsPort, rel: string): Promise<string | null> {
  return (await sysfs.exists(rel)) ? basename(await sysfs.readlink(rel)) : null;
}

/** Which virtfnN of the PF points at `pci`. */
async function vfIndexOf(sysfs: SysfsPort, dev: string, pci: string): Promise<number> {
  for (const entry of await sysfs.list(`${dev}/physfn`)) {
    const m = /^virtfn(\d+)$/.exec(entry);
    if (m && basename(await sysfs.readlink(`${dev}/physfn/${entry}`)) === pci) return Number(m[1]);
  }
  throw new NetletError('VF_INDEX_NOT_FOUND', `VF ${pci}: no virtfnN link of its PF points at it`, { pci });
}

export async function detectVf(sysfs: SysfsPort, req: DetectRequest): Promise<VfInfo> {
  const pci = req.pciAddress ? normalizePci(req.pciAddress) : await pciOfNetdev(sysfs, req.netdev ?? '');
  const dev = devDir(pci);
  if (!(await sysfs.exists(dev))) throw new SysError('ENODEV', 'stat', `no PCI device ${pci} in ${sysfs.sysRoot}/bus/pci/devices`, { pci });
  if (!(await sysfs.exists(`${dev}/physfn`))) {
    throw new NetletError('NOT_A_VF', `PCI device ${pci} is not an SR-IOV VF (no physfn link)`, { pci });
  }
  const pfNets = (await sysfs.exists(`${dev}/physfn/net`)) ? await sysfs.list(`${dev}/physfn/net`) : [];
  const pfNetdev = pfNets[0];
  if (!pfNetdev) {
    throw new NetletError('PF_NO_NETDEV', `VF ${pci}: its PF has no netdev in this netns, so its VF table cannot be read or set`, { pci });
  }
  const iommuGroup = await linkBase(sysfs, `${dev}/iommu_group`);
  if (!iommuGroup) {
    throw new NetletError(
      'NO_IOMMU_GROUP',
      `VF ${pci} has no IOMMU group: enable the IOMMU (intel_iommu=on or amd_iommu=on, iommu=pt) to pass it through`,
      { pci },
    );
  }
  const nets = (await sysfs.exists(`${dev}/net`)) ? await sysfs.list(`${dev}/net`) : [];
  return {
    pciAddress: pci,
    pfPciAddress: basename(await sysfs.readlink(`${dev}/physfn`)),
    pfNetdev,
    vfIndex: await vfIndexOf(sysfs, dev, pci),
    driver: await linkBase(sysfs, `${dev}/driver`),
    vendor: await sysfs.read(`${dev}/vendor`),
    device: await sysfs.read(`${dev}/device`),
    iommuGroup,
    hostNetdev: nets[0] ?? null,
  };
}
