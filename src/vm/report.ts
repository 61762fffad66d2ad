// Parses the block the test VM's /init prints on the serial console
// (NETLET-REPORT-BEGIN ... NETLET-REPORT-END, then NETLET-PING ok|fail <gw>).
import { PING6_MARK, PING_MARK, REPORT_BEGIN, REPORT_END } from './guest-scripts.js';

export interface VmInterface {
  name: string;
  mac: string;
  mtu: number;
  /** CIDRs from `ip -o addr`, IPv4 and IPv6. */
  addresses: string[];
  /** Whether udhcpc got a lease on it. */
  dhcp: boolean;
  /** Whether dhcpcd got a DHCPv6 address on it (netlet.ipv6=1 only). */
  dhcp6: boolean;
}

export interface VmRoute {
  /** "default" or a CIDR / host address, as `ip route` prints it. */
  dst: string;
  via?: string;
  dev?: string;
  raw: string;
}

export interface VmReport {
  interfaces: VmInterface[];
  routes: VmRoute[];
  /** `ip -6 route` (link-local and multicast routes included). */
  routes6: VmRoute[];
  dns: { nameservers: string[]; search: string[] };
  /** Undefined if the ping line has not been printed (yet). */
  ping?: { ok: boolean; gateway?: string };
  /** The IPv6 ping verdict, when the VM was asked for one. */
  ping6?: { ok: boolean; target: string };
}

/** Section name -> its lines, for the text between the markers. */
function sections(block: string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  let current: string[] | undefined;
  for (const line of block.split('\n')) {
    const h = /^## (\w+)$/.exec(line);
    if (h?.[1]) out.set(h[1], (current = []));
    else if (current && line.trim()) current.push(line.trim());
  }
  return out;
}

export function parseReport(serial: string): VmReport | undefined {
  const text = serial.replace(/\r/g, '');
  const begin = text.indexOf(`${REPORT_BEGIN}\n`);
  const end = text.indexOf(`${REPORT_END}\n`, begin);
  if (begin < 0 || end < 0) return undefined;
  const block = reportFromBlock(text.slice(begin + REPORT_BEGIN.length + 1, end));
  // Not anchored: a kernel message printed on the console can share the verdict's line.
  const p = new RegExp(`${PING_MARK} (ok|fail) ([0-9.]+|none)`).exec(text.slice(end));
  const ping = p ? { ok: p[1] === 'ok', gateway: p[2] === 'none' ? undefined : p[2] } : undefined;
  const p6 = new RegExp(`${PING6_MARK} (ok|fail) ([0-9a-fA-F:.]+)`).exec(text.slice(end));
  const ping6 = p6 ? { ok: p6[1] === 'ok', target: p6[2] ?? '' } : undefined;
  return { ...block, ping, ping6 };
}

/** The sections between a report's markers (the boot report, or a hot-plugged NIC's: hotplug-report.ts). */
export function reportFromBlock(blockText: string): Omit<VmReport, 'ping' | 'ping6'> {
  const s = sections(blockText);

  const okIn = (section: string): Set<string> => new Set((s.get(section) ?? []).filter((l) => l.endsWith(':ok')).map((l) => l.slice(0, -3)));
  const dhcpOk = okIn('dhcp');
  const dhcp6Ok = okIn('dhcp6');
  const interfaces: VmInterface[] = (s.get('link') ?? []).map((l) => {
    const [name = '', mac = '', mtu = '0'] = l.split(/\s+/);
    return { name, mac, mtu: Number(mtu), addresses: [], dhcp: dhcpOk.has(name), dhcp6: dhcp6Ok.has(name) };
  });
  for (const l of s.get('addr') ?? []) {
    // "2: eth0    inet 10.0.0.5/24 brd ... scope global eth0\  valid_lft ..."
    const m = /^\d+:\s+(\S+)\s+inet6?\s+(\S+)/.exec(l);
    const iface = interfaces.find((i) => i.name === m?.[1]);
    if (m?.[2] && iface) iface.addresses.push(m[2]);
  }
  const routesOf = (section: string): VmRoute[] => (s.get(section) ?? []).map((raw) => {
    const words = raw.split(/\s+/);
    const after = (k: string): string | undefined => {
      const i = words.indexOf(k);
      return i >= 0 ? words[i + 1] : undefined;
    };
    return { dst: words[0] ?? '', via: after('via'), dev: after('dev'), raw };
  });
  const resolv = s.get('resolv') ?? [];
  const dns = {
    nameservers: resolv.filter((l) => l.startsWith('nameserver ')).map((l) => l.split(/\s+/)[1] ?? ''),
    search: resolv.filter((l) => l.startsWith('search ')).flatMap((l) => l.split(/\s+/).slice(1)),
  };
  return { interfaces, routes: routesOf('route'), routes6: routesOf('route6'), dns };
}
