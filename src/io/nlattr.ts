// Netlink attributes (type-length-value, 4-byte aligned), for what the `netlink` package
// leaves a Buffer (nested attributes) or does not speak (nf_tables): pure.

/** One attribute: header and data, padded to 4 bytes. */
export function attr(type: number, data: Buffer): Buffer {
  const len = 4 + data.length;
  const out = Buffer.alloc((len + 3) & ~3);
  out.writeUInt16LE(len, 0);
  out.writeUInt16LE(type, 2);
  data.copy(out, 4);
  return out;
}

/** A NUL-terminated string's bytes. */
export const cstr = (s: string): Buffer => Buffer.from(`${s}\0`);

/** The attributes in buf by type (the nested and byte-order flags masked off); `only`: just these types. */
export function parseAttrs(buf: Buffer, only?: ReadonlySet<number>): Map<number, Buffer> {
  const m = new Map<number, Buffer>();
  for (let off = 0; off + 4 <= buf.length; ) {
    const len = buf.readUInt16LE(off);
    if (len < 4) break;
    const type = buf.readUInt16LE(off + 2) & 0x3fff;
    if (!only || only.has(type)) m.set(type, buf.subarray(off + 4, off + len));
    off += (len + 3) & ~3;
  }
  return m;
}
