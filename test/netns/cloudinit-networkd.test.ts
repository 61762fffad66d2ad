// End to end: each golden (v1, v2, network_data.json), rendered for networkd by the real cloud-init, applied
// by the real systemd-networkd to veths in a throwaway netns ("the VM"). Checks the
// addresses, MTUs and routes the kernel ends up with, incl. Calico's on-link gateway.
//
// networkd runs directly (no systemd as PID 1): in a private mount namespace with its own
// tmpfs /run/systemd (our .network files only, empty /etc and /usr/lib dirs), inside the
// netns via `ip netns exec`, with /sys read-only so it does not wait for udev.
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { projectRoot, leftoverNetns, Topology, vethPair, type Netns } from '../support/netns.js';
import { goldenFiles } from '../unit/cloudinit/plans.js';
import { expectedGuests } from '../integration/cloudinit-expected.js';

const work = mkdtempSync(join(tmpdir(), 'netlet-networkd-'));
after(() => rmSync(work, { recursive: true, force: true }));

const networkdScript = `
set -eu
conf=$1 ns=$2
mount -t tmpfs -o mode=0755 tmpfs /run/systemd
mkdir -p /run/systemd/network /run/systemd/netif/links /run/systemd/netif/leases /run/systemd/netif/lldp
chown -R systemd-network:systemd-network /run/systemd/netif
cp "$conf"/*.network /run/systemd/network/
mount -t tmpfs tmpfs /etc/systemd/network
mount -t tmpfs tmpfs /usr/lib/systemd/network
exec ip netns exec "$ns" sh -c 'mount -o remount,ro /sys && exec /lib/systemd/systemd-networkd'
`;

function startNetworkd(confDir: string, vm: Netns): { proc: ChildProcess; log: () => string } {
  let log = '';
  const proc = spawn('unshare', ['--mount', '--propagation', 'private', 'sh', '-c', networkdScript, 'networkd', confDir, vm.name], {
    env: { ...process.env, SYSTEMD_LOG_LEVEL: 'debug', SYSTEMD_LOG_TARGET: 'console' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  proc.stdout?.on('data', (d: Buffer) => { log += d.toString(); });
  proc.stderr?.on('data', (d: Buffer) => { log += d.toString(); });
  return { proc, log: () => log };
}

async function stop(proc: ChildProcess): Promise<void> {
  if (proc.exitCode !== null || proc.signalCode !== null) return;
  const exited = new Promise((resolve) => proc.once('exit', resolve));
  proc.kill('SIGTERM');
  await Promise.race([exited, new Promise((r) => setTimeout(r, 3000))]);
  if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
}

interface IpAddr { ifname: string; mtu: number; address: string; addr_info: { family: string; local: string; prefixlen: number; scope: string }[] }
interface IpRoute { dst: string; gateway?: string; dev: string; scope?: string; protocol?: string }

/** What the kernel holds, in the same "dst>gateway" spelling as the expectations. */
function kernelState(vm: Netns): Record<string, { mac: string; mtu: number; addresses: string[]; routes: string[] }> {
  const state: Record<string, { mac: string; mtu: number; addresses: string[]; routes: string[] }> = {};
  for (const l of vm.json<IpAddr>('addr', 'show')) {
    if (l.ifname === 'lo') continue;
    state[l.ifname] = {
      mac: l.address,
      mtu: l.mtu,
      addresses: l.addr_info.filter((a) => a.scope === 'global').map((a) => `${a.local}/${a.prefixlen}`),
      routes: [],
    };
  }
  for (const [family, onLink, any] of [['-4', '0.0.0.0', '0.0.0.0/0'], ['-6', '::', '::/0']] as const) {
    // Only what networkd installed (proto static), not the kernel's prefix routes.
    for (const r of vm.json<IpRoute>(family, 'route', 'show', 'proto', 'static')) {
      const dst = r.dst === 'default' ? any : r.dst.includes('/') ? r.dst : `${r.dst}/${family === '-4' ? 32 : 128}`;
      state[r.dev]?.routes.push(`${dst}>${r.gateway ?? onLink}`);
    }
  }
  return state;
}

// no-address is left out: it would need a DHCP server, which is the dhcp module's business.
const staticCases = ['one-veth', 'several', 'sriov', 'dual-stack', 'calico'];
const inputs = [[goldenFiles.v1, 'yaml'], [goldenFiles.v2, 'yaml'], [goldenFiles.networkData, 'network_data.json']] as const;

void describe('systemd-networkd applies the cloud-init rendering of each golden', () => {
  for (const caseName of staticCases) for (const [input, kind] of inputs) {
    void it(`${caseName}: ${input}`, async () => {
      const want = expectedGuests[caseName]!;
      const out = join(work, caseName, input);
      const convert = spawnSync('cloud-init', ['devel', 'net-convert', '-p', join(projectRoot, 'test/fixtures/cloudinit', caseName, input), '-k', kind, '-D', 'debian', '-d', out, '-O', 'networkd'], { encoding: 'utf8' });
      assert.equal(convert.status, 0, convert.stderr);

      const topo = new Topology();
      let networkd: ReturnType<typeof startNetworkd> | undefined;
      try {
        const vm = topo.ns('vm');
        const peer = topo.ns('peer');
        vm.exec('sysctl', ['-qw', 'net.ipv6.conf.all.accept_dad=0', 'net.ipv6.conf.default.accept_dad=0']);
        Object.entries(want.interfaces).forEach(([name, w], index) => {
          vethPair(vm, name, peer, topo.name(`p${index}`));
          vm.ip('link', 'set', name, 'address', w.mac);
        });
        networkd = startNetworkd(join(out, 'etc/systemd/network'), vm);

        const expected = Object.fromEntries(
          Object.entries(want.interfaces).map(([name, w]) => [name, { mac: w.mac, mtu: w.mtu ?? 1500, addresses: [...w.addresses].sort(), routes: [...w.routes].sort() }]),
        );
        const observe = (): unknown => Object.fromEntries(Object.entries(kernelState(vm)).map(([n, s]) => [n, { ...s, addresses: s.addresses.sort(), routes: s.routes.sort() }]));
        const deadline = Date.now() + 15_000;
        let seen = observe();
        while (JSON.stringify(seen) !== JSON.stringify(expected) && Date.now() < deadline && networkd.proc.exitCode === null) {
          await new Promise((r) => setTimeout(r, 100));
          seen = observe();
        }
        assert.deepEqual(seen, expected, `networkd log:\n${networkd.log()}`);
        assert.equal(networkd.proc.exitCode, null, `networkd exited early:\n${networkd.log()}`);
        if (caseName === 'calico') {
          // The on-link route is a real scope-link route, and the default goes through it.
          const [onLink] = vm.json<IpRoute>('-4', 'route', 'show', '169.254.1.1/32');
          assert.equal(onLink?.scope, 'link');
          assert.equal(onLink?.gateway, undefined);
          const [dflt] = vm.json<IpRoute>('-4', 'route', 'show', 'default');
          assert.deepEqual([dflt?.gateway, dflt?.dev], ['169.254.1.1', 'eth0']);
        }
      } finally {
        if (networkd) await stop(networkd.proc);
        topo.destroy();
        assert.deepEqual(leftoverNetns(topo.tag), []);
      }
    });
  }
});
