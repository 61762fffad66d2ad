// The nf_tables netlink messages that read a bridge table's named counters: what
// `nft list counters table bridge T` asks the kernel, without libnftables (which fetches the
// table's whole cache and prints text to be parsed again). Pure: io/nft.ts sends them.
import { attr, cstr, parseAttrs } from './nlattr.js';

const NFNL_SUBSYS_NFTABLES = 10;
const NFT_MSG_NEWOBJ = 18;
const NFT_MSG_GETOBJ = 19;
const NLM_F_REQUEST = 0x1;
const NLM_F_DUMP = 0x300;
const NLMSG_ERROR = 2;
const NLMSG_DONE = 3;
const NFPROTO_BRIDGE = 7;
const NFTA_OBJ_TABLE = 1;
const NFTA_OBJ_NAME = 2;
const NFTA_OBJ_TYPE = 3;
const NFTA_OBJ_DATA = 4;
const NFT_OBJECT_COUNTER = 1;
const NFTA_COUNTER_PACKETS = 2;

/** NFT_MSG_GETOBJ, a dump of the counter objects of bridge table `table` (none: an empty dump). */
export function countersRequest(table: string): Buffer {
  const type = Buffer.alloc(4);
  type.writeUInt32BE(NFT_OBJECT_COUNTER);
  // nfgenmsg: family, version 0, resource id 0.
  const body = Buffer.concat([Buffer.from([NFPROTO_BRIDGE, 0, 0, 0]), attr(NFTA_OBJ_TABLE, cstr(table)), attr(NFTA_OBJ_TYPE, type)]);
  const h = Buffer.alloc(16);
  h.writeUInt32LE(16 + body.length, 0);
  h.writeUInt16LE((NFNL_SUBSYS_NFTABLES << 8) | NFT_MSG_GETOBJ, 4);
  h.writeUInt16LE(NLM_F_REQUEST | NLM_F_DUMP, 6);
  h.writeUInt32LE(1, 8);
  return Buffer.concat([h, body]);
}

/** Packets per counter name in the dump's replies; undefined when the kernel answered with an error. */
export function parseCounters(reply: Buffer): Map<string, number> | undefined {
  const out = new Map<string, number>();
  for (let off = 0; off + 16 <= reply.length; ) {
    const len = reply.readUInt32LE(off);
    if (len < 16 || off + len > reply.length) break;
    const type = reply.readUInt16LE(off + 4);
    if (type === NLMSG_DONE) break;
    if (type === NLMSG_ERROR && reply.readInt32LE(off + 16) !== 0) return undefined;
    if (type === ((NFNL_SUBSYS_NFTABLES << 8) | NFT_MSG_NEWOBJ)) {
      // After the netlink header, the 4-byte nfgenmsg; counter values are big-endian u64.
      const a = parseAttrs(reply.subarray(off + 20, off + len));
      const name = a.get(NFTA_OBJ_NAME);
      const data = a.get(NFTA_OBJ_DATA);
      const packets = data && parseAttrs(data).get(NFTA_COUNTER_PACKETS);
      if (name && packets && packets.length >= 8) out.set(name.toString('utf8').replace(/\0+$/, ''), Number(packets.readBigUInt64BE(0)));
    }
    off += (len + 3) & ~3;
  }
  return out;
}
