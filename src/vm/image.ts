// Builds (once, then from cache) the test VM's kernel + initramfs: busybox-static,
// the virtio-net modules and an /init that DHCPs every NIC and prints a report.
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmod, mkdtemp, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { gzipSync } from 'node:zlib';
import { writeCpio, type CpioEntry } from './cpio.js';
import { dhcpcdConf, dhcpcdScript, initScript, udhcpcScript } from './guest-scripts.js';
import { defaultDhcpcd, dhcpcdEntries } from './dhcpcd.js';
import { prepareKernel, type Progress } from './kernel.js';

const run = promisify(execFile);

/** Bump when the image layout changes in a way the hashed inputs do not capture. */
const IMAGE_FORMAT = 2;

export const defaultCacheDir = fileURLToPath(new URL('../../../.cache/vm/', import.meta.url));

export interface VmImage {
  kernel: string;
  initrd: string;
  kernelVersion: string;
  /** Module names in the order /init loads them. */
  modules: string[];
  /** True when this call built the initramfs (false: cache hit). */
  built: boolean;
}

export interface BuildVmImageOptions {
  /** Default <projectRoot>/.cache/vm */
  cacheDir?: string;
  /** Concrete linux-image-<ver> package; default: what linux-image-cloud-amd64 depends on. */
  kernelPackage?: string;
  /** busybox-static's binary. */
  busybox?: string;
  /** dhcpcd's binary (the guest's DHCPv6 client); its libraries come along. */
  dhcpcd?: string;
  onProgress?: Progress;
}

const BASE_DIRS = ['bin', 'sbin', 'usr', 'usr/bin', 'usr/sbin', 'dev', 'proc', 'sys', 'etc', 'run', 'tmp', 'lib', 'lib/modules'];

async function busyboxApplets(busybox: string): Promise<string[]> {
  const { stdout } = await run(busybox, ['--list-full']);
  // Entries like "sbin/ip"; skip bare names (linuxrc) and busybox itself.
  return stdout.split('\n').filter((l) => /^[a-z/]+\/[^/]+$/.test(l) && l !== 'bin/busybox');
}

async function initramfsEntries(busybox: string, moduleDir: string, modules: string[], dhcpcd: CpioEntry[]): Promise<CpioEntry[]> {
  const bb = await readFile(busybox);
  const s = await stat(busybox);
  if (!(s.mode & 0o100)) throw new Error(`${busybox} is not executable`);
  const entries: CpioEntry[] = [];
  for (const d of BASE_DIRS) {
    entries.push({ kind: 'dir', path: d, mode: d === 'tmp' ? 0o1777 : 0o755 });
  }
  // The kernel opens /dev/console for init's stdio before /init can mount devtmpfs.
  entries.push({ kind: 'chardev', path: 'dev/console', major: 5, minor: 1 });
  entries.push({ kind: 'file', path: 'bin/busybox', data: bb, mode: 0o755 });
  for (const a of await busyboxApplets(busybox)) entries.push({ kind: 'symlink', path: a, target: '/bin/busybox' });
  for (const m of modules) entries.push({ kind: 'file', path: `lib/modules/${m}.ko`, data: await readFile(join(moduleDir, `${m}.ko`)) });
  entries.push({ kind: 'file', path: 'lib/modules/load-order', data: Buffer.from(modules.map((m) => `${m}\n`).join('')) });
  entries.push({ kind: 'file', path: 'init', data: Buffer.from(initScript), mode: 0o755 });
  entries.push({ kind: 'file', path: 'udhcpc.script', data: Buffer.from(udhcpcScript), mode: 0o755 });
  return [...entries, ...dhcpcd];
}

/** Kernel + initramfs for the test VM; cached under cacheDir, safe to call concurrently. */
export async function buildVmImage(opts: BuildVmImageOptions = {}): Promise<VmImage> {
  const cacheDir = opts.cacheDir ?? defaultCacheDir;
  const busybox = opts.busybox ?? '/bin/busybox';
  const progress = opts.onProgress ?? ((): void => {});
  const kernel = await prepareKernel({ cacheDir, kernelPackage: opts.kernelPackage, onProgress: progress });

  const dhcpcd = await dhcpcdEntries(opts.dhcpcd ?? defaultDhcpcd, new Set(BASE_DIRS));
  const hash = createHash('sha256')
    .update(JSON.stringify({ IMAGE_FORMAT, kernel: kernel.version, modules: kernel.modules, initScript, udhcpcScript, dhcpcdConf, dhcpcdScript }))
    .update(await readFile(busybox));
  for (const b of dhcpcd.bytes) hash.update(b);
  const key = hash
    .digest('hex')
    .slice(0, 12);
  const dir = join(cacheDir, `initrd-${kernel.version}-${key}`);
  const initrd = join(dir, 'initrd.img');
  const image = (built: boolean): VmImage => ({ kernel: kernel.vmlinuz, initrd, kernelVersion: kernel.version, modules: kernel.modules, built });

  if (await stat(initrd).then(() => true, () => false)) {
    progress(`initramfs cached: ${initrd}`);
    return image(false);
  }
  progress(`building initramfs ${key} for ${kernel.version}`);
  const tmp = await mkdtemp(join(cacheDir, '.tmp-initrd-'));
  try {
    const cpio = writeCpio(await initramfsEntries(busybox, join(kernel.dir, 'modules'), kernel.modules, dhcpcd.entries));
    await writeFile(join(tmp, 'initrd.img'), gzipSync(cpio, { level: 6 }));
    await chmod(tmp, 0o755);
    try {
      await rename(tmp, dir);
    } catch (e) {
      // A concurrent build finished first; both wrote the same bytes.
      const code = (e as NodeJS.ErrnoException).code;
      if (code !== 'ENOTEMPTY' && code !== 'EEXIST') throw e;
      return image(false);
    }
    progress(`initramfs built: ${initrd}`);
    return image(true);
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}
