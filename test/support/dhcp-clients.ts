// Real DHCP clients run in a client netns ("the VM"): busybox udhcpc, ISC dhclient,
// dhcpcd and systemd-networkd. Each gets its own work dir (lease, pid, resolv files);
// nothing is written outside it or the client netns. Scripts are ours: they apply what
// the client passes (udhcpc, dhclient) or only record DNS (dhcpcd); networkd applies
// everything itself and its lease file gives the DNS.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Netns } from './netns.js';

export type ClientKind = 'udhcpc' | 'dhclient' | 'dhcpcd' | 'networkd';
export const CLIENTS: readonly ClientKind[] = ['udhcpc', 'dhclient', 'dhcpcd', 'networkd'];

export interface Resolv {
  nameservers: string[];
  search: string[];
}

export interface RunningClient {
  kind: ClientKind;
  proc: ChildProcess;
  dir: string;
  /** stdout + stderr so far. */
  output(): string;
  /** Events the script saw, one per line ("bound 10.22.0.2", "renew ...", ...). */
  events(): string[];
  /** DNS as the client handed it over (undefined until it has). */
  resolv(): Resolv | undefined;
  stop(): Promise<void>;
}

// Routes: "dst gw" pairs (udhcpc's $staticroutes; gw 0.0.0.0 = on-link).
const applyLib = `
set_routes() {
  while [ $# -ge 2 ]; do
    if [ "$2" = 0.0.0.0 ]; then ip route replace "$1" dev "$interface"; else ip route replace "$1" via "$2" dev "$interface"; fi
    shift 2
  done
}
write_resolv() {
  { [ -n "$1" ] && echo "search $1"; for d in $2; do echo "nameserver $d"; done; } > "$RESOLV.tmp" && mv "$RESOLV.tmp" "$RESOLV"
}
`;

const udhcpcScript = `#!/bin/sh
${applyLib}
echo "$1 $ip" >> "$EVENTS"
case "$1" in
  deconfig) ip -4 addr flush dev "$interface"; ip link set "$interface" up ;;
  bound|renew)
    ip addr replace "$ip/$mask" dev "$interface"
    [ -n "$mtu" ] && ip link set "$interface" mtu "$mtu"
    if [ -n "$staticroutes" ]; then set_routes $staticroutes
    else for r in $router; do ip route replace default via "$r" dev "$interface"; done; fi
    write_resolv "$search" "$dns" ;;
esac
exit 0
`;

// dhclient passes option 121 as the raw octets: width, significant octets, router.
const dhclientScript = `#!/bin/sh
${applyLib}
echo "$reason $new_ip_address" >> "$EVENTS"
case "$reason" in
  PREINIT) ip link set "$interface" up ;;
  BOUND|RENEW|REBIND|REBOOT)
    if [ -n "$old_ip_address" ] && [ "$old_ip_address" != "$new_ip_address" ]; then ip -4 addr flush dev "$interface"; fi
    ip addr replace "$new_ip_address/$new_subnet_mask" dev "$interface"
    [ -n "$new_interface_mtu" ] && ip link set "$interface" mtu "$new_interface_mtu"
    if [ -n "$new_rfc3442_classless_static_routes" ]; then
      pairs=""
      set -- $new_rfc3442_classless_static_routes
      while [ $# -gt 0 ]; do
        width=$1; shift
        n=$(( (width + 7) / 8 )); i=0; net=""
        while [ $i -lt 4 ]; do
          if [ $i -lt $n ]; then o=$1; shift; else o=0; fi
          net="$net\${net:+.}$o"; i=$((i + 1))
        done
        pairs="$pairs $net/$width $1.$2.$3.$4"; shift 4
      done
      set_routes $pairs
    else for r in $new_routers; do ip route replace default via "$r" dev "$interface"; done; fi
    write_resolv "$new_domain_search" "$new_domain_name_servers" ;;
  EXPIRE|FAIL|RELEASE|STOP) ip -4 addr flush dev "$interface" ;;
esac
exit 0
`;

const dhclientConf = `option rfc3442-classless-static-routes code 121 = array of unsigned integer 8;
request subnet-mask, broadcast-address, routers, domain-name, domain-name-servers, domain-search, interface-mtu, rfc3442-classless-static-routes;
timeout 15;
retry 1;
`;

// dhcpcd applies address, routes and MTU itself; its script only records DNS.
const dhcpcdScript = `#!/bin/sh
${applyLib}
echo "$reason $new_ip_address" >> "$EVENTS"
case "$reason" in
  BOUND|RENEW|REBIND|REBOOT) write_resolv "$new_domain_search" "$new_domain_name_servers" ;;
esac
exit 0
`;

// Measured: without nodelay dhcpcd waits a random 0-5 s before its first DISCOVER, and
// without noarp it probes the offered address for ~1 s more.
const dhcpcdConf = `nodelay
noarp
ipv4only
noipv4ll
persistent
option subnet_mask, routers, domain_name_servers, domain_search, classless_static_routes, interface_mtu
`;

export const dhcpcdWrapper = `
set -eu
ns=$1; shift
mount -t tmpfs -o mode=0755 tmpfs /run/dhcpcd 2>/dev/null || { mkdir -p /run/dhcpcd && mount -t tmpfs -o mode=0755 tmpfs /run/dhcpcd; }
mount -t tmpfs -o mode=0755 tmpfs /var/lib/dhcpcd
exec ip netns exec "$ns" dhcpcd "$@"
`;

export const networkdWrapper = `
set -eu
conf=$1 ns=$2
mount -t tmpfs -o mode=0755 tmpfs /run/systemd
mkdir -p /run/systemd/network /run/systemd/netif/links /run/systemd/netif/leases /run/systemd/netif/lldp
chown -R systemd-network:systemd-network /run/systemd/netif
cp "$conf" /run/systemd/network/
mount -t tmpfs tmpfs /etc/systemd/network
mount -t tmpfs tmpfs /usr/lib/systemd/network
exec ip netns exec "$ns" sh -c 'mount -o remount,ro /sys && exec /lib/systemd/systemd-networkd'
`;

const networkdConf = `[Match]
Name=eth0

[Network]
DHCP=ipv4
LinkLocalAddressing=no
IPv6AcceptRA=no

[DHCPv4]
ClientIdentifier=mac
UseDNS=yes
UseDomains=yes
UseMTU=yes
UseRoutes=yes
RoutesToDNS=no
`;

export interface ClientOptions {
  /** udhcpc: ask for this address (-r). */
  requestIp?: string;
}

function parseResolv(text: string): Resolv {
  const lines = text.split('\n').map((l) => l.trim().split(/\s+/));
  return {
    nameservers: lines.filter((l) => l[0] === 'nameserver').map((l) => l[1] ?? ''),
    search: lines.filter((l) => l[0] === 'search').flatMap((l) => l.slice(1)).map((n) => n.replace(/\.$/, '')),
  };
}

/** networkd's lease file: DNS=a b, DOMAIN_SEARCH_LIST=x y. */
function parseNetworkdLease(text: string): Resolv | undefined {
  const kv = new Map(text.split('\n').filter((l) => l.includes('=')).map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)] as const));
  if (!kv.has('ADDRESS')) return undefined;
  const words = (k: string): string[] => (kv.get(k) ?? '').split(/\s+/).filter(Boolean);
  return { nameservers: words('DNS'), search: words('DOMAIN_SEARCH_LIST') };
}

export function startClient(kind: ClientKind, vm: Netns, dir: string, opts: ClientOptions = {}): RunningClient {
  mkdirSync(dir, { recursive: true });
  const events = join(dir, 'events');
  const resolvFile = join(dir, 'resolv.conf');
  writeFileSync(events, '');
  const script = (text: string): string => {
    // dhclient and dhcpcd give their scripts a fresh environment: the paths go in the text.
    const p = join(dir, 'script.sh');
    writeFileSync(p, text.replace(/^#!\/bin\/sh\n/, `#!/bin/sh\nEVENTS='${events}'\nRESOLV='${resolvFile}'\n`), { mode: 0o755 });
    return p;
  };
  const env = { ...process.env };
  let cmd: string;
  let args: string[];
  if (kind === 'udhcpc') {
    cmd = 'ip';
    args = ['netns', 'exec', vm.name, 'busybox', 'udhcpc', '-f', '-i', 'eth0', '-t', '10', '-T', '1', '-A', '1', '-s', script(udhcpcScript),
      '-O', 'staticroutes', '-O', 'search', '-O', 'mtu', ...(opts.requestIp ? ['-r', opts.requestIp] : [])];
  } else if (kind === 'dhclient') {
    writeFileSync(join(dir, 'dhclient.conf'), dhclientConf);
    if (!existsSync(join(dir, 'dhclient.leases'))) writeFileSync(join(dir, 'dhclient.leases'), '');
    cmd = 'ip';
    args = ['netns', 'exec', vm.name, 'dhclient', '-4', '-d', '-v', '-cf', join(dir, 'dhclient.conf'), '-lf', join(dir, 'dhclient.leases'),
      '-pf', join(dir, 'dhclient.pid'), '-sf', script(dhclientScript), 'eth0'];
  } else if (kind === 'dhcpcd') {
    writeFileSync(join(dir, 'dhcpcd.conf'), dhcpcdConf);
    cmd = 'unshare';
    args = ['--mount', '--propagation', 'private', 'sh', '-c', dhcpcdWrapper, 'dhcpcd', vm.name,
      '-B', '-d', '-f', join(dir, 'dhcpcd.conf'), '-c', script(dhcpcdScript), '-t', '15', 'eth0'];
  } else {
    writeFileSync(join(dir, '10-eth0.network'), networkdConf);
    cmd = 'unshare';
    args = ['--mount', '--propagation', 'private', 'sh', '-c', networkdWrapper, 'networkd', join(dir, '10-eth0.network'), vm.name];
  }
  const proc = spawn(cmd, args, {
    env: kind === 'networkd' ? { ...env, SYSTEMD_LOG_LEVEL: 'debug', SYSTEMD_LOG_TARGET: 'console' } : env,
    stdio: ['ignore', 'pipe', 'pipe'],
    // A process group of its own: stopProc ends the client's helpers with it.
    detached: true,
  });
  let out = '';
  proc.stdout?.on('data', (d: Buffer) => { out += d.toString(); });
  proc.stderr?.on('data', (d: Buffer) => { out += d.toString(); });
  const ifindex = (): number | undefined => vm.json<{ ifindex: number }>('link', 'show', 'eth0')[0]?.ifindex;
  return {
    kind,
    proc,
    dir,
    output: () => out,
    events: () => readFileSync(events, 'utf8').split('\n').filter(Boolean),
    resolv(): Resolv | undefined {
      if (kind === 'networkd') {
        const lease = `/proc/${proc.pid}/root/run/systemd/netif/leases/${ifindex()}`;
        try {
          return parseNetworkdLease(readFileSync(lease, 'utf8'));
        } catch {
          return undefined;
        }
      }
      return existsSync(resolvFile) ? parseResolv(readFileSync(resolvFile, 'utf8')) : undefined;
    },
    stop: () => stopProc(proc),
  };
}

/**
 * Stops a client spawned `detached` (its own process group) and every process left in that
 * group: dhcpcd's privilege-separation helpers can outlive dhcpcd and keep the test's output
 * pipes open, which hung a test run after all its tests had passed.
 */
export async function stopProc(proc: ChildProcess, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  const group = (sig: NodeJS.Signals): void => {
    try {
      process.kill(-proc.pid!, sig);
    } catch {
      // The group is empty (ESRCH): nothing left.
    }
  };
  if (proc.exitCode === null && proc.signalCode === null) {
    const exited = new Promise((resolve) => proc.once('exit', resolve));
    group(signal);
    const t = setTimeout(() => group('SIGKILL'), 3000);
    await exited;
    clearTimeout(t);
  }
  group('SIGKILL');
}

export interface Observed {
  addresses: string[];
  mtu: number | undefined;
  /** "dst>gateway[ mtu N]" (gateway 0.0.0.0 for on-link), kernel prefix routes left out. */
  routes: string[];
  resolv: Resolv | undefined;
}

export function observe(vm: Netns, client: RunningClient): Observed {
  const [link] = vm.json<{ mtu: number; addr_info: { family: string; local: string; prefixlen: number; scope: string }[] }>('addr', 'show', 'dev', 'eth0');
  const routes = vm.json<{ dst: string; gateway?: string; protocol?: string; metrics?: { mtu?: number }[] }>('-4', 'route', 'show', 'dev', 'eth0')
    .filter((r) => r.protocol !== 'kernel')
    .map((r) => {
      const mtu = r.metrics?.find((m) => m.mtu !== undefined)?.mtu;
      return `${r.dst === 'default' ? '0.0.0.0/0' : r.dst}>${r.gateway ?? '0.0.0.0'}${mtu ? ` mtu ${mtu}` : ''}`;
    })
    .sort();
  return {
    addresses: (link?.addr_info ?? []).filter((a) => a.family === 'inet' && a.scope === 'global').map((a) => `${a.local}/${a.prefixlen}`),
    mtu: link?.mtu,
    routes,
    resolv: client.resolv(),
  };
}

/** Polls until `done(observe())` or the deadline; returns the last observation. */
export async function waitObserved(vm: Netns, client: RunningClient, done: (o: Observed) => boolean, ms: number): Promise<Observed> {
  const deadline = Date.now() + ms;
  let o = observe(vm, client);
  while (!done(o) && Date.now() < deadline && client.proc.exitCode === null) {
    await new Promise((r) => setTimeout(r, 50));
    o = observe(vm, client);
  }
  return observe(vm, client);
}
