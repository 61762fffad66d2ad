// A failure at each setup step, before or after its effect, is rolled back to the
// original tree; so is a process crash at each step followed by a resumed teardown.
import assert from 'node:assert/strict';
import { afterEach, test } from 'node:test';
import { createActor, waitFor } from 'xstate';
import { provideSriov } from '../../../src/actors/sriov-wiring.js';
import { SETUP_STEPS, type SriovIo } from '../../../src/machines/sriov-interface.js';
import { STEP_CALL, failingIo, input, makeWorld, plan, start, teardown, type World } from './harness.js';

let w: World;
afterEach(() => w.cleanup());

const CASES = [
  { what: 'netdev VF in the pod netns', plan: plan() },
  { what: 'DPDK VF', plan: plan({ pciID: '0000:3b:02.2' }) },
];

for (const c of CASES) {
  for (const step of SETUP_STEPS) {
    for (const when of ['before', 'after'] as const) {
      void test(`${c.what}: io fails at ${step} (${when} its effect) → rolled back, tree restored`, async () => {
        w = makeWorld();
        const before = w.state();
        const [method, nth] = STEP_CALL[step]!;
        const { snap } = await start(failingIo(w.io, method, when, nth), input(c.plan));
        const skipped = c.what === 'DPDK VF' && (step === 'unbinding' || step === 'bindingVfio');
        if (skipped) {
          assert.equal(snap.value, 'ready', 'DPDK mode never runs this step');
          return;
        }
        assert.equal(snap.value, 'failed');
        assert.equal(snap.context.error?.step, step);
        assert.equal(snap.context.error?.message, 'injected failure');
        assert.equal(snap.context.undoError, undefined, JSON.stringify(snap.context.undoError));
        assert.deepEqual(w.state(), before);
      });
    }
  }
}

/** Runs setup until `step`'s io call (after its effect, if `effect`), then "kills the process". */
async function crashAt(io: SriovIo, step: string, effect: boolean) {
  const [method, nth] = STEP_CALL[step]!;
  let calls = 0;
  let hit!: () => void;
  const crashed = new Promise<void>((r) => (hit = r));
  const orig = io[method] as (req: unknown) => Promise<unknown>;
  const dying: SriovIo = {
    ...io,
    [method]: async (req: unknown) => {
      if (++calls !== nth) return orig(req);
      if (effect) await orig(req);
      hit();
      return new Promise(() => {}); // never answers: the process died here
    },
  };
  const actor = createActor(provideSriov(dying), { input: input() });
  actor.start();
  actor.send({ type: 'START' });
  await crashed;
  const ctx = actor.getSnapshot().context;
  actor.stop();
  // What the durable layer would have persisted before the crash.
  return { done: [...ctx.done], record: ctx.record, vfioDevice: ctx.vfioDevice };
}

for (const step of SETUP_STEPS) {
  for (const effect of [false, true]) {
    void test(`process crash at ${step} (${effect ? 'after' : 'before'} its effect), resumed teardown restores the tree`, async () => {
      w = makeWorld();
      const before = w.state();
      const persisted = await crashAt(w.io, step, effect);
      assert.deepEqual(persisted.done, SETUP_STEPS.slice(0, SETUP_STEPS.indexOf(step)));
      const { actor, snap } = await start(w.io, input(plan(), { resume: persisted }));
      assert.equal(snap.value, 'interrupted');
      const end = await teardown(actor);
      assert.equal(end.value, 'restored', JSON.stringify(end.context.undoError));
      assert.deepEqual(w.state(), before);
      // And once more: replaying the same teardown is harmless.
      const again = await start(w.io, input(plan(), { resume: persisted }));
      assert.equal((await teardown(again.actor)).value, 'restored');
      assert.deepEqual(w.state(), before);
    });
  }
}

void test('TEARDOWN while a setup step runs: the step finishes, then teardown restores', async () => {
  for (const step of SETUP_STEPS) {
    const world = makeWorld();
    try {
      const before = world.state();
      const [method, nth] = STEP_CALL[step]!;
      let calls = 0;
      let release!: () => void;
      const gate = new Promise<void>((r) => (release = r));
      let entered!: () => void;
      const inStep = new Promise<void>((r) => (entered = r));
      const orig = world.io[method] as (req: unknown) => Promise<unknown>;
      const io: SriovIo = {
        ...world.io,
        [method]: async (req: unknown) => {
          if (++calls === nth) {
            entered();
            await gate;
          }
          return orig(req);
        },
      };
      const actor = createActor(provideSriov(io), { input: input() });
      actor.start();
      actor.send({ type: 'START' });
      await inStep;
      assert.ok(actor.getSnapshot().matches(step));
      actor.send({ type: 'TEARDOWN' });
      assert.ok(actor.getSnapshot().matches(step), 'stays in the step until its effect settles');
      release();
      const end = await waitFor(actor, (s) => s.status !== 'active', { timeout: 5000 });
      assert.equal(end.value, 'restored', `${step}: ${JSON.stringify(end.context.undoError)}`);
      assert.deepEqual(world.state(), before, step);
    } finally {
      world.cleanup();
    }
  }
  w = makeWorld(); // for afterEach
});

void test('resume without a record (crash before recording finished): teardown has nothing to undo', async () => {
  w = makeWorld();
  const { actor, snap } = await start(w.io, input(plan(), { resume: { done: ['detecting'] } }));
  assert.equal(snap.value, 'interrupted');
  assert.equal((await teardown(actor)).value, 'restored');
  assert.deepEqual(w.kernel.writes, []);
  assert.deepEqual(w.pf.calls, []);
});
