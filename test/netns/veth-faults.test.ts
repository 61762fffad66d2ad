// Faults in a real pod netns (veths from the real CNI bridge plugin): a failure at each
// setup step, and at each single kernel call inside the steps, rolls the netns back to
// exactly what CNI left and ends `failed` with the cause; a passing EBUSY is retried; a
// "crash" at any point of setup, resumed as the durable-state layer would, tears down clean.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createActor, waitFor } from 'xstate';
import { provideVeth } from '../../src/actors/veth-wiring.js';
import { vethKernelIo } from '../../src/io/veth.js';
import type { Rtnl } from '../../src/io/rtnl.js';
import { MAX_ATTEMPTS, VETH_SETUP_STEPS, VETH_UNDO_STEPS, type VethIo } from '../../src/machines/veth-interface.js';
import { SysError } from '../../src/model/errors.js';
import { waitUp } from '../support/netns.js';
import { assertSameNetns, makePod, netnsSnapshot, undoSteps, startVeth, teardownVeth, type PodRig, type VethSnap } from './veth-rig.js';
import type { NetnsView } from '../support/netns-view.js';

const SETUP_METHOD: Record<(typeof VETH_SETUP_STEPS)[number], keyof VethIo> = {
  capturing: 'capture',
  stripping: 'strip',
  plumbing: 'plumb',
  isolating: 'isolate',
  serving: 'startDhcp',
};

/** The io with `method` failing (before or after its effect) on the calls `fail(n)` says. */
function failing(io: VethIo, method: keyof VethIo, when: 'before' | 'after', fail: (n: number) => Error | undefined): { io: VethIo; calls: () => number } {
  let n = 0;
  const orig = (req: unknown): Promise<unknown> => (io[method] as (r: unknown) => Promise<unknown>)(req);
  const wrapped: VethIo = {
    ...io,
    [method]: async (req: unknown) => {
      const e = fail(++n);
      if (!e) return orig(req);
      if (when === 'after') await orig(req);
      throw e;
    },
  };
  return { io: wrapped, calls: () => n };
}

const MUTATING = new Set(['createBridge', 'configure', 'setUp', 'setMtu', 'setMac', 'setMaster', 'setGroup', 'deleteLink', 'deleteGroup', 'addAddress', 'delAddress', 'addRoute', 'delRoute', 'newRouteMessage', 'delRouteMessage', 'addNeighbour']);

/**
 * The rtnetlink wrapper with its k-th mutating call (counted while armed) failing with
 * `errno`, or never answering ('hang'); every call is logged.
 */
function faultyRtnl(rt: Rtnl, k: number, mode: SysError | 'hang' | 'none') {
  const log: string[] = [];
  const state = { armed: true, n: 0, fired: false };
  const proxy = new Proxy(rt, {
    get(target, prop, receiver) {
      const v = Reflect.get(target, prop, receiver) as unknown;
      if (typeof v !== 'function') return v;
      const fn = v as (...a: unknown[]) => Promise<unknown>;
      if (!MUTATING.has(String(prop))) return fn.bind(target);
      return async (...args: unknown[]) => {
        if (state.armed) {
          log.push(String(prop));
          if (++state.n === k && mode !== 'none') {
            state.armed = false;
            state.fired = true;
            if (mode === 'hang') return new Promise(() => undefined);
            throw mode;
          }
        }
        return fn.apply(target, args);
      };
    },
  });
  return { rt: proxy, log, state };
}

/** The real io (DHCP from the rig) over a given rtnetlink handle. */
const ioOver = (r: PodRig, rt: Rtnl): VethIo => ({ ...r.io, ...vethKernelIo(rt) });

function assertFailedWith(snap: VethSnap, code: string, step: string): void {
  assert.ok(snap.matches('failed'), `ended ${JSON.stringify(snap.value)}`);
  assert.equal(snap.context.error?.code, code);
  assert.equal(snap.context.error?.step, step);
  assert.equal(snap.context.undoError, undefined, `rollback failed: ${JSON.stringify(snap.context.undoError)}`);
}

void test('a fault at each setup step (before or after its effect) rolls back exactly and ends failed', async (t) => {
  const r = await makePod(t, { count: 2, extraRoutes: true });
  const before = await netnsSnapshot(r.pod);
  for (const ifIndex of [0, 1]) {
    for (const step of VETH_SETUP_STEPS) {
      for (const when of ['before', 'after'] as const) {
        const what = `eth${ifIndex} ${step} ${when}`;
        const { io } = failing(r.io, SETUP_METHOD[step], when, (n) => (n === 1 ? new SysError('EIO', `injected ${step}`) : undefined));
        const { actor, snap } = await startVeth(io, r.input(ifIndex));
        assertFailedWith(snap, 'EIO', step);
        const rolled = undoSteps(snap.context.done, 'rollback');
        // A failed capture changed nothing: no rollback; later steps run the whole undo chain.
        assert.deepEqual(rolled, step === 'capturing' ? [] : VETH_UNDO_STEPS.map((s) => `rollback:${s}`), what);
        await assertSameNetns(r.pod, before, what);
        assert.equal(r.pool.isServing(`${r.podId}/eth${ifIndex}`), false, `${what}: DHCP stopped`);
        actor.stop();
      }
    }
  }
  // The other veth is not disturbed by a failure next to it: eth0 ready, eth1 fails and rolls back.
  const ok0 = await startVeth(r.io, r.input(0));
  assert.ok(ok0.snap.matches('ready'));
  // The new bridge's operstate settles (UNKNOWN -> UP) once its veth port forwards.
  await waitUp(r.pod, r.settings(0).bridge);
  const mid = await netnsSnapshot(r.pod);
  const { io } = failing(r.io, 'isolate', 'after', () => new SysError('EIO', 'injected'));
  const bad1 = await startVeth(io, r.input(1));
  assertFailedWith(bad1.snap, 'EIO', 'isolating');
  await assertSameNetns(r.pod, mid, 'eth1 rolled back, eth0 untouched');
  assert.ok(r.pool.isServing(`${r.podId}/eth0`));
  assert.equal((await teardownVeth(ok0.actor)).status, 'done');
  await assertSameNetns(r.pod, before, 'after tearing eth0 down');
});

void test('a fault at each single kernel call of setup rolls back exactly (EIO) or is retried (EBUSY)', async (t) => {
  const r = await makePod(t, { count: 1, extraRoutes: true });
  const before = await netnsSnapshot(r.pod);
  // A clean run counts the setup's kernel calls.
  const probe = faultyRtnl(r.rt, 0, 'none');
  const clean = await startVeth(ioOver(r, probe.rt), r.input(0));
  assert.ok(clean.snap.matches('ready'));
  probe.state.armed = false;
  const calls = [...probe.log];
  assert.ok(calls.length >= 12, `setup makes ${calls.length} kernel calls: ${calls.join(' ')}`);
  assert.equal((await teardownVeth(clean.actor)).status, 'done');
  await assertSameNetns(r.pod, before, 'clean run');

  for (let k = 1; k <= calls.length; k++) {
    const f = faultyRtnl(r.rt, k, new SysError('EIO', `injected at ${calls[k - 1]}`));
    const { actor, snap } = await startVeth(ioOver(r, f.rt), r.input(0));
    f.state.armed = false;
    assert.ok(f.state.fired, `call ${k} reached`);
    assert.ok(snap.matches('failed'), `call ${k} (${calls[k - 1]}): ${JSON.stringify(snap.value)}`);
    assert.equal(snap.context.error?.code, 'EIO');
    assert.ok(['stripping', 'plumbing'].includes(snap.context.error?.step ?? ''), snap.context.error?.step);
    assert.equal(snap.context.undoError, undefined);
    await assertSameNetns(r.pod, before, `EIO at call ${k} (${calls[k - 1]})`);
    actor.stop();
  }

  // EBUSY on any one kernel call passes on retry: setup succeeds, teardown restores.
  for (const k of [1, Math.ceil(calls.length / 2), calls.length]) {
    const f = faultyRtnl(r.rt, k, new SysError('EBUSY', 'injected'));
    const { actor, snap } = await startVeth(ioOver(r, f.rt), r.input(0));
    f.state.armed = false;
    assert.ok(f.state.fired);
    assert.ok(snap.matches('ready'), `EBUSY at call ${k}: ${JSON.stringify(snap.value)} ${JSON.stringify(snap.context.error)}`);
    assert.equal((await teardownVeth(actor)).status, 'done');
    await assertSameNetns(r.pod, before, `EBUSY at call ${k}`);
  }
});

void test('EBUSY passing after 1-2 tries is retried; one that never passes fails after MAX_ATTEMPTS', async (t) => {
  const r = await makePod(t, { count: 1, mtu: 1450, extraRoutes: true });
  const before = await netnsSnapshot(r.pod);
  for (const step of ['stripping', 'plumbing', 'isolating', 'serving'] as const) {
    for (const busy of [1, 2]) {
      const f = failing(r.io, SETUP_METHOD[step], busy === 1 ? 'before' : 'after', (n) => (n <= busy ? new SysError('EBUSY', 'device busy') : undefined));
      const t0 = Date.now();
      const { actor, snap } = await startVeth(f.io, r.input(0));
      assert.ok(snap.matches('ready'), `${step} EBUSY x${busy}: ${JSON.stringify(snap.value)}`);
      assert.equal(f.calls(), busy + 1, `${step} retried ${busy} time(s)`);
      assert.deepEqual(snap.context.done, [...VETH_SETUP_STEPS], 'each step marked done once');
      assert.ok(Date.now() - t0 >= (busy === 1 ? 25 : 75), 'with backoff');
      assert.equal((await teardownVeth(actor)).status, 'done');
      await assertSameNetns(r.pod, before, `${step} EBUSY x${busy}`);
    }
  }
  const f = failing(r.io, 'plumb', 'after', () => new SysError('EBUSY', 'device busy'));
  const { snap } = await startVeth(f.io, r.input(0));
  assertFailedWith(snap, 'EBUSY', 'plumbing');
  assert.equal(f.calls(), MAX_ATTEMPTS);
  await assertSameNetns(r.pod, before, 'EBUSY forever');
});

/** Resumes from what the durable-state layer saved, tears down, checks the netns. */
async function resumeAndTearDown(r: PodRig, saved: VethSnap, before: NetnsView, what: string): Promise<void> {
  const resume = { done: [...saved.context.done], ...(saved.context.record ? { record: saved.context.record } : {}) };
  // A new process: fresh io (the old rtnetlink handle and its hung call are gone).
  const { actor, snap } = await startVeth(r.io, r.input(0, resume));
  const wasReady = resume.record && VETH_SETUP_STEPS.every((s) => resume.done.includes(s)) && !resume.done.some((s) => s.includes(':'));
  assert.ok(snap.matches(wasReady ? 'ready' : 'interrupted'), `${what}: resumed into ${JSON.stringify(snap.value)}`);
  const end = await teardownVeth(actor);
  assert.equal(end.status, 'done', `${what}: ${JSON.stringify(end.value)} ${JSON.stringify(end.context.undoError)}`);
  await assertSameNetns(r.pod, before, what);
  assert.equal(r.pool.isServing(`${r.podId}/eth0`), false);
}

void test('a crash anywhere in setup (or teardown), resumed from the durable state, tears down to the snapshot', async (t) => {
  const r = await makePod(t, { count: 1, extraRoutes: true });
  const before = await netnsSnapshot(r.pod);

  // Crash after a step's effect, before the machine saw it done.
  for (const step of [...VETH_SETUP_STEPS]) {
    let reached!: () => void;
    const hit = new Promise<void>((res) => (reached = res));
    const method = SETUP_METHOD[step];
    const orig = (req: unknown): Promise<unknown> => (r.io[method] as (x: unknown) => Promise<unknown>)(req);
    const io: VethIo = { ...r.io, [method]: async (req: unknown) => { await orig(req); reached(); return new Promise(() => undefined); } };
    const actor = createActor(provideVeth(io), { input: r.input(0) });
    actor.start();
    actor.send({ type: 'START' });
    await hit;
    const saved = actor.getSnapshot();
    actor.stop();
    assert.ok(saved.matches(step as never), `crashed in ${step}`);
    await resumeAndTearDown(r, saved, before, `crash in ${step}`);
  }

  // Crash mid-step: the k-th kernel call never answers.
  const probe = faultyRtnl(r.rt, 0, 'none');
  const clean = await startVeth(ioOver(r, probe.rt), r.input(0));
  probe.state.armed = false;
  const n = probe.log.length;
  await teardownVeth(clean.actor);
  for (let k = 1; k <= n; k++) {
    const f = faultyRtnl(r.rt, k, 'hang');
    const actor = createActor(provideVeth(ioOver(r, f.rt)), { input: r.input(0) });
    actor.start();
    actor.send({ type: 'START' });
    for (let i = 0; i < 500 && !f.state.fired; i++) await new Promise((res) => setTimeout(res, 5));
    assert.ok(f.state.fired, `call ${k} reached`);
    f.state.armed = false;
    const saved = actor.getSnapshot();
    actor.stop();
    await resumeAndTearDown(r, saved, before, `crash at kernel call ${k} (${probe.log[k - 1]})`);
  }

  // Crash while ready, and crash in the middle of a teardown.
  const ready = await startVeth(r.io, r.input(0));
  const savedReady = ready.snap;
  ready.actor.stop();
  await resumeAndTearDown(r, savedReady, before, 'crash while ready');

  const again = await startVeth(r.io, r.input(0));
  let reached!: () => void;
  const hit = new Promise<void>((res) => (reached = res));
  const io2 = { ...r.io, unplumb: async (req: Parameters<VethIo['unplumb']>[0]) => { await r.io.unplumb(req); reached(); return new Promise<void>(() => undefined); } };
  const td = createActor(provideVeth(io2), { input: r.input(0, { done: [...again.snap.context.done], record: again.snap.context.record! }) });
  again.actor.stop();
  td.start();
  td.send({ type: 'START' });
  td.send({ type: 'TEARDOWN' });
  await hit;
  // The table goes at the same time as the links: wait for it, then "crash" with unplumb unanswered.
  const savedTd = await waitFor(td, (x) => x.context.done.includes('teardown:unisolating'), { timeout: 10_000 });
  td.stop();
  assert.ok(savedTd.context.done.includes('teardown:unisolating') && !savedTd.context.done.includes('teardown:unplumbing'));
  await resumeAndTearDown(r, savedTd, before, 'crash in teardown (unplumbing)');
});
