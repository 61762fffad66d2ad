#!/usr/bin/python3
# The frames test/netns/antispoof.test.ts sends from the "VM" side of a TAP, built with
# scapy: every spoof anti-spoofing must stop (with the reason its counter should count)
# and the legitimate frames it must let through. Sends each `repeat` times on `iface`
# and prints [{name, reason, legit, hex}] as JSON (reason null for legitimate frames).
# usage: spoof-frames.py IFACE JSON   JSON = {mac, ipv4, ipv6, gateway, gatewayMac, repeat}
import json
import sys

from scapy.all import ARP, BOOTP, DHCP, Dot1Q, Ether, ICMP, IP, IPv6, UDP, Raw, conf, sendp  # noqa: E402
from scapy.layers.dhcp6 import DHCP6_Reply, DHCP6OptServerId
from scapy.layers.inet6 import (ICMPv6EchoRequest, ICMPv6ND_NA, ICMPv6ND_NS, ICMPv6ND_RA, ICMPv6ND_Redirect,
                                ICMPv6NDOptDstLLAddr, ICMPv6NDOptSrcLLAddr, ICMPv6MLReport2)
from scapy.utils6 import in6_getnsma, in6_getnsmac
from scapy.pton_ntop import inet_pton
import socket

conf.verb = 0
iface = sys.argv[1]
p = json.loads(sys.argv[2])
mac, v4, v6, gw, gw_mac = p['mac'], p['ipv4'], p['ipv6'], p['gateway'], p['gatewayMac']
repeat = p.get('repeat', 1)
FOREIGN_MAC = '0a:58:de:ad:be:ef'
FOREIGN_V4 = p.get('foreignIpv4', '10.22.0.77')
FOREIGN_V6 = 'fd00:22::99'
LL = 'fe80::1234'  # a link-local of the VM's (any fe80::/64 is allowed)
ALL_NODES = '33:33:00:00:00:01'


def eth(src=mac, dst=gw_mac):
    return Ether(src=src, dst=dst)


def sol(addr):
    return socket.inet_ntop(socket.AF_INET6, in6_getnsma(inet_pton(socket.AF_INET6, addr)))


payload = Raw(b'netlet-antispoof')
cases = [
    # name, reason (None: legitimate), frame
    ('ether source not the VM', 'mac', eth(src=FOREIGN_MAC) / IP(src=v4, dst=gw) / ICMP() / payload),
    ('IPv4 source not the VM', 'ipv4', eth() / IP(src=FOREIGN_V4, dst=gw) / ICMP() / payload),
    ('ARP claiming the gateway', 'arp', Ether(src=mac, dst='ff:ff:ff:ff:ff:ff') / ARP(op=2, hwsrc=mac, psrc=gw, hwdst='ff:ff:ff:ff:ff:ff', pdst=gw)),
    ('ARP with a foreign sender MAC', 'arp', Ether(src=mac, dst='ff:ff:ff:ff:ff:ff') / ARP(op=1, hwsrc=FOREIGN_MAC, psrc=v4, pdst=gw)),
    ('VLAN-tagged frame', 'ethertype', eth() / Dot1Q(vlan=5) / IP(src=v4, dst=gw) / ICMP() / payload),
    ('DHCPv4 OFFER from port 67', 'dhcp', Ether(src=mac, dst='ff:ff:ff:ff:ff:ff') / IP(src=v4, dst='255.255.255.255') / UDP(sport=67, dport=68)
     / BOOTP(op=2, yiaddr='10.22.0.66', chaddr=b'\x0a\x58\x00\x00\x00\x01') / DHCP(options=[('message-type', 'offer'), 'end'])),
    ('IPv6 source not the VM', 'ipv6', Ether(src=mac, dst=ALL_NODES) / IPv6(src=FOREIGN_V6, dst='ff02::1') / ICMPv6EchoRequest()),
    ('NA for a foreign target', 'nd', Ether(src=mac, dst=ALL_NODES) / IPv6(src=v6, dst='ff02::1', hlim=255)
     / ICMPv6ND_NA(tgt=FOREIGN_V6, R=0, S=0, O=1) / ICMPv6NDOptDstLLAddr(lladdr=mac)),
    ('NA with a foreign target link-layer address', 'nd', Ether(src=mac, dst=ALL_NODES) / IPv6(src=v6, dst='ff02::1', hlim=255)
     / ICMPv6ND_NA(tgt=v6, R=0, S=0, O=1) / ICMPv6NDOptDstLLAddr(lladdr=FOREIGN_MAC)),
    ('NS with a foreign source link-layer address', 'nd', Ether(src=mac, dst=in6_getnsmac(inet_pton(socket.AF_INET6, FOREIGN_V6)))
     / IPv6(src=v6, dst=sol(FOREIGN_V6), hlim=255) / ICMPv6ND_NS(tgt=FOREIGN_V6) / ICMPv6NDOptSrcLLAddr(lladdr=FOREIGN_MAC)),
    ('router advertisement', 'ra', Ether(src=mac, dst=ALL_NODES) / IPv6(src=LL, dst='ff02::1', hlim=255) / ICMPv6ND_RA() / ICMPv6NDOptSrcLLAddr(lladdr=mac)),
    ('ICMPv6 redirect', 'nd', Ether(src=mac, dst=ALL_NODES) / IPv6(src=LL, dst='ff02::1', hlim=255) / ICMPv6ND_Redirect(tgt='fe80::1', dst='fd00:99::1')),
    ('DHCPv6 reply from port 547', 'dhcp', Ether(src=mac, dst=ALL_NODES) / IPv6(src=LL, dst='ff02::1') / UDP(sport=547, dport=546)
     / DHCP6_Reply(trid=7) / DHCP6OptServerId()),
    # Legitimate: must cross.
    ('IPv4 from the VM beyond the gateway', None, eth() / IP(src=v4, dst='198.51.100.1') / ICMP() / payload),
    ('ARP request for the gateway', None, Ether(src=mac, dst='ff:ff:ff:ff:ff:ff') / ARP(op=1, hwsrc=mac, psrc=v4, pdst=gw)),
    ('ARP probe', None, Ether(src=mac, dst='ff:ff:ff:ff:ff:ff') / ARP(op=1, hwsrc=mac, psrc='0.0.0.0', pdst=v4)),
    ('IPv6 from the VM', None, Ether(src=mac, dst=ALL_NODES) / IPv6(src=v6, dst='ff02::1') / ICMPv6EchoRequest()),
    ('IPv6 from a link-local', None, Ether(src=mac, dst=ALL_NODES) / IPv6(src=LL, dst='ff02::1') / ICMPv6EchoRequest()),
    ('NA for the VM with its MAC', None, Ether(src=mac, dst=ALL_NODES) / IPv6(src=v6, dst='ff02::1', hlim=255)
     / ICMPv6ND_NA(tgt=v6, R=0, S=0, O=1) / ICMPv6NDOptDstLLAddr(lladdr=mac)),
    ('NA for the link-local without option', None, Ether(src=mac, dst=ALL_NODES) / IPv6(src=LL, dst='ff02::1', hlim=255) / ICMPv6ND_NA(tgt=LL, R=0, S=1, O=1)),
    ('DAD NS from ::', None, Ether(src=mac, dst=in6_getnsmac(inet_pton(socket.AF_INET6, v6))) / IPv6(src='::', dst=sol(v6), hlim=255) / ICMPv6ND_NS(tgt=v6)),
    ('MLDv2 report from ::', None, Ether(src=mac, dst='33:33:00:00:00:16') / IPv6(src='::', dst='ff02::16', hlim=1) / ICMPv6MLReport2()),
]

out = []
for name, reason, frame in cases:
    raw = bytes(frame)
    out.append({'name': name, 'reason': reason, 'hex': raw.hex()})
for _ in range(repeat):
    for name, reason, frame in cases:
        sendp(Ether(bytes(frame)), iface=iface)
print(json.dumps(out))
