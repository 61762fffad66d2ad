// The report the test VM's init prints for a hot-plugged NIC (netlet.hotplug=1): the
// `NETLET-HOTPLUG add` verdict, then the boot report's sections for that NIC.
import { HOTPLUG_REPORT_BEGIN, HOTPLUG_REPORT_END } from './guest-scripts.js';
import { reportFromBlock, type VmInterface, type VmReport } from './report.js';
import type { RunningVm } from './qemu.js';

export interface HotplugReport extends Omit<VmReport, 'ping' | 'ping6'> {
  /** The new NIC as the guest saw it (name, MAC, MTU, addresses, whether udhcpc got a lease). */
  nic: VmInterface;
}

const blockRe = (mac: string): RegExp =>
  new RegExp(`${HOTPLUG_REPORT_BEGIN} (eth\\d+)\\n(## dhcp\\n[\\s\\S]*?\\n## link\\n\\1 ${mac.toLowerCase()} [\\s\\S]*?)${HOTPLUG_REPORT_END} \\1\\n`);

/** The report of the hot-plugged NIC with this MAC, if the console has it. */
export function parseHotplugReport(serial: string, mac: string): HotplugReport | undefined {
  const m = blockRe(mac).exec(serial.replace(/\r/g, ''));
  return m?.[2] ? withNic(m[2], m[1]!) : undefined;
}

/** Waits for the hot-plugged NIC with this MAC to be reported (after its DHCP attempt). */
export async function waitHotplugReport(vm: RunningVm, mac: string, ms: number): Promise<HotplugReport> {
  const m = await vm.waitFor(blockRe(mac), ms);
  return withNic(m[2]!, m[1]!);
}

function withNic(block: string, ifName: string): HotplugReport {
  const r = reportFromBlock(block);
  const nic = r.interfaces.find((i) => i.name === ifName);
  if (!nic) throw new Error(`the hot-plug report of ${ifName} has no link line`);
  return { ...r, nic };
}
