// A minimal writer for the "newc" cpio format the kernel unpacks as initramfs.
// Written by hand (not `cpio -o`) so the archive is deterministic (uid/gid/mtime 0)
// and can hold a /dev/console device node without needing mknod on the host.

export type CpioEntry =
  | { kind: 'dir'; path: string; mode?: number }
  | { kind: 'file'; path: string; data: Buffer; mode?: number }
  | { kind: 'symlink'; path: string; target: string }
  | { kind: 'chardev'; path: string; major: number; minor: number; mode?: number };

const S_IFDIR = 0o040000;
const S_IFREG = 0o100000;
const S_IFLNK = 0o120000;
const S_IFCHR = 0o020000;

const hex8 = (n: number): string => n.toString(16).padStart(8, '0');
const pad4 = (n: number): Buffer => Buffer.alloc((4 - (n % 4)) % 4);

function header(ino: number, mode: number, size: number, name: string, rdev: [number, number] = [0, 0]): Buffer {
  const nameBytes = Buffer.from(`${name}\0`);
  const fields = [ino, mode, 0, 0, 1, 0, size, 0, 0, rdev[0], rdev[1], nameBytes.length, 0];
  const head = Buffer.from(`070701${fields.map(hex8).join('')}`, 'ascii');
  // The 110-byte header plus name is padded to a multiple of 4.
  return Buffer.concat([head, nameBytes, pad4(head.length + nameBytes.length)]);
}

/** Serialises entries in the given order (parents must come before their children). */
export function writeCpio(entries: CpioEntry[]): Buffer {
  const parts: Buffer[] = [];
  let ino = 1;
  for (const e of entries) {
    const name = e.path.replace(/^\/+/, '');
    let mode: number;
    let data: Buffer = Buffer.alloc(0);
    let rdev: [number, number] = [0, 0];
    switch (e.kind) {
      case 'dir': mode = S_IFDIR | (e.mode ?? 0o755); break;
      case 'file': mode = S_IFREG | (e.mode ?? 0o644); data = e.data; break;
      case 'symlink': mode = S_IFLNK | 0o777; data = Buffer.from(e.target); break;
      case 'chardev': mode = S_IFCHR | (e.mode ?? 0o600); rdev = [e.major, e.minor]; break;
    }
    parts.push(header(ino++, mode, data.length, name, rdev), data, pad4(data.length));
  }
  parts.push(header(0, 0, 0, 'TRAILER!!!'));
  return Buffer.concat(parts);
}
