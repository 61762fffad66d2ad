// Which interface machine a CNI interface needs: a veth (bridge + TAP) or an SR-IOV VF
// (vfio). Fills the plan's MAC/MTU (and a VF's PCI address) from the link.
import { existsSync } from 'node:fs';
import { NetletError } from '../model/errors.js';
import type { InterfacePlan } from '../model/plan.js';
import type { LinkInfo, Rtnl } from '../io/rtnl.js';

/** `links`: a dump just taken, looked up instead of asking the kernel again. */
export async function interfaceKind(rt: Rtnl, iface: InterfacePlan, sysfsRoot: string, links?: LinkInfo[]): Promise<'veth' | 'sriov'> {
  const link = links ? links.find((l) => l.name === iface.name) : await rt.link(iface.name);
  let kind: 'veth' | 'sriov';
  if (iface.pciID) kind = 'sriov';
  else if (!link) throw new NetletError('INTERFACE_MISSING', `CNI reported ${iface.name} but the pod netns has no such link`);
  else if (link.kind === 'veth') kind = 'veth';
  else if (link.parentBus === 'pci' && link.parentDev && existsSync(`${sysfsRoot}/bus/pci/devices/${link.parentDev}/physfn`)) {
    kind = 'sriov';
    iface.pciID = link.parentDev;
  } else {
    throw new NetletError('UNSUPPORTED_INTERFACE', `${iface.name} is a ${link.kind ?? 'physical'} link; netlet takes veth interfaces and SR-IOV VFs`);
  }
  if (link) {
    iface.mac ??= link.mac;
    iface.mtu ??= link.mtu;
  }
  return kind;
}
