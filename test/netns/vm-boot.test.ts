// The real test VM (Debian cloud kernel + busybox initramfs under QEMU/TCG) on a TAP in a
// throwaway netns, with dnsmasq as the DHCP server: proves the image, the launcher and the
// report parser, independent of netlet's own DHCP server.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { native } from '../../src/io/native.js';
import { NetnsHandle } from '../../src/io/netns.js';
import { buildVmImage, type VmImage } from '../../src/vm/image.js';
import { bootVm, type RunningVm } from '../../src/vm/qemu.js';
import { assertNoNetnsLeft } from '../support/leaks.js';
import { Topology, type Netns } from '../support/netns.js';

const topo = new Topology();
const work = mkdtempSync(join(tmpdir(), 'netlet-vm-'));
const vms: RunningVm[] = [];
const fds: number[] = [];
let dnsmasq: ChildProcess | undefined;
let dnsmasqLog = '';
let handle: NetnsHandle | undefined;
let ns: Netns;
let image: VmImage;

const br = topo.name('br');
const GW = '10.77.0.1';
const guests = {
  vnet: { mac: '52:54:00:77:00:32', ip: '10.77.0.50', tap: topo.name('tv') },
  plain: { mac: '52:54:00:77:00:33', ip: '10.77.0.51', tap: topo.name('tp') },
  second: { mac: '52:54:00:77:00:34', ip: '10.77.0.52', tap: topo.name('t2') },
};
let buildMs = 0;

async function stop(proc: ChildProcess | undefined): Promise<void> {
  if (!proc || proc.exitCode !== null || proc.signalCode !== null) return;
  const exited = new Promise((resolve) => proc.once('exit', resolve));
  proc.kill('SIGTERM');
  const t = setTimeout(() => proc.kill('SIGKILL'), 3000);
  await exited;
  clearTimeout(t);
}

function startDnsmasq(): Promise<void> {
  const args = [
    'netns', 'exec', ns.name, 'dnsmasq', '--no-daemon', '--conf-file=/dev/null', '--port=0', `--interface=${br}`,
    '--bind-interfaces', '--except-interface=lo', '--log-dhcp', `--dhcp-leasefile=${join(work, 'leases')}`, '--pid-file',
    '--dhcp-authoritative', '--dhcp-range=10.77.0.0,static,255.255.255.0,1h',
    ...Object.values(guests).map((g) => `--dhcp-host=${g.mac},${g.ip}`),
    `--dhcp-option=option:router,${GW}`,
    '--dhcp-option=option:dns-server,10.77.0.2,10.77.0.3',
    '--dhcp-option=option:domain-search,pod.test,svc.test',
    // RFC 3442: with option 121 the client ignores the Router option, so the default rides along.
    `--dhcp-option=121,192.168.99.0/24,10.77.0.254,0.0.0.0/0,${GW}`,
    '--dhcp-option=26,1400',
  ];
  dnsmasq = spawn('ip', args, { stdio: ['ignore', 'pipe', 'pipe'] });
  return new Promise((resolve, reject) => {
    const on = (d: Buffer): void => {
      dnsmasqLog += d.toString();
      if (/DHCP, static leases only/.test(dnsmasqLog)) resolve();
    };
    dnsmasq?.stdout?.on('data', on);
    dnsmasq?.stderr?.on('data', on);
    dnsmasq?.once('exit', (code) => reject(new Error(`dnsmasq exited (${code}): ${dnsmasqLog}`)));
  });
}

/** A TAP in the test netns, on the bridge, fd held by this process. */
function openTap(name: string, vnetHdr: boolean): number {
  if (!handle) throw new Error('netns handle not open');
  const [fd] = native.openTap(handle.fd, name, { vnetHdr });
  if (fd === undefined) throw new Error(`openTap ${name} returned no fd`);
  fds.push(fd);
  ns.ip('link', 'set', name, 'master', br, 'up');
  return fd;
}

before(async () => {
  const t0 = Date.now();
  image = await buildVmImage();
  buildMs = Date.now() - t0;
  ns = topo.ns('vm');
  handle = NetnsHandle.open(ns.path);
  ns.ip('link', 'add', br, 'type', 'bridge');
  ns.ip('addr', 'add', `${GW}/24`, 'dev', br);
  ns.ip('link', 'set', br, 'up');
  await startDnsmasq();
});

after(async () => {
  await Promise.all(vms.map((v) => v.kill()));
  await stop(dnsmasq);
  for (const fd of fds) closeSync(fd);
  handle?.close();
  topo.destroy();
  rmSync(work, { recursive: true, force: true });
  assertNoNetnsLeft(topo.tag);
});

void describe('test VM on a TAP with dnsmasq', () => {
  void it('leases address, routes (incl. option 121), MTU and DNS, pings its gateway and is pingable', async (t) => {
    const fd = openTap(guests.vnet.tap, true);
    const t0 = Date.now();
    const vm = bootVm({ kernel: image.kernel, initrd: image.initrd, nics: [{ fd, mac: guests.vnet.mac }], timeoutMs: 120_000 });
    vms.push(vm);
    await vm.waitFor(/lease of \S+ obtained/, 60_000);
    const leaseMs = Date.now() - t0;
    const report = await vm.report(30_000);
    t.diagnostic(`vm image ${image.built ? 'built' : 'cached'} in ${buildMs} ms (${image.kernelVersion})`);
    t.diagnostic(`boot to lease ${leaseMs} ms, to report+ping ${Date.now() - t0} ms`);

    assert.equal(report.interfaces.length, 1);
    const [eth0] = report.interfaces;
    assert.equal(eth0?.name, 'eth0');
    assert.equal(eth0?.mac, guests.vnet.mac);
    assert.equal(eth0?.mtu, 1400);
    assert.equal(eth0?.dhcp, true);
    assert.ok(eth0?.addresses.includes(`${guests.vnet.ip}/24`), `addresses ${eth0?.addresses.join(' ')}`);
    const route = (dst: string): { via?: string; dev?: string } | undefined => report.routes.find((r) => r.dst === dst);
    assert.deepEqual([route('default')?.via, route('default')?.dev], [GW, 'eth0'], JSON.stringify(report.routes));
    assert.deepEqual([route('192.168.99.0/24')?.via, route('192.168.99.0/24')?.dev], ['10.77.0.254', 'eth0']);
    assert.deepEqual(report.dns, { nameservers: ['10.77.0.2', '10.77.0.3'], search: ['pod.test', 'svc.test'] });
    assert.deepEqual(report.ping, { ok: true, gateway: GW });

    // The VM stays up after its report: the netns can reach it.
    ns.exec('ping', ['-c', '3', '-W', '2', guests.vnet.ip]);
    await vm.kill();
    assert.throws(() => process.kill(vm.pid ?? 0, 0), { code: 'ESRCH' }, 'qemu is gone (and reaped)');
  });

  void it('two NICs (TAPs without and with IFF_VNET_HDR) both lease; netlet.exit=1 powers off', async () => {
    const nics = [
      { fd: openTap(guests.plain.tap, false), mac: guests.plain.mac },
      { fd: openTap(guests.second.tap, true), mac: guests.second.mac },
    ];
    const vm = bootVm({ kernel: image.kernel, initrd: image.initrd, nics, append: 'netlet.exit=1', timeoutMs: 120_000 });
    vms.push(vm);
    const report = await vm.report(60_000);
    assert.deepEqual(
      report.interfaces.map((i) => [i.name, i.mac, i.mtu, i.dhcp, i.addresses.filter((a) => a.startsWith('10.'))]),
      [['eth0', guests.plain.mac, 1400, true, [`${guests.plain.ip}/24`]], ['eth1', guests.second.mac, 1400, true, [`${guests.second.ip}/24`]]],
    );
    // Both leases carry 0.0.0.0/0: the first interface's default is kept, the second's add fails (EEXIST).
    assert.deepEqual(report.routes.filter((r) => r.dst === 'default').map((r) => r.dev), ['eth0']);
    assert.deepEqual(report.dns, { nameservers: ['10.77.0.2', '10.77.0.3'], search: ['pod.test', 'svc.test'] }, 'merged without duplicates');
    assert.equal(report.ping?.ok, true);
    let timer: NodeJS.Timeout | undefined;
    const exit = await Promise.race([vm.exited, new Promise((r) => { timer = setTimeout(() => r('timeout'), 30_000); })]);
    clearTimeout(timer);
    assert.deepEqual(exit, { code: 0, signal: null }, `qemu did not power off: ${vm.output().slice(-2000)}`);
  });
});
