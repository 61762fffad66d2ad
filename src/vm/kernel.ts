// Fetches Debian's cloud kernel (apt-get download + dpkg-deb -x, never installed on the
// host) and keeps only vmlinuz plus the modules the test VM needs, in dependency order.
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { copyFile, mkdir, mkdtemp, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export type Progress = (message: string) => void;

/** Modules the VM loads; their dependencies are added from each .ko's modinfo. */
export const ROOT_MODULES = ['virtio_pci', 'virtio_net'] as const;
export const KERNEL_METAPACKAGE = 'linux-image-cloud-amd64';

export interface KernelBundle {
  /** e.g. 6.1.0-57-cloud-amd64 */
  version: string;
  dir: string;
  vmlinuz: string;
  /** Module names in load order; files are `${dir}/modules/${name}.ko`. */
  modules: string[];
}

interface KernelManifest { version: string; modules: string[] }

const normalise = (name: string): string => name.replace(/-/g, '_');
const moduleKey = createHash('sha256').update(ROOT_MODULES.join(',')).digest('hex').slice(0, 8);
const kernelDirName = (version: string): string => `kernel-${version}-${moduleKey}`;

/** The concrete linux-image package the metapackage currently depends on. */
export async function resolveKernelPackage(metapackage = KERNEL_METAPACKAGE): Promise<string> {
  const { stdout } = await run('apt-cache', ['depends', metapackage]);
  const m = /Depends:\s*(linux-image-\S+)/.exec(stdout);
  if (!m?.[1]) throw new Error(`apt-cache depends ${metapackage}: no linux-image dependency in ${JSON.stringify(stdout)}`);
  return m[1];
}

async function readManifest(dir: string): Promise<KernelBundle | undefined> {
  try {
    const m = JSON.parse(await readFile(join(dir, 'manifest.json'), 'utf8')) as KernelManifest;
    return { version: m.version, dir, vmlinuz: join(dir, 'vmlinuz'), modules: m.modules };
  } catch {
    return undefined;
  }
}

const APT_LISTS = '/var/lib/apt/lists';

/**
 * resolveKernelPackage, remembered in the cache until apt's lists change: without a
 * pkgcache.bin every apt-cache call re-parses the lists (about 2 s), which would
 * dominate a warm build.
 */
async function resolveKernelPackageCached(cacheDir: string): Promise<string> {
  const memo = join(cacheDir, 'kernel-package.json');
  const lists = (await stat(APT_LISTS)).mtimeMs;
  try {
    const m = JSON.parse(await readFile(memo, 'utf8')) as { metapackage: string; pkg: string; lists: number };
    if (m.metapackage === KERNEL_METAPACKAGE && m.lists === lists) return m.pkg;
  } catch {
    // No or unreadable memo: ask apt.
  }
  const pkg = await resolveKernelPackage();
  const tmp = `${memo}.${process.pid}`;
  await writeFile(tmp, JSON.stringify({ metapackage: KERNEL_METAPACKAGE, pkg, lists }));
  await rename(tmp, memo);
  return pkg;
}

/** A kernel already in the cache (newest name first): the fallback when apt is unusable. */
async function anyCachedKernel(cacheDir: string): Promise<KernelBundle | undefined> {
  const names = existsSync(cacheDir) ? (await readdir(cacheDir)).filter((n) => n.startsWith('kernel-') && n.endsWith(moduleKey)) : [];
  for (const n of names.sort().reverse()) {
    const k = await readManifest(join(cacheDir, n));
    if (k) return k;
  }
  return undefined;
}

async function download(pkg: string, dir: string, progress: Progress): Promise<string> {
  // Sandbox user root: apt's _apt user cannot write into our private temp dir.
  const args = ['-q', '-o', 'APT::Sandbox::User=root', 'download', pkg];
  try {
    await run('apt-get', args, { cwd: dir });
  } catch {
    progress('apt-get download failed; running apt-get update and retrying');
    await run('apt-get', ['-q', 'update']);
    await run('apt-get', args, { cwd: dir });
  }
  const deb = (await readdir(dir)).find((f) => f.endsWith('.deb'));
  if (!deb) throw new Error(`apt-get download ${pkg} left no .deb in ${dir}`);
  return join(dir, deb);
}

/** Recursively maps module name -> .ko / .ko.xz path. */
async function indexModules(dir: string, index = new Map<string, string>()): Promise<Map<string, string>> {
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) await indexModules(p, index);
    else if (/\.ko(\.xz)?$/.test(e.name)) index.set(normalise(e.name.replace(/\.ko(\.xz)?$/, '')), p);
  }
  return index;
}

async function moduleBytes(path: string): Promise<Buffer> {
  if (!path.endsWith('.xz')) return readFile(path);
  // busybox insmod wants a plain ELF, so compressed modules are unpacked at build time.
  const { stdout } = await run('xz', ['-dc', path], { encoding: 'buffer', maxBuffer: 64 << 20 });
  return stdout;
}

/** The `depends=` entry of a module's .modinfo section (NUL-separated key=value strings). */
export function modinfoDepends(ko: Buffer): string[] {
  const at = ko.indexOf('\0depends=');
  if (at < 0) return [];
  const start = at + '\0depends='.length;
  const value = ko.subarray(start, ko.indexOf(0, start)).toString('ascii');
  return value ? value.split(',').map(normalise) : [];
}

async function extract(pkg: string, cacheDir: string, progress: Progress): Promise<KernelBundle> {
  const tmp = await mkdtemp(join(cacheDir, '.tmp-kernel-'));
  try {
    progress(`downloading ${pkg}`);
    const deb = await download(pkg, tmp, progress);
    progress(`extracting ${deb}`);
    const root = join(tmp, 'root');
    await run('dpkg-deb', ['-x', deb, root]);
    const vmlinuz = (await readdir(join(root, 'boot'))).find((f) => f.startsWith('vmlinuz-'));
    if (!vmlinuz) throw new Error(`${pkg} has no boot/vmlinuz-*`);
    const version = vmlinuz.slice('vmlinuz-'.length);
    const modRoot = join(root, 'lib/modules', version);
    const builtin = new Set(
      (await readFile(join(modRoot, 'modules.builtin'), 'utf8').catch(() => ''))
        .split('\n').filter(Boolean).map((l) => normalise(l.replace(/^.*\//, '').replace(/\.ko$/, ''))),
    );
    const index = await indexModules(join(modRoot, 'kernel'));

    const out = join(tmp, 'out');
    await mkdir(join(out, 'modules'), { recursive: true });
    await copyFile(join(root, 'boot', vmlinuz), join(out, 'vmlinuz'));
    // Post-order DFS over depends= gives a valid insmod order.
    const order: string[] = [];
    const seen = new Set<string>();
    const visit = async (name: string): Promise<void> => {
      if (seen.has(name) || builtin.has(name)) return;
      seen.add(name);
      const path = index.get(name);
      if (!path) throw new Error(`module ${name} is neither built into ${version} nor shipped in ${pkg}`);
      const bytes = await moduleBytes(path);
      for (const dep of modinfoDepends(bytes)) await visit(dep);
      await writeFile(join(out, 'modules', `${name}.ko`), bytes);
      order.push(name);
    };
    for (const m of ROOT_MODULES) await visit(m);
    await writeFile(join(out, 'manifest.json'), JSON.stringify({ version, modules: order } satisfies KernelManifest, null, 2));

    const final = join(cacheDir, kernelDirName(version));
    try {
      await rename(out, final);
    } catch (e) {
      // A concurrent build got there first; its result is equivalent.
      const code = (e as NodeJS.ErrnoException).code;
      if (code !== 'ENOTEMPTY' && code !== 'EEXIST') throw e;
    }
    const bundle = await readManifest(final);
    if (!bundle) throw new Error(`kernel cache ${final} has no manifest`);
    progress(`kernel ${version}: modules ${order.join(' ')}`);
    return bundle;
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}

export interface PrepareKernelOptions {
  cacheDir: string;
  /** A concrete linux-image-<ver> package; default: what linux-image-cloud-amd64 depends on. */
  kernelPackage?: string;
  onProgress?: Progress;
}

/** vmlinuz + modules for the VM, from the cache or freshly fetched. */
export async function prepareKernel(opts: PrepareKernelOptions): Promise<KernelBundle> {
  const progress = opts.onProgress ?? ((): void => {});
  await mkdir(opts.cacheDir, { recursive: true });
  let pkg = opts.kernelPackage;
  if (!pkg) {
    try {
      pkg = await resolveKernelPackageCached(opts.cacheDir);
    } catch (e) {
      const cached = await anyCachedKernel(opts.cacheDir);
      if (cached) {
        progress(`apt-cache unusable (${(e as Error).message}); using cached kernel ${cached.version}`);
        return cached;
      }
      throw e;
    }
  }
  const version = pkg.replace(/^linux-image-/, '');
  const cached = await readManifest(join(opts.cacheDir, kernelDirName(version)));
  if (cached) return cached;
  return extract(pkg, opts.cacheDir, progress);
}
