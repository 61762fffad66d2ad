// IPv6 pods through the runtime with the real bridge plugin (host-local IPv4 + IPv6
// ranges, or IPv6 only), a "far" netns behind the node (fd98::2, reached only through the
// CNI gateway), and a "VM" netns on the TAP side (the TAP replaced by a veth of its name,
// as in dhcp-rig.ts). Real clients for both families: systemd-networkd, dhcpcd, dhclient.
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { RuntimeRig } from './runtime-rig.js';
import { vethPair, type Netns } from './netns.js';
import { dhcpcdWrapper, networkdWrapper, stopProc } from './dhcp-clients.js';

export const DUAL = { v4: '10.95.0', v6: 'fd95::', mtu: 1450, dns4: '10.95.0.53', dns6: 'fd95::53', search: 'v6.test' } as const;
export const V6ONLY = { v6: 'fd96::', dns6: 'fd96::53', search: 'v6only.test' } as const;
export const FAR = 'fd98::2';

/** Adds the `dual` and `v6only` networks and the far netns to a runtime rig. */
export function addIpv6Networks(rig: RuntimeRig): Netns {
  const ipam = (ranges: { subnet: string; gateway: string }[][], routes: { dst: string }[]) => ({ type: 'host-local', dataDir: rig.paths.ipam, ranges, routes });
  writeFileSync(join(rig.paths.conf, '30-dual.conflist'), JSON.stringify({
    cniVersion: '1.0.0', name: 'dual',
    plugins: [{
      type: 'bridge', bridge: 'cnid', isGateway: true, mtu: DUAL.mtu,
      ipam: ipam([[{ subnet: `${DUAL.v4}.0/24`, gateway: `${DUAL.v4}.1` }], [{ subnet: `${DUAL.v6}/64`, gateway: `${DUAL.v6}1` }]], [{ dst: '0.0.0.0/0' }, { dst: '::/0' }]),
      dns: { nameservers: [DUAL.dns4, DUAL.dns6], search: [DUAL.search] },
    }],
  }));
  writeFileSync(join(rig.paths.conf, '40-v6only.conflist'), JSON.stringify({
    cniVersion: '1.0.0', name: 'v6only',
    plugins: [{
      type: 'bridge', bridge: 'cni6', isGateway: true,
      ipam: ipam([[{ subnet: `${V6ONLY.v6}/64`, gateway: `${V6ONLY.v6}1` }]], [{ dst: '::/0' }]),
      dns: { nameservers: [V6ONLY.dns6], search: [V6ONLY.search] },
    }],
  }));
  const far = rig.topo.ns('far');
  vethPair(rig.node, 'tofar', far, 'eth0');
  rig.node.ip('addr', 'add', 'fd98::1/64', 'dev', 'tofar', 'nodad');
  far.ip('addr', 'add', `${FAR}/64`, 'dev', 'eth0', 'nodad');
  far.ip('-6', 'route', 'add', 'default', 'via', 'fd98::1');
  rig.node.exec('sysctl', ['-qw', 'net.ipv6.conf.all.forwarding=1']);
  return far;
}

/**
 * The VM: a netns whose eth0 (the CNI MAC) is a veth into the pod bridge under the TAP's
 * name. Its kernel takes no RA (the clients do) unless `kernelRa`. detach() deletes it
 * and waits for the port to go (before teardown: unplumb deletes only a TAP by that name).
 */
export function attachVm(rig: RuntimeRig, pod: Netns, tap: { tapName: string; bridgeName: string; mac: string }, suffix: string, kernelRa = false): { vm: Netns; detach: () => Promise<void> } {
  spawnSync('ip', ['-n', pod.name, 'link', 'del', tap.tapName], { stdio: 'ignore' });
  const vm = rig.topo.ns(suffix);
  for (const [k, v] of Object.entries({ accept_ra: kernelRa ? '2' : '0', accept_ra_rt_info_max_plen: kernelRa ? '128' : '0', autoconf: '0' })) {
    vm.exec('sysctl', ['-qw', `net.ipv6.conf.default.${k}=${v}`]);
  }
  pod.ip('link', 'add', tap.tapName, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', vm.name);
  pod.ip('link', 'set', tap.tapName, 'master', tap.bridgeName, 'up');
  vm.ip('link', 'set', 'eth0', 'address', tap.mac, 'up');
  const detach = async (): Promise<void> => {
    vm.delete();
    for (const end = Date.now() + 5000; pod.links().includes(tap.tapName) && Date.now() < end; ) await new Promise((r) => setTimeout(r, 20));
  };
  return { vm, detach };
}

export type Client6 = 'networkd' | 'dhcpcd' | 'dhclient';

export interface Running6 {
  output(): string;
  /** DNS the client got, as far as it tells. */
  dns(): string[];
  stop(): Promise<void>;
}

const networkdConf = `[Match]
Name=eth0

[Network]
DHCP=yes
LinkLocalAddressing=ipv6
IPv6AcceptRA=yes

[DHCPv4]
ClientIdentifier=mac

[IPv6AcceptRA]
DHCPv6Client=yes
UseDNS=yes
UseDomains=yes
`;

// dhcpcd: both families; router discovery and DHCPv6 IA_NA by dhcpcd itself.
const dhcpcdConf = `nodelay
noarp
noipv4ll
persistent
ipv6rs
ia_na 1
option domain_name_servers, domain_search, dhcp6_name_servers, dhcp6_domain_search
`;

const dhcpcdScript = (dns: string): string => `#!/bin/sh
{ echo "$reason $new_domain_name_servers $new_dhcp6_name_servers"; } >> ${dns}
exit 0
`;

// dhclient -6 with no script of ours: its default (dhclient-script) adds the address.
function spawnLogged(cmd: string, args: string[]): { out: () => string; proc: ReturnType<typeof spawn> } {
  // Its own process group, which stopProc ends whole.
  const proc = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, SYSTEMD_LOG_LEVEL: 'debug', SYSTEMD_LOG_TARGET: 'console' }, detached: true });
  let text = '';
  proc.stdout?.on('data', (d: Buffer) => { text += d.toString(); });
  proc.stderr?.on('data', (d: Buffer) => { text += d.toString(); });
  return { out: () => text, proc };
}

export function startClient6(kind: Client6, vm: Netns, dir: string): Running6 {
  mkdirSync(dir, { recursive: true });
  if (kind === 'networkd') {
    writeFileSync(join(dir, '10-eth0.network'), networkdConf);
    const p = spawnLogged('unshare', ['--mount', '--propagation', 'private', 'sh', '-c', networkdWrapper, 'networkd', join(dir, '10-eth0.network'), vm.name]);
    const ifindex = (): number | undefined => vm.json<{ ifindex: number }>('link', 'show', 'eth0')[0]?.ifindex;
    return {
      output: p.out,
      dns: () => {
        try {
          const lease = readFileSync(`/proc/${p.proc.pid}/root/run/systemd/netif/links/${ifindex()}`, 'utf8');
          return (/^DNS=(.*)$/m.exec(lease)?.[1] ?? '').split(/\s+/).filter(Boolean);
        } catch {
          return [];
        }
      },
      stop: () => stopProc(p.proc),
    };
  }
  if (kind === 'dhcpcd') {
    writeFileSync(join(dir, 'dhcpcd.conf'), dhcpcdConf);
    const dnsFile = join(dir, 'dns');
    writeFileSync(join(dir, 'script.sh'), dhcpcdScript(dnsFile), { mode: 0o755 });
    const p = spawnLogged('unshare', ['--mount', '--propagation', 'private', 'sh', '-c', dhcpcdWrapper, 'dhcpcd', vm.name,
      '-B', '-d', '-f', join(dir, 'dhcpcd.conf'), '-c', join(dir, 'script.sh'), '-t', '20', 'eth0']);
    return {
      output: p.out,
      dns: () => (existsSync(dnsFile) ? readFileSync(dnsFile, 'utf8').split(/\s+/).filter((w) => /^[0-9a-f.:]+$/.test(w) && w.length > 3) : []),
      stop: () => stopProc(p.proc),
    };
  }
  // dhclient: one process per family; the kernel takes the RA (attachVm kernelRa).
  const lease6 = join(dir, 'dhclient6.leases');
  const lease4 = join(dir, 'dhclient4.leases');
  writeFileSync(lease6, '');
  writeFileSync(lease4, '');
  // dhclient-script writes /etc/resolv.conf, and a netns shares the host's files: each
  // dhclient gets a private one (a bind mount in a mount namespace of its own).
  const resolv = join(dir, 'resolv.conf');
  writeFileSync(resolv, '');
  const privately = (...cmd: string[]): string[] => ['--mount', '--propagation', 'private', 'sh', '-c', 'r=$1; shift; mount --bind "$r" /etc/resolv.conf && exec "$@"', 'resolv', resolv, ...cmd];
  const p4 = spawnLogged('unshare', privately('ip', 'netns', 'exec', vm.name, 'dhclient', '-4', '-d', '-v', '-lf', lease4, '-pf', join(dir, 'd4.pid'), 'eth0'));
  // dhclient -6 binds to the link-local: it fails while DAD still holds it tentative.
  const p6 = spawnLogged('unshare', privately('ip', 'netns', 'exec', vm.name, 'sh', '-c',
    'while ip -6 addr show dev eth0 tentative | grep -q inet6 || ! ip -6 addr show dev eth0 | grep -q fe80; do sleep 0.1; done; exec dhclient -6 -d -v -lf "$0" -pf "$1" eth0', lease6, join(dir, 'd6.pid')));
  return {
    output: () => p4.out() + p6.out(),
    dns: () => [...readFileSync(lease6, 'utf8').matchAll(/option dhcp6.name-servers ([^;]+);/g)].flatMap((m) => m[1]!.split(/,\s*/)),
    stop: async () => { await stopProc(p4.proc); await stopProc(p6.proc); },
  };
}

export interface Observed6 {
  v4: string[];
  v6: string[];
  default4: boolean;
  default6: string | undefined;
}

export function observe6(vm: Netns): Observed6 {
  // A tentative address (DAD running) cannot be used yet: it does not count.
  const addrs = (vm.json<{ addr_info: { family: string; local: string; scope: string; tentative?: boolean }[] }>('addr', 'show', 'dev', 'eth0')[0]?.addr_info ?? []).filter((a) => !a.tentative);
  const d6 = vm.json<{ dst: string; gateway?: string }>('-6', 'route', 'show', 'default')[0];
  return {
    v4: addrs.filter((a) => a.family === 'inet' && a.scope === 'global').map((a) => a.local),
    v6: addrs.filter((a) => a.family === 'inet6' && a.scope === 'global').map((a) => a.local),
    default4: vm.json('-4', 'route', 'show', 'default').length > 0,
    default6: d6?.gateway,
  };
}

export async function waitFor6(what: string, f: () => boolean, ms: number, detail: () => string): Promise<void> {
  const end = Date.now() + ms;
  while (!f()) {
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}\n${detail()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
