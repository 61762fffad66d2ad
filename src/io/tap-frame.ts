// Builds a DHCP request as a VM would put it on the wire (Ethernet + IPv4 + UDP),
// for writing into a TAP fd: used by the scale benchmark and tests to act as a VM
// without booting one.
import { serialize, type DhcpMessage } from '../dhcp/index.js';
import { macToBytes } from '../model/ip.js';

const checksum = (b: Buffer): number => {
  let s = 0;
  for (let i = 0; i + 1 < b.length; i += 2) s += b.readUInt16BE(i);
  if (b.length % 2) s += b[b.length - 1]! << 8;
  while (s >> 16) s = (s & 0xffff) + (s >> 16);
  return ~s & 0xffff;
};

/** An Ethernet frame carrying `msg` from mac:68 to ff:ff:ff:ff:ff:ff / 255.255.255.255:67. */
export function dhcpFrame(mac: string, msg: DhcpMessage, opts: { vnetHdr?: boolean } = {}): Buffer {
  const payload = Buffer.from(serialize(msg));
  const udp = Buffer.alloc(8);
  udp.writeUInt16BE(68, 0);
  udp.writeUInt16BE(67, 2);
  udp.writeUInt16BE(8 + payload.length, 4); // checksum 0: optional for IPv4
  const ip = Buffer.alloc(20);
  ip[0] = 0x45;
  ip.writeUInt16BE(20 + 8 + payload.length, 2);
  ip[8] = 64;
  ip[9] = 17;
  Buffer.from([255, 255, 255, 255]).copy(ip, 16);
  ip.writeUInt16BE(checksum(ip), 10);
  const eth = Buffer.alloc(14);
  Buffer.from([255, 255, 255, 255, 255, 255]).copy(eth, 0);
  macToBytes(mac).copy(eth, 6);
  eth.writeUInt16BE(0x0800, 12);
  // IFF_VNET_HDR TAPs expect a virtio_net_hdr (10 bytes, all zero: no offloads) first.
  return Buffer.concat([...(opts.vnetHdr ? [Buffer.alloc(10)] : []), eth, ip, udp, payload]);
}
