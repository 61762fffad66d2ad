// Crash test of hot-plug: a child process (test/support/runtime-crash-child, modes attach
// and detach) adopts a pod set up on neta by an earlier child, then attaches netb as eth1
// (or detaches it), SIGKILLing itself right after the durable record reaches step k, for
// every distinct record. A new runtime on the same state dir must converge: an attach is
// rolled back (pod ready with eth0 alone, netns as before the attach, netb's CNI cache entry
// and address released) unless its last record was the committed one; a detach is finished.
// Never half: then teardownPod leaves nothing (netns as before setup, no cache, no IPs).
import assert from 'node:assert/strict';
import { closeSync } from 'node:fs';
import { test } from 'node:test';
import pino from 'pino';
import { createRuntime } from '../../src/index.js';
import type { DhcpPool } from '../../src/io/dhcp-pool.js';
import { assertNoNetnsLeft } from '../support/leaks.js';
import { RuntimeRig } from '../support/runtime-rig.js';
import { inPool, runCrashChild, type ChildRun } from '../support/crash-child.js';
import { assertNetnsRestored, settledNetnsView, type NetnsView } from '../support/netns-view.js';
import type { Netns } from '../support/netns.js';

const silent = pino({ level: 'silent' });
type Mode = 'setup' | 'attach' | 'detach';

function runChild(rig: RuntimeRig, pod: string, mode: Mode, crashAt: number): Promise<ChildRun> {
  return runCrashChild({ options: rig.options(), podId: 'hp-pod', netnsPath: pod, mode, crashAt, networks: 'neta' });
}

/** A pod on neta, set up by one child (and with eth1 attached by another, for detach); the views before setup and before the attach. */
async function prepared(rig: RuntimeRig, withEth1: boolean): Promise<{ pod: Netns; beforeSetup: NetnsView; beforeAttach: NetnsView }> {
  const pod = rig.pod('pod');
  const beforeSetup = await settledNetnsView(pod);
  const s = await runChild(rig, pod.path, 'setup', 0);
  assert.equal(s.code, 0, s.out);
  const beforeAttach = await settledNetnsView(pod);
  if (withEth1) {
    const a = await runChild(rig, pod.path, 'attach', 0);
    assert.equal(a.code, 0, a.out);
  }
  return { pod, beforeSetup, beforeAttach };
}

async function crashCase(mode: 'attach' | 'detach', k: number): Promise<'rolledBack' | 'attached' | 'detached'> {
  const rig = new RuntimeRig();
  try {
    const { pod, beforeSetup, beforeAttach } = await prepared(rig, mode === 'detach');
    const run = await runChild(rig, pod.path, mode, k);
    const what = `${mode} crash at record ${k}`;
    assert.equal(run.signal, 'SIGKILL', `${what}: ${run.out.slice(-600)}`);
    const last = run.records.at(-1)!;
    assert.equal(last.n, k, what);
    const rt = await createRuntime({ ...rig.options(), logger: silent });
    try {
      const st = rt.getPod('hp-pod');
      assert.equal(st?.phase, 'ready', `${what}: adopted (${JSON.stringify(st)})`);
      const names = st.interfaces.map((i) => i.name);
      // Only the committed record of an attach keeps eth1.
      const committed = mode === 'attach' && last.phase === 'ready';
      assert.deepEqual(names, committed ? ['eth0', 'eth1'] : ['eth0'], what);
      const pool = (rt as unknown as Record<symbol, DhcpPool>)[Symbol.for('netlet.test.dhcpPool')]!;
      assert.ok(pool.isServing('hp-pod/eth0'), `${what}: eth0 served`);
      if (committed) {
        assert.ok(pool.isServing('hp-pod/eth1'), `${what}: eth1 served`);
        const net = rt.getNetwork('hp-pod')!;
        net.interfaces.forEach((i) => i.kind === 'tap' && i.fds.forEach((fd) => closeSync(fd)));
      } else {
        await assertNetnsRestored(pod, beforeAttach, `${what}: as before the attach`);
        assert.deepEqual(rig.cacheEntries().filter((e) => e.startsWith('netb-')), [], `${what}: netb released`);
        assert.deepEqual(Object.keys(rig.allocations()).filter((a) => a.includes('netb')), [], `${what}: netb address released`);
      }
      await rt.teardownPod('hp-pod');
      await assertNetnsRestored(pod, beforeSetup, `${what}: teardown: as before setup`);
      assert.deepEqual(rig.cacheEntries(), [], `${what}: CNI cache empty`);
      assert.deepEqual(rig.allocations(), {}, `${what}: IPs released`);
      assert.deepEqual(rig.records(), [], `${what}: no record`);
      return committed ? 'attached' : mode === 'detach' ? 'detached' : 'rolledBack';
    } finally {
      await rt.close();
    }
  } finally {
    rig.destroy();
    assertNoNetnsLeft(rig.topo.tag);
  }
}


async function dryRun(mode: 'attach' | 'detach'): Promise<ChildRun> {
  const rig = new RuntimeRig();
  try {
    const { pod } = await prepared(rig, mode === 'detach');
    const run = await runChild(rig, pod.path, mode, 0);
    assert.equal(run.code, 0, run.out);
    return run;
  } finally {
    rig.destroy();
  }
}

void test('SIGKILL at every recorded step of an attach and of a detach: the next runtime rolls the attach back (or keeps it once committed) and finishes the detach; never half', async (t) => {
  const attach = await dryRun('attach');
  const detach = await dryRun('detach');
  assert.ok(attach.records.length >= 6, `attach records: ${attach.records.map((r) => r.sig).join('\n')}`);
  assert.ok(detach.records.length >= 3, `detach records: ${detach.records.map((r) => r.sig).join('\n')}`);
  const results = await inPool(3, [
    ...attach.records.map((r) => () => crashCase('attach', r.n)),
    ...detach.records.map((r) => () => crashCase('detach', r.n)),
  ]);
  assert.equal(results.filter((r) => r === 'attached').length, 1, 'only the committed record keeps the attach');
  t.diagnostic(`${attach.records.length} attach + ${detach.records.length} detach crash points`);
  t.diagnostic(`attach records: ${attach.records.map((r) => r.sig).join(' | ')}`);
  t.diagnostic(`detach records: ${detach.records.map((r) => r.sig).join(' | ')}`);
});
