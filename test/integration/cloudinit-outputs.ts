// Reads what `cloud-init devel net-convert` wrote (networkd, eni, netplan) back into one
// comparable shape, so a test can check the addresses, routes, MTU and DNS that survived.
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';

export interface GuestInterface {
  mac?: string;
  addresses: string[];
  mtu?: number;
  dhcp4: boolean;
  /** "dst>gateway" in the order the guest installs them; on-link routes have gateway 0.0.0.0 / ::. */
  routes: string[];
}

export interface GuestNetwork {
  interfaces: Record<string, GuestInterface>;
  nameservers: string[];
  search: string[];
}

export type OutputKind = 'networkd' | 'eni' | 'netplan';

export const outputFiles = (kind: OutputKind, names: string[]): string[] =>
  kind === 'networkd'
    ? names.map((n) => `etc/systemd/network/10-cloud-init-${n}.network`)
    : kind === 'eni'
      ? ['etc/network/interfaces.d/50-cloud-init', 'etc/udev/rules.d/70-persistent-net.rules']
      : ['etc/netplan/50-cloud-init.yaml'];

const defaultDst = (gw: string): string => (gw.includes(':') ? '::/0' : '0.0.0.0/0');
const blank = (): GuestInterface => ({ addresses: [], dhcp4: false, routes: [] });
const addAll = (to: string[], from: string[]): void => { for (const x of from) if (!to.includes(x)) to.push(x); };

export function readGuestNetwork(kind: OutputKind, dir: string): GuestNetwork {
  return kind === 'networkd' ? readNetworkd(dir) : kind === 'eni' ? readEni(dir) : readNetplan(dir);
}

function readNetworkd(dir: string): GuestNetwork {
  const net: GuestNetwork = { interfaces: {}, nameservers: [], search: [] };
  const base = join(dir, 'etc/systemd/network');
  for (const file of readdirSync(base).sort()) {
    const iface = blank();
    let name = '';

    let route: Record<string, string> | undefined;
    const flush = (): void => {
      if (!route?.Gateway) return;
      iface.routes.push(`${route.Destination ?? defaultDst(route.Gateway)}>${route.Gateway}`);
    };
    for (const line of readFileSync(join(base, file), 'utf8').split('\n')) {
      const header = /^\[(\w+)\]$/.exec(line);
      if (header) {
        flush();
        route = header[1] === 'Route' ? {} : undefined;
        continue;
      }
      const kv = /^(\w+)=(.*)$/.exec(line);
      if (!kv) continue;
      const [, key, value] = kv as unknown as [string, string, string];
      if (route) route[key] = value;
      else if (key === 'Address') iface.addresses.push(value);
      else if (key === 'MTUBytes') iface.mtu = Number(value);
      else if (key === 'MACAddress') iface.mac = value;
      else if (key === 'Name') name = value;
      else if (key === 'DHCP') iface.dhcp4 = value === 'ipv4' || value === 'yes';
      else if (key === 'DNS') addAll(net.nameservers, value.split(' '));
      else if (key === 'Domains') addAll(net.search, value.split(' '));
    }
    flush();
    net.interfaces[name] = iface;
  }
  return net;
}

function readEni(dir: string): GuestNetwork {
  const net: GuestNetwork = { interfaces: {}, nameservers: [], search: [] };
  let current: GuestInterface | undefined;
  for (const raw of readFileSync(join(dir, 'etc/network/interfaces.d/50-cloud-init'), 'utf8').split('\n')) {
    const line = raw.trim();
    const stanza = /^iface (\S+) inet6? (\w+)$/.exec(line);
    if (stanza) {
      const [, name, mode] = stanza as unknown as [string, string, string];
      current = name === 'lo' ? undefined : (net.interfaces[name] ??= blank());
      if (current && mode === 'dhcp') current.dhcp4 = true;
      continue;
    }
    const [key, ...rest] = line.split(/\s+/);
    if (key === 'dns-nameservers') addAll(net.nameservers, rest);
    else if (key === 'dns-search') addAll(net.search, rest);
    if (!current) continue;
    if (key === 'address') current.addresses.push(rest[0]!);
    else if (key === 'mtu') current.mtu = Number(rest[0]);
    // ifupdown adds `gateway` during ifup, before any post-up command.
    else if (key === 'gateway') current.routes.unshift(`${defaultDst(rest[0]!)}>${rest[0]}`);
    else if (key === 'post-up' && rest[0] === 'route' && rest[1] === 'add') {
      const words = rest.slice(2).filter((w) => !['-A', 'inet6', '-host', '-net', '||', 'true'].includes(w));
      const gw = words[words.indexOf('gw') + 1]!;
      current.routes.push(`${words[0] === 'default' ? defaultDst(gw) : words[0]}>${gw}`);
    }
  }
  const rules = readFileSync(join(dir, 'etc/udev/rules.d/70-persistent-net.rules'), 'utf8');
  for (const m of rules.matchAll(/ATTR\{address\}=="([^"]+)", NAME="([^"]+)"/g)) {
    const iface = net.interfaces[m[2]!];
    if (iface) iface.mac = m[1]!;
  }
  return net;
}

interface NetplanEthernet {
  match?: { macaddress?: string };
  addresses?: string[];
  mtu?: number;
  dhcp4?: boolean;
  gateway4?: string;
  gateway6?: string;
  routes?: { to: string; via: string }[];
  nameservers?: { addresses?: string[]; search?: string[] };
}

function readNetplan(dir: string): GuestNetwork {
  const doc = parse(readFileSync(join(dir, 'etc/netplan/50-cloud-init.yaml'), 'utf8'), { strict: true, uniqueKeys: true }) as {
    network: { version: number; ethernets: Record<string, NetplanEthernet> };
  };
  const net: GuestNetwork = { interfaces: {}, nameservers: [], search: [] };
  for (const [name, e] of Object.entries(doc.network.ethernets)) {
    net.interfaces[name] = {
      ...(e.match?.macaddress ? { mac: e.match.macaddress } : {}),
      addresses: e.addresses ?? [],
      ...(e.mtu !== undefined ? { mtu: e.mtu } : {}),
      dhcp4: e.dhcp4 === true,
      routes: [
        ...[e.gateway4, e.gateway6].filter((g): g is string => g !== undefined).map((g) => `${defaultDst(g)}>${g}`),
        ...(e.routes ?? []).map((r) => `${r.to}>${r.via}`),
      ],
    };
    addAll(net.nameservers, e.nameservers?.addresses ?? []);
    addAll(net.search, e.nameservers?.search ?? []);
  }
  return net;
}

export const missingFiles = (dir: string, files: string[]): string[] => files.filter((f) => !existsSync(join(dir, f)));
