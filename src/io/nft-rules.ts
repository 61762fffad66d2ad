// The nftables text of an interface's bridge table, built from its plan. Pure: what
// src/io/nft.ts applies, what `netlet inspect` and docs/security.md show, and what
// test/unit/veth/nft-rules.test.ts checks. The table holds two things:
//   - DHCP isolation: DHCP neither leaves through nor enters from the veth;
//   - anti-spoofing: every frame from the VM (the TAP), forwarded to the veth or for the
//     bridge itself, speaks as the VM: its MAC, its addresses, no router or DHCP server
//     messages. Each drop reason has a named counter (spoof_<reason>).
import { NetletError } from '../model/errors.js';
import { bytesToIp, familyOf, ipv6Bytes, normaliseMac } from '../model/ip.js';

/** Why a frame from the VM was dropped; `ethertype`: anything but IPv4, ARP and IPv6 (VLAN tags too). */
export const SPOOF_REASONS = ['mac', 'ipv4', 'arp', 'ipv6', 'nd', 'ra', 'dhcp', 'ethertype'] as const;
export type SpoofReason = (typeof SPOOF_REASONS)[number];
export type SpoofCounters = Record<SpoofReason, number>;

export const spoofCounterName = (r: SpoofReason): string => `spoof_${r}`;

/** Who the VM is: the MAC and the addresses CNI gave the interface. */
export interface AntiSpoof {
  mac: string;
  ipv4: string[];
  ipv6: string[];
}

export interface IsolationRule {
  table: string;
  bridge: string;
  bridgeMac: string;
  bridgeAddress: string;
  tap: string;
  veth: string;
  /** Absent: no anti-spoofing (the runtime's `antiSpoofing: false`). */
  antiSpoof?: AntiSpoof;
  /** The VM's MAC and global IPv6 addresses, when the pod netns routes for it (src/io/ipv6-route.ts). */
  routed6?: { mac: string; addresses: string[] };
}

/** Values go into nft text: anything but a plain MAC or address is refused, never quoted. */
function checked(a: AntiSpoof): AntiSpoof {
  const mac = normaliseMac(a.mac);
  const bad = [...a.ipv4.filter((x) => familyOf(x) !== 4), ...a.ipv6.filter((x) => familyOf(x) !== 6 || x.includes('%'))];
  if (!mac || bad.length) {
    throw new NetletError('INVALID_PLAN', `anti-spoofing rules need a MAC and plain addresses; got mac ${a.mac}${bad.length ? `, addresses ${bad.join(', ')}` : ''}: fix the CNI result`);
  }
  // Link-locals are in fe80::/64, which the rules allow anyway (an overlap is an nft error).
  const ipv6 = [...new Set(a.ipv6.map(ipv6Hex))].filter((h) => !h.startsWith('fe80000000000000')).map(hexToIpv6);
  return { mac, ipv4: [...new Set(a.ipv4)], ipv6 };
}

const ipv6Hex = (a: string): string => ipv6Bytes(a).map((b) => b.toString(16).padStart(2, '0')).join('');
const hexToIpv6 = (h: string): string => bytesToIp(Buffer.from(h, 'hex'));
const macHex = (mac: string): string => mac.replace(/:/g, '');

/** The anti-spoofing part: counters, address sets, the chains the prerouting hook jumps to. */
function antiSpoofSection(raw: AntiSpoof): string {
  const a = checked(raw);
  const mac = a.mac;
  const drop = (r: SpoofReason): string => `counter name "${spoofCounterName(r)}" drop`;
  // An ND option at `bitOffset` of the ICMPv6 header: type, length 1 (8 octets), the MAC.
  const llOption = (type: 1 | 2, bitOffset: number): string => `@th,${bitOffset},64 0x${type.toString(16).padStart(2, '0')}01${macHex(mac)}`;
  const naTargetForeign = a.ipv6.length
    ? `@th,64,64 != 0xfe80000000000000 @th,64,128 != { ${a.ipv6.map((x) => `0x${ipv6Hex(x)}`).join(', ')} }`
    : '@th,64,64 != 0xfe80000000000000';
  // The VM's IPv6 sources: CNI's, and any link-local (guests derive it by EUI-64 or
  // stable-privacy; the Ethernet source is checked anyway). Anonymous sets, not named ones:
  // they go with the flush, where emptying a named interval set costs ~10 ms per apply.
  const ipv6 = `{ fe80::/64${a.ipv6.map((x) => `, ${x}`).join('')} }`;
  return `  counter ${SPOOF_REASONS.map(spoofCounterName).join(' {}\n  counter ')} {}
  # Every frame from the VM: forwarded to the veth or for the bridge (an RA would configure
  # the pod netns). A frame that passes returns to prerouting.
  chain vm_spoof {
    ether saddr != ${mac} ${drop('mac')}
    ether type ip goto vm_ipv4
    ether type arp goto vm_arp
    ether type ip6 goto vm_ipv6
    ${drop('ethertype')}
  }
  chain vm_ipv4 {
    udp sport 67 ${drop('dhcp')}
${a.ipv4.length ? `    ip saddr { ${a.ipv4.join(', ')} } return\n` : ''}    # A DHCP client before it has an address: only to a server (netlet's; the forward chain keeps it off the veth).
    ip saddr 0.0.0.0 udp sport 68 udp dport 67 return
    ${drop('ipv4')}
  }
  chain vm_arp {
    # 0.0.0.0: an ARP probe (RFC 5227).
    arp htype 1 arp ptype ip arp hlen 6 arp plen 4 arp saddr ether ${mac} arp saddr ip { ${['0.0.0.0', ...a.ipv4].join(', ')} } return
    ${drop('arp')}
  }
  chain vm_ipv6 {
    icmpv6 type nd-router-advert ${drop('ra')}
    icmpv6 type nd-redirect ${drop('nd')}
    udp sport 547 ${drop('dhcp')}
    # Duplicate address detection (and its MLD reports) before the VM has an address.
    ip6 saddr :: icmpv6 type { nd-neighbor-solicit, mld2-listener-report } return
    ip6 saddr != ${ipv6} ${drop('ipv6')}
    icmpv6 type nd-neighbor-advert goto vm_na
    # A source link-layer option (first option) must carry the VM's MAC.
    icmpv6 type nd-neighbor-solicit @th,192,16 0x0101 @th,208,48 != 0x${macHex(mac)} ${drop('nd')}
    icmpv6 type nd-router-solicit @th,64,16 0x0101 @th,80,48 != 0x${macHex(mac)} ${drop('nd')}
  }
  chain vm_na {
    # The target is one of the VM's addresses; the only option allowed is its own MAC.
    ${naTargetForeign} ${drop('nd')}
    ip6 length 24 return
    ip6 length 32 ${llOption(2, 192)} return
    ${drop('nd')}
  }
`;
}

/** IPv6 the pod forwards for the VM leaves with the VM's MAC, as bridged IPv4 does. */
function routedSection(r: IsolationRule): string {
  const { mac, addresses } = r.routed6!;
  const m = normaliseMac(mac);
  const bad = addresses.filter((x) => familyOf(x) !== 6 || x.includes('%'));
  if (!m || bad.length || addresses.length === 0) {
    throw new NetletError('INVALID_PLAN', `IPv6 routing rules need a MAC and plain IPv6 addresses; got mac ${mac}, addresses ${addresses.join(', ') || 'none'}: fix the CNI result`);
  }
  return `    oifname "${r.veth}" ether saddr ${normaliseMac(r.bridgeMac)} ip6 saddr { ${[...new Set(addresses)].join(', ')} } ether saddr set ${m}
`;
}

/** The table's text (a full definition; nft.ts adds it after an add + flush). */
export function isolationRuleset(r: IsolationRule): string {
  return `table bridge ${r.table} {
${r.antiSpoof ? antiSpoofSection(r.antiSpoof) : ''}  chain prerouting {
    type filter hook prerouting priority -300; policy accept;
${r.antiSpoof ? `    iifname "${r.tap}" jump vm_spoof\n` : ''}    # DHCP from the cluster side never reaches the VM or netlet's server; nor do its
    # DHCPv6, RAs and RSs (the VM gets only the CNI's addresses and netlet's router).
    iifname "${r.veth}" udp dport { 67, 68 } drop
    iifname "${r.veth}" udp dport { 546, 547 } drop
    iifname "${r.veth}" icmpv6 type { nd-router-solicit, nd-router-advert, nd-redirect } drop
    # A renewing VM unicasts to the server id through its gateway's MAC: deliver it here.
    iifname "${r.tap}" ip daddr ${r.bridgeAddress} udp dport 67 ether daddr set ${r.bridgeMac} meta pkttype set host
  }
  chain forward {
    type filter hook forward priority 0; policy accept;
    # The VM's DHCP, DHCPv6 and router discovery never leave through the veth.
    oifname "${r.veth}" udp dport { 67, 68 } drop
    oifname "${r.veth}" udp dport { 546, 547 } drop
    oifname "${r.veth}" icmpv6 type { nd-router-solicit, nd-router-advert } drop
  }
  chain output {
    type filter hook output priority 0; policy accept;
    # The server's replies (flooded by an ageing-0 bridge) never leave through the veth;
    # nor do netlet's RAs and DHCPv6 replies. Redirects: the pod routes for the VM, never redirects it.
    oifname "${r.veth}" udp sport { 67, 68 } drop
    oifname "${r.veth}" udp sport { 546, 547 } drop
    oifname "${r.veth}" icmpv6 type nd-router-advert drop
    icmpv6 type nd-redirect drop
${r.routed6 ? routedSection(r) : ''}  }
}
`;
}

/**
 * The whole transaction: add + flush, not delete (a delete waits for an RCU grace period,
 * ~10 ms). The flush empties the chains (their anonymous sets go with the rules) and keeps
 * the counters: they keep counting across a re-isolate.
 */
export function isolationScript(r: IsolationRule): string {
  return `add table bridge ${r.table}\nflush table bridge ${r.table}\n${isolationRuleset(r)}`;
}

/** The spoof_<reason> counters among a table's counters (packets by name); undefined when it holds none (anti-spoofing off, or no table). */
export function spoofCountersOf(found: ReadonlyMap<string, number>): SpoofCounters | undefined {
  if (!SPOOF_REASONS.some((r) => found.has(spoofCounterName(r)))) return undefined;
  return Object.fromEntries(SPOOF_REASONS.map((r) => [r, found.get(spoofCounterName(r)) ?? 0])) as SpoofCounters;
}
