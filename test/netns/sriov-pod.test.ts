// A pod of two SR-IOV VFs through the real Pod wiring (supervisor, journal, state store)
// over the fake sysfs tree and PF: an undo that fails keeps the pod and its record, and a
// later teardown (the same Pod: teardownPod; or a new Pod from the record: the next
// runtime start) retries it until the tree is as it was before setup.
// Root: the Pod opens rtnetlink in the pod netns (a throwaway one; it holds no VF).
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, test } from 'node:test';
import pino from 'pino';
import { Pod, type PodRecord, type PodRequest } from '../../src/actors/pod.js';
import { runtimeOptionsSchema, validate } from '../../src/actors/options.js';
import { DhcpPool } from '../../src/io/dhcp-pool.js';
import { StateStore } from '../../src/io/state-store.js';
import type { SriovIo } from '../../src/machines/sriov-interface.js';
import { NetletError, SysError } from '../../src/model/errors.js';
import { FakeSysfsTree } from '../support/fake-sysfs.js';
import { Topology } from '../support/netns.js';
import { makeWorld, VM_MAC, type World } from '../unit/sriov/harness.js';

const A = '0000:3b:02.1'; // iavf, eth0 in pod1
const B = '0001:5e:00.3'; // mlx5, net1 in pod2
const VFIO_UNBIND = /^bus\/pci\/drivers\/vfio-pci\/unbind$/;

let w: World;
let topo: Topology;
let dir: string;
let store: StateStore;
let pool: DhcpPool;

beforeEach(() => {
  w = makeWorld();
  topo = new Topology();
  dir = mkdtempSync(join(tmpdir(), 'netlet-sriov-pod-'));
  store = new StateStore(join(dir, 'state'));
  pool = new DhcpPool(1);
});
afterEach(async () => {
  await pool.close();
  topo.destroy();
  rmSync(dir, { recursive: true, force: true });
  w.cleanup();
});

function deps(io: SriovIo = w.io) {
  const opts = validate(runtimeOptionsSchema, { stateDir: store.dir, runDir: join(dir, 'run'), sriov: { enabled: true }, monitorIntervalMs: 0, debugSocket: false }, 'test options');
  return { opts, store, pool, sriovIo: () => io, log: pino({ level: 'silent' }) };
}

function request(): PodRequest {
  const vf = (name: string, pciID: string, pod: string, mac: string) => ({
    cniVersion: '1.1.0',
    interfaces: [{ name, mac, sandbox: FakeSysfsTree.sandbox(pod), pciID }],
    ips: [],
  });
  return { podId: 'pod-vf', netnsPath: topo.ns('pod').path, cniResult: [vf('eth0', A, 'pod1', VM_MAC), vf('net1', B, 'pod2', '02:00:00:00:00:02')] };
}

/** VF B fails setup after its vfio bind (the group node never shows up). */
function ioWithBFailing(): SriovIo {
  return {
    ...w.io,
    waitVfioDevice: async (r) => {
      const dev = await w.io.waitVfioDevice(r);
      if (r.pciAddress === B) throw new SysError('ETIMEDOUT', 'waitVfioDevice', `injected: /dev/vfio for ${B} never appeared`);
      return dev;
    },
  };
}

async function setupRejects(pod: Pod): Promise<NetletError> {
  try {
    await pod.setup();
  } catch (e) {
    return e as NetletError;
  }
  throw new Error('setup succeeded');
}

void test('teardown: a vfio-pci unbind that fails once → TEARDOWN_FAILED, record kept; teardown again → gone, tree as before', async () => {
  const before = w.state();
  const pod = new Pod(deps(), request());
  await pod.setup();
  assert.equal(pod.phase, 'ready');
  w.kernel.failWrite(VFIO_UNBIND, 1, 'EBUSY', B);

  await assert.rejects(pod.teardown(), (e: NetletError) => e.code === 'TEARDOWN_FAILED' && /call teardownPod again/.test(e.message));
  assert.equal(pod.phase, 'teardownFailed');
  assert.equal(store.read<PodRecord>('pod-vf')?.phase, 'teardownFailed');
  assert.equal(w.tree.driverOf(B), 'vfio-pci');

  await pod.teardown();
  assert.equal(pod.phase, 'gone');
  assert.equal(store.read('pod-vf'), undefined, 'record removed once everything is restored');
  assert.deepEqual(w.state(), before);
});

void test('rollback: VF B fails after its vfio bind and cannot be unbound → rollbackFailed, record kept; teardown retries → gone, tree as before', async () => {
  const before = w.state();
  w.kernel.failWrite(VFIO_UNBIND, 1, 'EBUSY', B);
  const pod = new Pod(deps(ioWithBFailing()), request());
  const e = await setupRejects(pod);
  assert.equal(e.code, 'INTERFACE_FAILED');
  assert.match(e.message, /net1 failed; the rollback is incomplete/);
  assert.match(e.message, /net1: injected: \/dev\/vfio/, 'the setup cause');
  assert.match(e.message, /undo of net1 failed at rollback:unbindingVfio: [^;]*vfio-pci\/unbind/, 'the undo error');
  assert.match(e.message, /call teardownPod/);
  assert.equal(e.details?.rollbackIncomplete, true);

  assert.equal(pod.phase, 'rollbackFailed');
  assert.equal(pod.done, false, 'the pod stays for teardownPod');
  const rec = store.read<PodRecord>('pod-vf');
  assert.equal(rec?.phase, 'rollbackFailed', 'the record is kept');
  assert.ok(rec.interfaces.net1?.record, 'with what the retry needs to undo');
  assert.equal(w.tree.driverOf(A), 'iavf', 'VF A was rolled back');
  assert.equal(w.tree.driverOf(B), 'vfio-pci', 'VF B is stuck on vfio-pci');
  assert.equal(pod.status().interfaces.find((i) => i.name === 'net1')?.state, 'teardownFailed');

  await pod.teardown();
  assert.equal(pod.phase, 'gone');
  assert.equal(store.read('pod-vf'), undefined);
  assert.deepEqual(w.state(), before);
});

void test('rollback failed, then the runtime stops: a new Pod from the record (what the next start does) finishes the undo', async () => {
  const before = w.state();
  w.kernel.failWrite(VFIO_UNBIND, 1, 'EBUSY', B);
  const pod = new Pod(deps(ioWithBFailing()), request());
  await setupRejects(pod);
  assert.equal(pod.phase, 'rollbackFailed');
  await pod.stop();

  const [rec] = store.all<PodRecord>();
  assert.equal(rec?.phase, 'rollbackFailed');
  // createRuntime: a record that is not ready/degraded is torn down on start.
  const again = new Pod(deps(), rec.request, rec);
  await again.teardown();
  assert.equal(again.phase, 'gone');
  assert.deepEqual(store.all(), []);
  assert.deepEqual(w.state(), before);
});

void test('rollback whose undo works: failed, record released, tree as before', async () => {
  const before = w.state();
  const pod = new Pod(deps(ioWithBFailing()), request());
  const e = await setupRejects(pod);
  assert.equal(e.code, 'INTERFACE_FAILED');
  assert.match(e.message, /net1 failed; the pod was rolled back/);
  assert.equal(pod.phase, 'failed');
  assert.equal(pod.done, true);
  assert.deepEqual(store.all(), []);
  assert.deepEqual(w.state(), before);
});
