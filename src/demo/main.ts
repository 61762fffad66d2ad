// `netlet demo`: a real VM on a real CNI network, end to end, in throwaway namespaces.
// CNI ADD (Debian's bridge plugin) → netlet setupPod (bridge + TAP + DHCP per veth) →
// QEMU boots on the TAP fds and takes its lease → ping from the node side → teardown,
// the pod netns restored exactly as CNI left it → CNI DEL. Ctrl-C cleans up at any point.
import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { addNetworks, delNetworks } from '../cni/index.js';
import { createRuntime, type Runtime } from '../actors/runtime.js';
import type { PodNetwork } from '../actors/types.js';
import { buildVmImage } from '../vm/image.js';
import { bootVm, type RunningVm } from '../vm/qemu.js';
import { QmpClient } from '../vm/qmp.js';
import { runHotplugSteps } from './hotplug.js';
import { demoNetworks } from './networks.js';
import { netnsSnapshot, snapshotDiff } from './snapshot.js';
import { printTable } from './table.js';

const bold = (s: string): string => (process.stdout.isTTY ? `\x1b[1m${s}\x1b[0m` : s);
const green = (s: string): string => (process.stdout.isTTY ? `\x1b[32m${s}\x1b[0m` : s);
const red = (s: string): string => (process.stdout.isTTY ? `\x1b[31m${s}\x1b[0m` : s);

const usage = `usage: netlet demo [--interfaces N] [--ipv6 | --hotplug] [--verbose]

Boots a QEMU VM (software emulation) on a pod network that the real CNI bridge plugin
and netlet set up in throwaway network namespaces, shows what the VM got by DHCP next
to what CNI assigned, pings it, then tears everything down. Needs root.

  --interfaces N   networks (and VM NICs) to attach, 1-4 (default 1)
  --ipv6           dual-stack networks: the VM also takes its IPv6 address by DHCPv6
                   (dhcpcd) and its default route from netlet's Router Advertisement
  --hotplug        then hot-plug one more network into the running VM and remove it:
                   attachInterface, QMP device_add with the new TAP fd, the guest's
                   lease, QMP device_del, detachInterface (IPv4 only)
  --verbose        netlet's JSON logs on stderr`;

export async function runDemo(argv: string[]): Promise<number> {
  let count = 1;
  let verbose = false;
  let ipv6 = false;
  let hotplug = false;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--help' || a === '-h') { console.log(usage); return 0; }
    else if (a === '--interfaces') count = Number(argv[++i]);
    else if (a.startsWith('--interfaces=')) count = Number(a.split('=')[1]);
    else if (a === '--verbose') verbose = true;
    else if (a === '--ipv6') ipv6 = true;
    else if (a === '--hotplug') hotplug = true;
    else { console.error(`netlet demo: unknown argument ${a}\n${usage}`); return 2; }
  }
  if (!Number.isInteger(count) || count < 1 || count > 4) { console.error('netlet demo: --interfaces takes 1 to 4'); return 2; }
  // The guest's hot-plug watcher runs udhcpc only: a hot-plugged NIC would get no DHCPv6.
  if (hotplug && ipv6) { console.error('netlet demo: --hotplug is IPv4 only (the guest takes no DHCPv6 on a hot-plugged NIC); drop --ipv6'); return 2; }
  if (process.getuid?.() !== 0) { console.error('netlet demo: needs root (network namespaces, TAPs, QEMU)'); return 1; }
  for (const tool of ['/usr/lib/cni/bridge', '/usr/bin/qemu-system-x86_64']) {
    if (!existsSync(tool)) { console.error(`netlet demo: ${tool} is missing: run \`make demo\` (it installs the Debian packages)`); return 1; }
  }

  const t0 = performance.now();
  const el = (): string => `${((performance.now() - t0) / 1000).toFixed(1)}s`;
  const total = hotplug ? 13 : 8;
  const step = (n: number, msg: string): void => console.log(`${bold(`[${n}/${total}]`)} ${msg} ${`(${el()})`}`);
  const tag = `nd${randomBytes(2).toString('hex')}`;
  const nodeNs = `${tag}-node`;
  const podNs = `${tag}-pod`;
  const dir = mkdtempSync(join(tmpdir(), 'netlet-demo-'));
  const confDir = join(dir, 'net.d');
  const cacheDir = join(dir, 'cni-cache');
  // --hotplug: one network more than the VM boots with, attached later by netlet (CNI ADD in the runtime).
  const allNets = demoNetworks(count + (hotplug ? 1 : 0), join(dir, 'ipam'), tag, ipv6);
  const nets = allNets.slice(0, count);
  const wrapper = ['ip', 'netns', 'exec', nodeNs];
  const podId = `demo-${tag}`;
  let runtime: Runtime | undefined;
  let vm: RunningVm | undefined;
  let network: PodNetwork | undefined;
  let cniAdded = false;
  let qmp: QmpClient | undefined;
  let cleaning: Promise<void> | undefined;

  const cleanup = (): Promise<void> => (cleaning ??= (async () => {
    qmp?.close();
    await vm?.kill().catch(() => undefined);
    for (const i of network?.interfaces ?? []) if (i.kind === 'tap') for (const fd of i.fds) { try { closeSync(fd); } catch { /* closed */ } }
    await runtime?.teardownPod(podId).catch((e: Error) => console.error(red(`teardown: ${e.message}`)));
    await runtime?.close().catch(() => undefined);
    if (cniAdded) await delNetworks({ podId, netnsPath: `/run/netns/${podNs}`, confDir, cacheDir, wrapper }).catch(() => undefined);
    for (const ns of [podNs, nodeNs]) spawnSync('ip', ['netns', 'del', ns], { stdio: 'ignore' });
    rmSync(dir, { recursive: true, force: true });
  })());
  const onSignal = (): void => {
    console.log(`\n${bold('interrupted')}: cleaning up…`);
    void cleanup().then(() => process.exit(130));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);

  try {
    step(1, 'building the VM image (Debian cloud kernel + busybox initramfs; cached after the first run)');
    const image = await buildVmImage({ onProgress: (m) => console.log(`      ${m}`) });

    step(2, `creating throwaway netns ${nodeNs} (the node) and ${podNs} (the pod sandbox)`);
    for (const ns of [nodeNs, podNs]) execFileSync('ip', ['netns', 'add', ns]);
    execFileSync('ip', ['-n', podNs, 'link', 'set', 'lo', 'up']);
    mkdirSync(confDir, { recursive: true });
    allNets.forEach((n, i) => writeFileSync(join(confDir, `${10 + i}-${n.name}.conflist`), JSON.stringify(n.config, null, 2)));

    step(3, `CNI ADD: Debian's bridge plugin + host-local${ipv6 ? ' (IPv4 + IPv6 ranges)' : ''}, ${count} network(s) (${nets.map((n) => n.name).join(', ')})`);
    const annotations = { cni: nets.map((n) => n.name).join(',') };
    const added = await addNetworks({ podId, podName: 'demo-vm', podNamespace: 'default', netnsPath: `/run/netns/${podNs}`, annotations, confDir, cacheDir, wrapper });
    cniAdded = true;
    const cniLeft = netnsSnapshot(podNs);
    for (const i of added.interfaces) console.log(`      ${i.name}: ${i.ips.map((ip) => `${ip.address}/${ip.prefixLength}`).join(' ')} mac ${i.mac} routes ${i.routes.map((r) => `${r.dst}${r.gateway ? ` via ${r.gateway}` : ''}`).join(', ')}`);

    step(4, 'netlet setupPod: bridge + TAP + DHCP server per veth (the CNI results given in-process)');
    const logger = pino({ level: verbose ? 'info' : 'warn' }, pino.destination(2));
    // --hotplug: the runtime runs CNI for the attached network itself (the demo's conf, cache and node netns).
    const cni = hotplug ? { cni: { confDir, cacheDir, wrapper } } : {};
    runtime = await createRuntime({ stateDir: join(dir, 'state'), runDir: join(dir, 'run'), debugSocket: false, logger, monitorIntervalMs: 0, ...cni });
    const ts = performance.now();
    network = await runtime.setupPod({ podId, podName: 'demo-vm', podNamespace: 'default', netnsPath: `/run/netns/${podNs}`, cniResult: added.attachments.map((a) => a.result), hostname: 'netlet-demo-vm' });
    console.log(`      ready in ${(performance.now() - ts).toFixed(0)} ms: ${network.interfaces.map((i) => (i.kind === 'tap' ? `${i.name} → ${i.tapName} on ${i.bridgeName}` : i.name)).join(', ')}`);

    step(5, 'booting the VM under QEMU (software emulation) on the TAP fds');
    const taps = network.interfaces.flatMap((i) => (i.kind === 'tap' ? [{ fd: i.fd, mac: i.mac }] : []));
    let lines = 0;
    // A live counter on a terminal; a line every 2 s otherwise (logs, CI).
    const tty = process.stdout.isTTY;
    const tick = setInterval(() => process.stdout.write(`${tty ? '\r' : ''}      booting… ${el()} (${lines} console lines)${tty ? '' : '\n'}`), tty ? 500 : 2000);
    // --ipv6: dhcpcd in the guest, which then pings the first network's IPv6 gateway (on the node).
    // --hotplug: a QMP socket, one free pcie-root-port, and the guest's watcher for new NICs.
    const append = ipv6 ? `netlet.ipv6=1 netlet.ping6=${nets[0]!.gateway6!}` : hotplug ? 'netlet.hotplug=1' : undefined;
    const qmpSocket = join(dir, 'qmp.sock');
    const hp = hotplug ? { qmpSocket, hotplugSlots: 1 } : {};
    vm = bootVm({ kernel: image.kernel, initrd: image.initrd, nics: taps, timeoutMs: 120_000, onSerialLine: () => lines++, ...(append ? { append } : {}), ...hp });
    let report;
    try {
      report = await vm.report(90_000);
    } finally {
      clearInterval(tick);
      if (tty) process.stdout.write('\n');
    }

    step(6, `what the VM got by DHCP${ipv6 ? ', DHCPv6 and RA' : ''} (read from its serial console), next to what CNI assigned`);
    const rows: string[][] = [['', 'CNI assigned', 'VM got']];
    for (const [k, i] of added.interfaces.entries()) {
      const v = report.interfaces.find((x) => x.mac.toLowerCase() === i.mac?.toLowerCase());
      rows.push([`${i.name} address`, i.ips.map((ip) => `${ip.address}/${ip.prefixLength}`).join(' '), v ? `${v.name} ${v.addresses.join(' ')}` : red('none')]);
      const linkMtu = network.interfaces.find((n) => n.name === i.name)?.mtu;
      rows.push([`${i.name} mtu`, String(i.mtu ?? linkMtu ?? '?'), String(v?.mtu ?? '?')]);
      rows.push([`${i.name} mac`, i.mac ?? '?', v?.mac ?? '?']);
      if (ipv6) rows.push([`${i.name} ipv6 by`, 'DHCPv6 (address) + RA (route, prefix)', v?.dhcp6 ? 'DHCPv6 ok' : red('no DHCPv6 lease')]);
      if (k === 0) rows.push(['dns', `${added.dns.nameservers.join(' ')} search ${added.dns.search.join(' ')}`, `${report.dns.nameservers.join(' ')} search ${report.dns.search.join(' ')}`]);
    }
    const want = (v6: boolean): string => added.interfaces.flatMap((i) => i.routes.filter((r) => r.dst.includes(':') === v6)
      .map((r) => `${r.dst === '0.0.0.0/0' || r.dst === '::/0' ? 'default' : r.dst}${r.gateway ? ` via ${r.gateway}` : ''}`)).join(', ');
    rows.push(['routes', want(false), report.routes.filter((r) => r.via).map((r) => `${r.dst} via ${r.via}`).join(', ')]);
    // The VM's IPv6 default router is the pod bridge's link-local (the RA's source); the pod forwards to the CNI gateway.
    if (ipv6) rows.push(['ipv6 routes', want(true), report.routes6.filter((r) => r.via).map((r) => `${r.dst} via ${r.via} (pod bridge)`).join(', ') || red('none')]);
    printTable(rows);
    console.log(`      the VM pinged its gateway: ${report.ping?.ok ? green('yes') : red('no')}`);
    if (ipv6) console.log(`      the VM pinged ${nets[0]!.gateway6!} (the node) over IPv6: ${report.ping6?.ok ? green('yes') : red('no')}`);

    step(7, 'pinging the VM from the node side');
    let allPing = (report.ping?.ok ?? false) && (!ipv6 || (report.ping6?.ok ?? false));
    for (const i of added.interfaces) {
      for (const ip of i.ips.filter((x) => x.family === 4 || ipv6)) {
        const r = spawnSync('ip', ['netns', 'exec', nodeNs, 'ping', '-c', '2', '-W', '2', ip.address], { encoding: 'utf8' });
        const ok = r.status === 0;
        allPing &&= ok;
        console.log(`      ping ${ip.address}: ${ok ? green('ok') : red('failed')} ${(/rtt.*= ([\d./]+)/.exec(r.stdout)?.[1] ?? '').split('/')[1] ?? ''}${ok ? ' ms avg' : ''}`);
      }
    }
    const status = runtime.getPod(podId);
    const v6 = (i: NonNullable<typeof status>['interfaces'][number]): string => (i.ipv6 ? `, DHCPv6 lease ${i.ipv6.dhcp6.lease.bound ? 'bound' : 'unbound'}, RAs sent ${i.ipv6.ra.sent}` : '');
    console.log(`      netlet status: pod ${status?.phase}; ${status?.interfaces.map((i) => `${i.name} ${i.state} (DHCP acked ${i.dhcp?.counters.acked ?? 0}, lease ${i.dhcp?.lease.state ?? '-'}${v6(i)})`).join('; ')}`);

    let hotplugOk = true;
    if (hotplug) {
      qmp = await QmpClient.connect(qmpSocket);
      let n = 8;
      hotplugOk = await runHotplugSteps({
        runtime, vm, qmp, podId, podNs, ifName: `eth${count}`, net: allNets[count]!, podDns: added.dns, step: (msg) => step(n++, msg),
      });
      qmp.close();
      qmp = undefined;
    }

    step(total, 'tearing down: VM stopped, netlet teardownPod, then comparing the pod netns with what CNI left');
    await vm.kill();
    vm = undefined;
    for (const i of network.interfaces) if (i.kind === 'tap') for (const fd of i.fds) closeSync(fd);
    network = undefined;
    await runtime.teardownPod(podId);
    const diff = snapshotDiff(cniLeft, netnsSnapshot(podNs));
    console.log(`      pod netns restored exactly as CNI left it: ${diff.length === 0 ? green('yes') : red(`no\n${diff.join('\n')}`)}`);
    await runtime.close();
    runtime = undefined;
    await delNetworks({ podId, netnsPath: `/run/netns/${podNs}`, confDir, cacheDir, wrapper });
    cniAdded = false;
    await cleanup();
    const ok = hotplugOk && diff.length === 0 && allPing && report.interfaces.filter((i) => i.addresses.length > 0).length === count && (!ipv6 || report.interfaces.every((i) => i.dhcp6));
    console.log(`${bold(ok ? green('demo finished') : red('demo finished with problems'))} in ${el()}`);
    return ok ? 0 : 1;
  } catch (e) {
    // After Ctrl-C the steps fail as things are torn down under them: not worth a message.
    if (!cleaning) console.error(red(`demo failed: ${(e as Error).message}`));
    await cleanup();
    return 1;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}
