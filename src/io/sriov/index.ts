// SR-IOV io for a real node: /sys and /dev, rtnetlink on the PF, netns moves via rtnetlink.
import type { SriovIo } from '../../machines/sriov-contract.js';
import { Sysfs, type WaitOptions } from '../sysfs.js';
import { createSriovIo } from './io.js';
import { RtnlLinkNetns } from './netns-link.js';
import { RtnlPfControl } from './rtnl-pf.js';

export { createSriovIo, type SriovIoDeps } from './io.js';
export type { LinkNetnsPort, NetnsRef, PfControlPort } from './ports.js';

/** The io for this host; close() releases the PF netlink socket. */
export function createHostSriovIo(opts: { sysRoot?: string; devRoot?: string; wait?: WaitOptions } = {}): SriovIo & { close(): void } {
  const pf = new RtnlPfControl();
  const io = createSriovIo({ sysfs: new Sysfs(opts), pf, links: new RtnlLinkNetns(), ...(opts.wait ? { wait: opts.wait } : {}) });
  return { ...io, close: () => pf.close() };
}
