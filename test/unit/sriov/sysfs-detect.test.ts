// The sysfs accessor against a temp tree, and VF detection on the fake tree.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, test } from 'node:test';
import { detectVf } from '../../../src/io/sriov/detect.js';
import { Sysfs, waitUntil } from '../../../src/io/sysfs.js';
import { SysError } from '../../../src/model/errors.js';
import { FakeSysfsTree, VF_DEVICE, VENDOR } from '../../support/fake-sysfs.js';

let tree: FakeSysfsTree;
afterEach(() => tree?.cleanup());

void test('Sysfs: read strips one newline, write replaces content, errors are SysError with errno', async () => {
  const root = mkdtempSync(join(tmpdir(), 'netlet-sysfs-'));
  try {
    writeFileSync(join(root, 'attr'), 'value\n');
    const fs = new Sysfs({ sysRoot: root, devRoot: root });
    assert.equal(await fs.read('attr'), 'value');
    await fs.write('attr', 'x');
    assert.equal(await fs.read('attr'), 'x');
    await assert.rejects(fs.read('missing'), (e: unknown) => e instanceof SysError && e.errno === 'ENOENT' && e.syscall === 'read');
    // No O_CREAT: writing a missing attribute fails instead of creating a file.
    await assert.rejects(fs.write('nope', '1'), (e: unknown) => e instanceof SysError && e.errno === 'ENOENT');
    assert.equal(existsSync(join(root, 'nope')), false);
    await assert.rejects(fs.list('attr'), (e: unknown) => e instanceof SysError && e.errno === 'ENOTDIR');
    assert.equal(await fs.exists('attr/below'), false);
    assert.equal(new Sysfs().sysRoot, '/sys');
    assert.equal(new Sysfs().devRoot, '/dev');
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

void test('waitFor returns once the path appears and times out with ETIMEDOUT when it never does', async () => {
  const root = mkdtempSync(join(tmpdir(), 'netlet-sysfs-'));
  try {
    const fs = new Sysfs({ sysRoot: root, devRoot: root });
    setTimeout(() => writeFileSync(join(root, 'late'), ''), 20);
    await fs.waitFor('late', { timeoutMs: 2000, intervalMs: 5 });
    const t0 = Date.now();
    await assert.rejects(fs.waitForDev('vfio/9', { timeoutMs: 60, intervalMs: 10 }), (e: unknown) => e instanceof SysError && e.errno === 'ETIMEDOUT');
    const took = Date.now() - t0;
    assert.ok(took >= 60 && took < 1000, `bounded wait took ${took} ms`);
    let n = 0;
    await waitUntil(async () => ++n === 3, 'third poll', { intervalMs: 1 });
    assert.equal(n, 3);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

void test('detectVf by PCI address: PF, index, driver, ids, IOMMU group, netdev', async () => {
  tree = FakeSysfsTree.create();
  const fs = new Sysfs({ sysRoot: tree.sysRoot, devRoot: tree.devRoot });
  assert.deepEqual(await detectVf(fs, { pciAddress: '0000:3B:02.1' }), {
    pciAddress: '0000:3b:02.1',
    pfPciAddress: '0000:3b:00.0',
    pfNetdev: 'ens1f0',
    vfIndex: 1,
    driver: 'iavf',
    vendor: VENDOR,
    device: VF_DEVICE,
    iommuGroup: '61',
    hostNetdev: null,
  });
  const other = await detectVf(fs, { pciAddress: '0001:5e:00.3' });
  assert.deepEqual([other.pfPciAddress, other.pfNetdev, other.vfIndex, other.iommuGroup], ['0001:5e:00.0', 'ens2f0', 1, '91']);
  const dpdk = await detectVf(fs, { pciAddress: '0000:3b:02.2' });
  assert.equal(dpdk.driver, 'vfio-pci');
  const unbound = await detectVf(fs, { pciAddress: '0000:3b:02.3' });
  assert.equal(unbound.driver, null);
});

void test('detectVf by netdev name (host-visible VF); clear errors otherwise', async () => {
  tree = FakeSysfsTree.create();
  const fs = new Sysfs({ sysRoot: tree.sysRoot, devRoot: tree.devRoot });
  const vf = await detectVf(fs, { netdev: 'ens2f0v0' });
  assert.deepEqual([vf.pciAddress, vf.vfIndex, vf.hostNetdev], ['0001:5e:00.2', 0, 'ens2f0v0']);
  await assert.rejects(detectVf(fs, { netdev: 'eth0' }), /not in this netns.*pciID/);
  await assert.rejects(detectVf(fs, { netdev: 'ens1f0' }), { code: 'NOT_A_VF' });
  await assert.rejects(detectVf(fs, { pciAddress: '3b:02.1' }), { code: 'BAD_PCI_ADDRESS' });
  await assert.rejects(detectVf(fs, { pciAddress: '0000:3b:07.0' }), { code: 'ENODEV' });
  rmSync(join(tree.sysRoot, 'devices/pci0000:3b/0000:3b:02.0/iommu_group'));
  await assert.rejects(detectVf(fs, { pciAddress: '0000:3b:02.0' }), (e: unknown) => e instanceof Error && /intel_iommu=on/.test(e.message));
});
