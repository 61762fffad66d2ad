// dhcpcd for the test VM's IPv6 (busybox has no udhcpc6 in Debian 12): the binary, the
// libraries ldd names at the paths the loader looks in, a minimal config and a hook.
import { readFile, realpath, stat } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { CpioEntry } from './cpio.js';
import { dhcpcdConf, dhcpcdScript } from './guest-scripts.js';
import { sharedLibraries } from './shared-libs.js';

export const defaultDhcpcd = '/usr/sbin/dhcpcd';

/** Every parent of a relative path, outermost first ("a/b/c" -> a, a/b). */
function parents(path: string): string[] {
  const out: string[] = [];
  for (let d = dirname(path); d !== '.' && d !== '/'; d = dirname(d)) out.unshift(d);
  return out;
}

/**
 * The entries that put dhcpcd in the initramfs. `have` holds the directories already
 * made; new ones are added to it (a cpio lists parents before children).
 */
export async function dhcpcdEntries(binary: string, have: Set<string>): Promise<{ entries: CpioEntry[]; bytes: Buffer[] }> {
  const s = await stat(binary).catch(() => undefined);
  if (!s || !(s.mode & 0o100)) throw new Error(`${binary} missing or not executable (apt-get install dhcpcd-base)`);
  const files = [{ path: 'usr/sbin/dhcpcd', src: binary, mode: 0o755 }];
  // The loader and libc are found by the paths ldd prints; /lib is a real dir in the initramfs.
  for (const lib of await sharedLibraries(binary)) files.push({ path: lib.replace(/^\//, ''), src: await realpath(lib), mode: 0o755 });
  const entries: CpioEntry[] = [];
  const dir = (d: string): void => {
    if (have.has(d)) return;
    have.add(d);
    entries.push({ kind: 'dir', path: d, mode: 0o755 });
  };
  const bytes: Buffer[] = [];
  for (const f of files) {
    parents(f.path).forEach(dir);
    const data = await readFile(f.src);
    bytes.push(data);
    entries.push({ kind: 'file', path: f.path, data, mode: f.mode });
  }
  // Its DUID and leases (/var/lib/dhcpcd), pid file and sockets (/run/dhcpcd).
  ['var', 'var/lib', 'var/lib/dhcpcd', 'run/dhcpcd'].forEach(dir);
  entries.push({ kind: 'file', path: 'etc/dhcpcd.conf', data: Buffer.from(dhcpcdConf), mode: 0o644 });
  entries.push({ kind: 'file', path: 'dhcpcd.script', data: Buffer.from(dhcpcdScript), mode: 0o755 });
  // No privsep user: dhcpcd then runs unprivileged parts as root, which is fine in a test VM.
  entries.push({ kind: 'file', path: 'etc/passwd', data: Buffer.from('root:x:0:0:root:/:/bin/sh\n'), mode: 0o644 });
  return { entries, bytes };
}
