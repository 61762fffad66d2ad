// An undo step that fails (in a teardown or in a setup's rollback) leaves the machine in
// teardownFailed, not final: a second TEARDOWN runs the undo chain again, from whatever
// state the VF was left in, and the tree ends as it was before setup.
import assert from 'node:assert/strict';
import { afterEach, test } from 'node:test';
import { UNDO_STEPS, type SriovIo } from '../../../src/machines/sriov-interface.js';
import { failingIo, input, makeWorld, plan, start, teardown, type World } from './harness.js';

let w: World;
afterEach(() => w.cleanup());

const PCI = '0000:3b:02.1';

/** Which io call (method, nth call over setup + teardown) each undo step makes after a full setup. */
const UNDO_CALL: Record<(typeof UNDO_STEPS)[number], [keyof SriovIo, number]> = {
  unbindingVfio: ['unbindVfio', 1],
  clearingOverride: ['clearOverride', 1],
  reprobing: ['reprobe', 1],
  waitingNetdev: ['waitNetdev', 1],
  restoringNetns: ['restoreNetns', 1],
  restoringPf: ['setPf', 2], // configuringPf made the first call
};

void test('teardown: the vfio-pci unbind write fails once → teardownFailed; a second TEARDOWN restores the tree', async () => {
  w = makeWorld();
  const before = w.state();
  const { actor, snap } = await start(w.io, input());
  assert.equal(snap.value, 'ready', JSON.stringify(snap.context.error));
  w.kernel.failWrite(/^bus\/pci\/drivers\/vfio-pci\/unbind$/);

  const failed = await teardown(actor);
  assert.equal(failed.value, 'teardownFailed');
  assert.equal(failed.status, 'active', 'not final: it waits for TEARDOWN');
  assert.equal(failed.context.undoError?.code, 'EBUSY');
  assert.equal(failed.context.undoError?.step, 'teardown:unbindingVfio');
  assert.equal(w.tree.driverOf(PCI), 'vfio-pci', 'the VF is still on vfio-pci');

  const end = await teardown(actor);
  assert.equal(end.value, 'restored', JSON.stringify(end.context.undoError));
  assert.equal(end.context.undoError, undefined, 'the retry cleared the old undo error');
  assert.deepEqual(w.state(), before);
});

for (const step of UNDO_STEPS) {
  for (const when of ['before', 'after'] as const) {
    void test(`teardown: io fails at ${step} (${when} its effect) → teardownFailed; a second TEARDOWN restores the tree`, async () => {
      w = makeWorld();
      const before = w.state();
      const [method, nth] = UNDO_CALL[step];
      const { actor, snap } = await start(failingIo(w.io, method, when, nth), input());
      assert.equal(snap.value, 'ready', JSON.stringify(snap.context.error));
      const failed = await teardown(actor);
      assert.equal(failed.value, 'teardownFailed');
      assert.equal(failed.context.undoError?.step, `teardown:${step}`);
      const end = await teardown(actor);
      assert.equal(end.value, 'restored', JSON.stringify(end.context.undoError));
      assert.deepEqual(w.state(), before);
    });
  }
}

void test('DPDK VF: restoring its PF config fails once → teardownFailed; the retry goes straight to restoringPf', async () => {
  w = makeWorld();
  const before = w.state();
  const { actor } = await start(failingIo(w.io, 'setPf', 'before', 2), input(plan({ pciID: '0000:3b:02.2', name: 'net1' })));
  const failed = await teardown(actor);
  assert.equal(failed.value, 'teardownFailed');
  assert.equal(failed.context.undoError?.step, 'teardown:restoringPf');
  const end = await teardown(actor);
  assert.equal(end.value, 'restored');
  assert.deepEqual(w.kernel.writes, [], 'a DPDK VF is never unbound');
  assert.deepEqual(w.state(), before);
});

void test('rollback: setup fails after the vfio bind and the vfio-pci unbind fails → teardownFailed with both errors; TEARDOWN restores the tree', async () => {
  w = makeWorld();
  const before = w.state();
  w.kernel.failWrite(/^bus\/pci\/drivers\/vfio-pci\/unbind$/);
  const { actor, snap } = await start(failingIo(w.io, 'waitVfioDevice', 'after'), input());
  assert.equal(snap.value, 'teardownFailed', 'not failed: the VF is still on vfio-pci');
  assert.equal(snap.status, 'active');
  assert.equal(snap.context.error?.step, 'waitingVfioDevice', 'the setup cause is kept');
  assert.equal(snap.context.undoError?.step, 'rollback:unbindingVfio');
  assert.equal(w.tree.driverOf(PCI), 'vfio-pci');

  const end = await teardown(actor);
  assert.equal(end.value, 'restored', JSON.stringify(end.context.undoError));
  assert.ok(end.context.done.includes('teardown:unbindingVfio'));
  assert.deepEqual(w.state(), before);
});

void test('a retry that fails again stays in teardownFailed; the third TEARDOWN restores', async () => {
  w = makeWorld();
  const before = w.state();
  const { actor } = await start(w.io, input());
  w.kernel.failWrite(/^bus\/pci\/drivers_probe$/, 2);
  assert.equal((await teardown(actor)).context.undoError?.step, 'teardown:reprobing');
  assert.equal((await teardown(actor)).context.undoError?.step, 'teardown:reprobing');
  assert.equal((await teardown(actor)).value, 'restored');
  assert.deepEqual(w.state(), before);
});
