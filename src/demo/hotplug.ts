// `netlet demo --hotplug`: on the running demo VM, one more demo network hot-plugged and
// removed again, a line and a time per step: attachInterface (netlet runs CNI ADD) → QMP
// getfd + netdev_add + device_add with the new TAP fd → the guest's DHCP lease on the new
// NIC (its NETLET-HOTPLUG report on the console) → QMP device_del + netdev_del →
// detachInterface (CNI DEL) → the pod netns compared with the view taken before the attach.
// On a failure the demo's cleanup (VM killed, teardownPod, CNI DEL) removes what is left.
import { closeSync } from 'node:fs';
import type { Runtime } from '../actors/runtime.js';
import { hotplugSlot, type RunningVm } from '../vm/qemu.js';
import { hotplugNic, unplugNic, type QmpClient } from '../vm/qmp.js';
import { waitHotplugReport } from '../vm/hotplug-report.js';
import { HOTPLUG_MARK } from '../vm/guest-scripts.js';
import type { DemoNetwork } from './networks.js';
import { netnsSnapshot, snapshotDiff } from './snapshot.js';
import { printTable } from './table.js';

const green = (s: string): string => (process.stdout.isTTY ? `\x1b[32m${s}\x1b[0m` : s);
const red = (s: string): string => (process.stdout.isTTY ? `\x1b[31m${s}\x1b[0m` : s);

export interface HotplugDemo {
  runtime: Runtime;
  vm: RunningVm;
  qmp: QmpClient;
  podId: string;
  podNs: string;
  ifName: string;
  net: DemoNetwork;
  /** The pod's DNS from setup: netlet's DHCP serves it on every interface, an attached one too. */
  podDns: { nameservers: string[]; search: string[] };
  /** Prints a numbered step line with the demo's elapsed time. */
  step(msg: string): void;
}

const ms = (t: number): string => `${(performance.now() - t).toFixed(0)} ms`;
const QMP_ID = 'hp-nic0';

/** Runs the hot-plug steps; true when the guest leased the CNI address and the netns came back unchanged. */
export async function runHotplugSteps(d: HotplugDemo): Promise<boolean> {
  const before = netnsSnapshot(d.podNs);

  d.step(`attachInterface ${d.ifName} on ${d.net.name} (netlet runs CNI ADD, then bridge + TAP + DHCP)`);
  let t = performance.now();
  const nic = await d.runtime.attachInterface(d.podId, { ifName: d.ifName, network: d.net.name });
  if (nic.kind !== 'tap') throw new Error(`${d.ifName} came back as ${nic.kind}, not a TAP`);
  console.log(`      ${ms(t)}: ${nic.name} ${nic.ips.map((i) => i.address).join(' ')} → ${nic.tapName} on ${nic.bridgeName}`);

  d.step(`QMP: getfd + netdev_add + device_add virtio-net-pci on slot ${hotplugSlot(0)} (the new TAP fd, MAC ${nic.mac})`);
  t = performance.now();
  const t0 = t;
  try {
    await hotplugNic(d.qmp, { id: QMP_ID, fd: nic.fd, mac: nic.mac, bus: hotplugSlot(0) });
  } finally {
    for (const fd of nic.fds) closeSync(fd); // QEMU has its own copy
  }
  console.log(`      ${ms(t)}`);

  d.step('the guest sees the new NIC and takes its lease (read from its serial console)');
  const r = await waitHotplugReport(d.vm, nic.mac, 60_000);
  console.log(`      ${ms(t0)} after device_add: ${r.nic.name} ${r.nic.dhcp ? green('leased') : red('no lease')} ${r.nic.addresses.join(' ')}`);
  const addr = nic.ips.map((i) => i.address).join(' ');
  printTable([
    ['', 'CNI assigned', 'VM got'],
    [`${nic.name} address`, addr, `${r.nic.name} ${r.nic.addresses.join(' ')}`],
    [`${nic.name} mtu`, String(nic.mtu), String(r.nic.mtu)],
    [`${nic.name} mac`, nic.mac, r.nic.mac],
    ['dns (the pod\'s)', `${d.podDns.nameservers.join(' ')} search ${d.podDns.search.join(' ')}`, `${r.dns.nameservers.join(' ')} search ${r.dns.search.join(' ')}`],
    [`${nic.name} routes`, `${d.net.subnet} (on-link)`, r.routes.filter((x) => x.dev === r.nic.name).map((x) => x.raw).join(', ') || red('none')],
  ]);
  const leased = r.nic.dhcp && r.nic.addresses.includes(nic.ips[0]?.address ?? '-') && r.nic.mac === nic.mac;

  d.step(`QMP: device_del ${QMP_ID}, DEVICE_DELETED, netdev_del (QEMU lets go of the TAP)`);
  t = performance.now();
  await unplugNic(d.qmp, QMP_ID);
  await d.vm.waitFor(new RegExp(`${HOTPLUG_MARK} del ${r.nic.name}\\n`), 30_000);
  console.log(`      ${ms(t)} (the guest saw ${r.nic.name} go)`);

  d.step(`detachInterface ${d.ifName} (DHCP stopped, TAP and bridge removed, CNI DEL), then the pod netns against the view before the attach`);
  t = performance.now();
  await d.runtime.detachInterface(d.podId, d.ifName);
  console.log(`      ${ms(t)}`);
  const diff = snapshotDiff(before, netnsSnapshot(d.podNs));
  console.log(`      pod netns as before the attach: ${diff.length === 0 ? green('yes') : red(`no\n${diff.join('\n')}`)}`);
  return leased && diff.length === 0;
}
