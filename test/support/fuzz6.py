#!/usr/bin/env python3
# Malformed DHCPv6 and Router Solicitations at netlet's sockets, from the VM's side:
# fuzz6.py IFACE COUNT SEED. Half DHCPv6 (random, truncated and mutated client messages
# to ff02::1:2 port 547), half ICMPv6 type 133 with random codes, options and hop limits.
import random, socket, struct, sys

iface, count, seed = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
rnd = random.Random(seed)
idx = socket.if_nametoindex(iface)
udp = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
udp.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_IF, idx)
udp.bind(('::', 546, 0, idx))
raw = socket.socket(socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_ICMPV6)
raw.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_IF, idx)

def rbytes(n):
    return bytes(rnd.getrandbits(8) for _ in range(n))

def option(code, data):
    return struct.pack('!HH', code, len(data)) + data

def dhcp6():
    kind = rnd.random()
    if kind < 0.3:
        return rbytes(rnd.randint(0, 300))
    msg = bytes([rnd.choice([1, 3, 4, 5, 6, 8, 9, 11, 12, 2, 7, 0, 255])]) + rbytes(3)
    opts = b''
    for _ in range(rnd.randint(0, 6)):
        code = rnd.choice([1, 2, 3, 5, 6, 8, 14, 23, 24, 25, 39, rnd.randint(0, 65535)])
        data = rbytes(rnd.randint(0, 40))
        o = option(code, data)
        if rnd.random() < 0.2:
            o = struct.pack('!HH', code, rnd.randint(0, 65535)) + data  # length lies
        opts += o
    m = msg + opts
    if rnd.random() < 0.2:
        m = m[: rnd.randint(0, len(m))]
    return m

def rs():
    body = bytes([133, rnd.choice([0, 0, 1, 255])]) + b'\0\0' + rbytes(4)
    for _ in range(rnd.randint(0, 4)):
        t, l = rnd.randint(0, 255), rnd.randint(0, 3)
        body += bytes([t, l]) + rbytes(max(0, l * 8 - 2) if rnd.random() < 0.8 else rnd.randint(0, 9))
    return body

for i in range(count):
    try:
        if i % 2 == 0:
            udp.sendto(dhcp6(), ('ff02::1:2', 547, 0, idx))
        else:
            raw.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_HOPS, rnd.choice([255, 255, 255, 1, 64]))
            raw.sendto(rs(), ('ff02::2', 0, 0, idx))
    except OSError:
        pass
print('sent', count)
