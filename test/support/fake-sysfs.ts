// A fake sysfs + /dev tree in a temp dir, shaped like the real one for SR-IOV PFs
// and VFs, plus FakeKernel: a SysfsPort decorator that records every write and
// reacts the way the kernel would (bind/unbind, driver_override, drivers_probe).
import { lstatSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, readlinkSync, rmSync, symlinkSync, writeFileSync, unlinkSync, existsSync, renameSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join, relative, dirname } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { SysError } from '../../src/model/errors.js';
import { Sysfs, type SysfsPort, type WaitOptions } from '../../src/io/sysfs.js';

export interface FakeVf {
  pci: string;
  /** Driver bound at start (null = unbound). */
  driver: string | null;
  /** What drivers_probe binds without an override (the VF's native driver). */
  nativeDriver: string;
  iommuGroup: string;
  /** Name the kernel gives the netdev when the native driver probes. */
  kernelName: string;
  /** Where its netdev is at start: host (under kernelName), a pod netns, or none. */
  netdev: 'host' | { netns: string; name: string } | null;
}

export interface FakePfSpec {
  pci: string;
  netdev: string;
  driver: string;
  vfs: FakeVf[];
}

export const VENDOR = '0x8086';
export const VF_DEVICE = '0x154c';

/** Two PFs; the second in PCI domain 0001 to prove domains are not assumed to be 0000. */
export function defaultSpec(): FakePfSpec[] {
  return [
    {
      pci: '0000:3b:00.0',
      netdev: 'ens1f0',
      driver: 'i40e',
      vfs: [
        { pci: '0000:3b:02.0', driver: 'iavf', nativeDriver: 'iavf', iommuGroup: '60', kernelName: 'ens1f0v0', netdev: 'host' },
        { pci: '0000:3b:02.1', driver: 'iavf', nativeDriver: 'iavf', iommuGroup: '61', kernelName: 'ens1f0v1', netdev: { netns: 'pod1', name: 'eth0' } },
        // DPDK mode: already on vfio-pci, no netdev anywhere.
        { pci: '0000:3b:02.2', driver: 'vfio-pci', nativeDriver: 'iavf', iommuGroup: '62', kernelName: 'ens1f0v2', netdev: null },
        // Left unbound by the admin (e.g. sriov_drivers_autoprobe=0).
        { pci: '0000:3b:02.3', driver: null, nativeDriver: 'iavf', iommuGroup: '63', kernelName: 'ens1f0v3', netdev: null },
      ],
    },
    {
      pci: '0001:5e:00.0',
      netdev: 'ens2f0',
      driver: 'mlx5_core',
      vfs: [
        { pci: '0001:5e:00.2', driver: 'mlx5_core', nativeDriver: 'mlx5_core', iommuGroup: '90', kernelName: 'ens2f0v0', netdev: 'host' },
        { pci: '0001:5e:00.3', driver: 'mlx5_core', nativeDriver: 'mlx5_core', iommuGroup: '91', kernelName: 'ens2f0v1', netdev: { netns: 'pod2', name: 'net1' } },
      ],
    },
  ];
}

export const DRIVERS = ['i40e', 'iavf', 'mlx5_core', 'vfio-pci'];

const pciDir = (pci: string): string => `devices/pci${pci.slice(0, pci.lastIndexOf(':'))}/${pci}`;

/** The tree: <root>/sys, <root>/dev, and <root>/netns/<ns>/<ifname> (file holding the PCI address) for pod netns. */
export class FakeSysfsTree {
  readonly sysRoot: string;
  readonly devRoot: string;
  readonly netnsRoot: string;
  readonly vfs = new Map<string, FakeVf>();

  private constructor(readonly root: string, readonly pfs: FakePfSpec[]) {
    this.sysRoot = join(root, 'sys');
    this.devRoot = join(root, 'dev');
    this.netnsRoot = join(root, 'netns');
  }

  static create(spec: FakePfSpec[] = defaultSpec(), opts: { drivers?: string[] } = {}): FakeSysfsTree {
    // tmpfs when there is one: the model test builds hundreds of trees.
    const base = existsSync('/dev/shm') ? '/dev/shm' : tmpdir();
    const t = new FakeSysfsTree(mkdtempSync(join(base, 'netlet-fake-sysfs-')), spec);
    t.build(opts.drivers ?? DRIVERS);
    return t;
  }

  /** Netns path as a plan's `sandbox` would carry it. */
  static sandbox(ns: string): string {
    return `/var/run/netns/${ns}`;
  }

  sys(rel: string): string {
    return join(this.sysRoot, rel);
  }

  private file(rel: string, content: string): void {
    mkdirSync(dirname(this.sys(rel)), { recursive: true });
    writeFileSync(this.sys(rel), content);
  }

  /** A relative symlink at sys/<rel> to sys/<targetRel>, as sysfs has them. */
  link(rel: string, targetRel: string): void {
    const at = this.sys(rel);
    mkdirSync(dirname(at), { recursive: true });
    symlinkSync(relative(dirname(at), this.sys(targetRel)), at);
  }

  private build(drivers: string[]): void {
    this.file('bus/pci/drivers_probe', '');
    for (const d of drivers) for (const f of ['bind', 'unbind', 'new_id', 'remove_id']) this.file(`bus/pci/drivers/${d}/${f}`, '');
    mkdirSync(join(this.devRoot, 'vfio'), { recursive: true });
    writeFileSync(join(this.devRoot, 'vfio', 'vfio'), '');
    mkdirSync(this.netnsRoot, { recursive: true });
    for (const pf of this.pfs) {
      this.device(pf.pci, '0x1572', pf.driver, null);
      this.netdevDir(pf.pci, pf.netdev);
      this.file(`${pciDir(pf.pci)}/sriov_numvfs`, `${pf.vfs.length}\n`);
      pf.vfs.forEach((vf, i) => {
        this.vfs.set(vf.pci, vf);
        this.device(vf.pci, VF_DEVICE, vf.driver, vf.iommuGroup);
        this.link(`${pciDir(vf.pci)}/physfn`, pciDir(pf.pci));
        this.link(`${pciDir(pf.pci)}/virtfn${i}`, pciDir(vf.pci));
        if (vf.driver === 'vfio-pci') this.vfioNode(vf.iommuGroup, true);
        if (vf.netdev === 'host') this.netdevDir(vf.pci, vf.kernelName);
        else if (vf.netdev) this.podNetdev(vf.netdev.netns, vf.netdev.name, vf.pci);
      });
    }
  }

  private device(pci: string, device: string, driver: string | null, group: string | null): void {
    const dir = pciDir(pci);
    this.file(`${dir}/vendor`, `${VENDOR}\n`);
    this.file(`${dir}/device`, `${device}\n`);
    this.file(`${dir}/driver_override`, '(null)\n');
    this.link(`bus/pci/devices/${pci}`, dir);
    if (driver) this.link(`${dir}/driver`, `bus/pci/drivers/${driver}`);
    if (group) {
      mkdirSync(this.sys(`kernel/iommu_groups/${group}/devices`), { recursive: true });
      this.link(`${dir}/iommu_group`, `kernel/iommu_groups/${group}`);
    }
  }

  // ---- state the fake kernel and the fake link port change ----

  driverOf(pci: string): string | null {
    const l = this.sys(`${pciDir(pci)}/driver`);
    return existsSync(l) ? basename(readlinkSync(l)) : null;
  }

  setDriver(pci: string, driver: string | null): void {
    const l = this.sys(`${pciDir(pci)}/driver`);
    if (lstatExists(l)) unlinkSync(l);
    if (driver) this.link(`${pciDir(pci)}/driver`, `bus/pci/drivers/${driver}`);
  }

  vfioNode(group: string, present: boolean): void {
    const p = join(this.devRoot, 'vfio', group);
    if (present) writeFileSync(p, '');
    else rmSync(p, { force: true });
  }

  hostNetdevs(pci: string): string[] {
    const d = this.sys(`${pciDir(pci)}/net`);
    return existsSync(d) ? readdirSync(d).sort() : [];
  }

  netdevDir(pci: string, name: string): void {
    const dir = `${pciDir(pci)}/net/${name}`;
    mkdirSync(this.sys(dir), { recursive: true });
    // As the kernel writes it: relative to the netdev dir, ending in the PCI address.
    symlinkSync(`../../../${pci}`, this.sys(`${dir}/device`));
    this.link(`class/net/${name}`, dir);
  }

  removeHostNetdev(pci: string, name: string): void {
    rmSync(this.sys(`${pciDir(pci)}/net/${name}`), { recursive: true, force: true });
    rmSync(this.sys(`class/net/${name}`), { force: true });
    if (this.hostNetdevs(pci).length === 0) rmSync(this.sys(`${pciDir(pci)}/net`), { recursive: true, force: true });
  }

  podNetdev(ns: string, name: string, pci: string): void {
    mkdirSync(join(this.netnsRoot, ns), { recursive: true });
    writeFileSync(join(this.netnsRoot, ns, name), pci);
  }

  podNetdevs(ns: string): Map<string, string> {
    const d = join(this.netnsRoot, ns);
    const m = new Map<string, string>();
    if (existsSync(d)) for (const n of readdirSync(d)) m.set(n, readFileSync(join(d, n), 'utf8'));
    return m;
  }

  removePodNetdev(ns: string, name: string): void {
    rmSync(join(this.netnsRoot, ns, name), { force: true });
  }

  renamePodNetdev(ns: string, from: string, to: string): void {
    renameSync(join(this.netnsRoot, ns, from), join(this.netnsRoot, ns, to));
  }

  /** A netdev's PCI address in the host view (class/net/<name>). */
  pciOfHostNetdev(name: string): string | null {
    const l = this.sys(`class/net/${name}`);
    if (!lstatExists(l)) return null;
    return basename(readlinkSync(this.sys(`class/net/${name}/device`)));
  }

  /** Every path under the root with its kind and content/target: equal snapshots = equal trees. */
  snapshot(): Record<string, string> {
    const out: Record<string, string> = {};
    const walk = (abs: string): void => {
      for (const name of readdirSync(abs).sort()) {
        const p = join(abs, name);
        const rel = relative(this.root, p);
        const st = lstatSync(p);
        if (st.isSymbolicLink()) out[rel] = `-> ${readlinkSync(p)}`;
        else if (st.isDirectory()) {
          out[rel] = 'dir';
          walk(p);
        } else out[rel] = readFileSync(p, 'utf8');
      }
    };
    walk(this.root);
    // Write-only attributes hold the last value written; the kernel keeps no such state.
    for (const k of Object.keys(out)) if (/\/(bind|unbind|new_id|remove_id|drivers_probe)$/.test(k)) delete out[k];
    return out;
  }

  cleanup(): void {
    rmSync(this.root, { recursive: true, force: true });
  }
}

function lstatExists(p: string): boolean {
  try {
    lstatSync(p);
    return true;
  } catch {
    return false;
  }
}

export interface SysfsWrite {
  path: string;
  value: string;
}

export interface FakeKernelOptions {
  /** The native driver registers its netdev this long after binding (iavf does it from a workqueue). */
  netdevDelayMs?: number;
  /** /dev/vfio/<group> appears this long after vfio-pci binds (udev creates it). */
  vfioNodeDelayMs?: number;
}

/**
 * SysfsPort over a FakeSysfsTree that records writes in order and simulates the
 * kernel's reaction to each (no kernel watches the temp dir).
 */
export class FakeKernel implements SysfsPort {
  readonly writes: SysfsWrite[] = [];
  private readonly fs: Sysfs;
  private readonly pending = new Set<Promise<void>>();
  private readonly failing: { match: RegExp; times: number; errno: string; value: string | undefined }[] = [];

  constructor(readonly tree: FakeSysfsTree, readonly opts: FakeKernelOptions = {}) {
    this.fs = new Sysfs({ sysRoot: tree.sysRoot, devRoot: tree.devRoot });
  }

  get sysRoot(): string {
    return this.fs.sysRoot;
  }
  get devRoot(): string {
    return this.fs.devRoot;
  }

  read(rel: string): Promise<string> {
    return this.fs.read(rel);
  }
  readlink(rel: string): Promise<string> {
    return this.fs.readlink(rel);
  }
  exists(rel: string): Promise<boolean> {
    return this.fs.exists(rel);
  }
  list(rel: string): Promise<string[]> {
    return this.fs.list(rel);
  }
  devExists(rel: string): Promise<boolean> {
    return this.fs.devExists(rel);
  }
  waitFor(rel: string, opts?: WaitOptions): Promise<void> {
    return this.fs.waitFor(rel, opts);
  }
  waitForDev(rel: string, opts?: WaitOptions): Promise<void> {
    return this.fs.waitForDev(rel, opts);
  }

  /** Resolves when delayed reactions (netdev/vfio node creation) have happened. */
  async settle(): Promise<void> {
    while (this.pending.size) await Promise.all([...this.pending]);
  }

  /**
   * The next `times` writes to a path matching `match` (of `value`, if given) fail with
   * `errno` and change nothing (e.g. vfio-pci refusing to let a device go).
   */
  failWrite(match: RegExp, times = 1, errno = 'EBUSY', value?: string): void {
    this.failing.push({ match, times, errno, value });
  }

  async write(rel: string, value: string): Promise<void> {
    const f = this.failing.find((x) => x.times > 0 && x.match.test(rel) && (x.value === undefined || x.value === value.trim()));
    if (f) {
      f.times--;
      throw new SysError(f.errno, 'write', `fake kernel: write ${value.trim()} to ${rel} failed (injected)`);
    }
    // Real file write first: a wrong path fails here as it would on sysfs.
    await this.fs.write(rel, value);
    this.writes.push({ path: rel, value });
    const unbind = /^bus\/pci\/drivers\/([^/]+)\/unbind$/.exec(rel);
    const bind = /^bus\/pci\/drivers\/([^/]+)\/bind$/.exec(rel);
    if (unbind) this.unbind(unbind[1]!, value.trim());
    else if (bind) this.bindTo(value.trim(), bind[1]!, 'bind');
    else if (rel === 'bus/pci/drivers_probe') this.probe(value.trim());
    else if (/^bus\/pci\/devices\/[^/]+\/driver_override$/.test(rel)) {
      // The kernel keeps the first line; empty clears it and reads back "(null)".
      const v = value.split('\n')[0]!.trim();
      await this.fs.write(rel, `${v || '(null)'}\n`);
    } else if (/\/new_id$/.test(rel)) throw new SysError('EINVAL', 'write', 'fake kernel: new_id is not how netlet binds vfio-pci');
  }

  private vf(pci: string): FakeVf {
    const vf = this.tree.vfs.get(pci);
    if (!vf) throw new SysError('ENODEV', 'write', `fake kernel: no device ${pci}`);
    return vf;
  }

  private unbind(driver: string, pci: string): void {
    const vf = this.vf(pci);
    if (this.tree.driverOf(pci) !== driver) throw new SysError('ENODEV', 'write', `fake kernel: ${pci} is not bound to ${driver}`);
    this.tree.setDriver(pci, null);
    if (driver === 'vfio-pci') {
      this.tree.vfioNode(vf.iommuGroup, false);
      return;
    }
    // A net driver's remove() unregisters the netdev wherever it lives.
    for (const n of this.tree.hostNetdevs(pci)) this.tree.removeHostNetdev(pci, n);
    for (const ns of readdirSync(this.tree.netnsRoot)) {
      for (const [name, owner] of this.tree.podNetdevs(ns)) if (owner === pci) this.tree.removePodNetdev(ns, name);
    }
  }

  private probe(pci: string): void {
    const vf = this.vf(pci);
    if (this.tree.driverOf(pci) !== null) return;
    const override = readFileSync(this.tree.sys(`bus/pci/devices/${pci}/driver_override`), 'utf8').trim();
    const target = override && override !== '(null)' ? override : vf.nativeDriver;
    // No such driver loaded: the kernel leaves the device unbound and the write succeeds.
    if (!existsSync(this.tree.sys(`bus/pci/drivers/${target}`))) return;
    this.bindTo(pci, target, 'probe');
  }

  private bindTo(pci: string, driver: string, how: 'bind' | 'probe'): void {
    const vf = this.vf(pci);
    if (this.tree.driverOf(pci) !== null) {
      if (how === 'bind') throw new SysError('EBUSY', 'write', `fake kernel: ${pci} already bound`);
      return;
    }
    this.tree.setDriver(pci, driver);
    if (driver === 'vfio-pci') this.later(this.opts.vfioNodeDelayMs, () => this.tree.vfioNode(vf.iommuGroup, true));
    else this.later(this.opts.netdevDelayMs, () => this.tree.netdevDir(pci, vf.kernelName));
  }

  private later(ms: number | undefined, fn: () => void): void {
    if (!ms) return fn();
    const p: Promise<void> = delay(ms).then(() => {
      fn();
      this.pending.delete(p);
    });
    this.pending.add(p);
  }
}
