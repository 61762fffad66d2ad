// Crash test: a child process (test/support/runtime-crash-child) runs the runtime on a
// state dir and sets up (or sets up, then tears down) a pod with two real CNI networks;
// it SIGKILLs itself right after the durable record reaches step k, for every distinct
// record of the setup and of the teardown. A new runtime on the same state dir must
// converge: a pod that was ready is adopted and serves again; anything else is rolled back
// completely (netns as before CNI ADD, CNI cache empty, IPs released, no nb-/nt- links,
// no nft tables, no record), with no process left in the pod netns and no fd leaked.
// The shaped case has global IPv6 addresses, so every crash point there also covers the
// IPv6 serving's state (forwarding sysctls, routes on the bridge, the nft rules).
// Also: a pod whose netns was deleted while the runtime was down is cleaned up on start.
import assert from 'node:assert/strict';
import { closeSync } from 'node:fs';
import { test } from 'node:test';
import pino from 'pino';
import { createRuntime, type PodNetwork } from '../../src/index.js';
import type { DhcpPool } from '../../src/io/dhcp-pool.js';
import { assertNoFdLeak, assertNoNetnsLeft, fdSnapshot } from '../support/leaks.js';
import { RuntimeRig } from '../support/runtime-rig.js';
import { inPool, runCrashChild, type ChildRun } from '../support/crash-child.js';
import { assertNetnsRestored, settledNetnsView } from '../support/netns-view.js';
import type { Netns } from '../support/netns.js';
import { twoNetworkShape } from '../support/pod-shapes.js';

const silent = pino({ level: 'silent' });
const closeFds = (n: PodNetwork | undefined): void => n?.interfaces.forEach((i) => i.kind === 'tap' && i.fds.forEach((fd) => closeSync(fd)));


function runChild(rig: RuntimeRig, pod: string, mode: 'setup' | 'teardown', crashAt: number, cniResult?: unknown): Promise<ChildRun> {
  return runCrashChild({ options: rig.options(), podId: 'crash-pod', netnsPath: pod, mode, crashAt, ...(cniResult ? { cniResult } : {}) });
}

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

/** The pod: two real CNI networks, or (shaped) two given networks with competing routes, tables, rules, IPv6. */
function makePod(rig: RuntimeRig, shaped: boolean): { pod: Netns; cniResult?: unknown } {
  const pod = rig.pod('pod');
  if (!shaped) return { pod };
  return { pod, cniResult: twoNetworkShape(pod, rig.pod('peer'), (s) => rig.topo.name(s)) };
}

/** One crash case on its own rig; returns the recovery time. */
async function crashCase(mode: 'setup' | 'teardown', k: number, expectLast: boolean, shaped = false): Promise<{ ms: number; phase: string; adopted: boolean }> {
  const rig = new RuntimeRig();
  try {
    const { pod, cniResult } = makePod(rig, shaped);
    const before = await settledNetnsView(pod);
    const run = await runChild(rig, pod.path, mode, k, cniResult);
    const what = `${mode} crash at record ${k}`;
    assert.equal(run.signal, 'SIGKILL', `${what}: the child died by SIGKILL (${run.out.slice(-400)})`);
    const last = run.records.at(-1);
    assert.equal(last?.n, k, `${what}: ${run.out.slice(-1500)}`);
    assert.ok(!alive(run.pid));
    const t0 = performance.now();
    const rt = await createRuntime({ ...rig.options(), logger: silent });
    const ms = performance.now() - t0;
    try {
      const adopted = last.phase === 'ready';
      assert.equal(adopted, expectLast && mode === 'setup', `${what}: only a ready record is adopted`);
      if (adopted) {
        assert.equal(rt.getPod('crash-pod')?.phase, 'ready', what);
        assert.equal(rt.stats().adopted, 1);
        const net = rt.getNetwork('crash-pod')!;
        closeFds(net);
        assert.equal(net.interfaces.length, 2);
        const pool = (rt as unknown as Record<symbol, DhcpPool>)[Symbol.for('netlet.test.dhcpPool')]!;
        assert.ok(pool.isServing('crash-pod/eth0') && pool.isServing('crash-pod/eth1'), `${what}: DHCP served again`);
        // The shape's global IPv6 addresses: RA + DHCPv6 serve again, the pod forwarding for the VM.
        if (shaped) {
          // Status comes from the DHCP workers a moment after serving starts: wait for it.
          const v6 = (): unknown[] => rt.getPod('crash-pod')!.interfaces.map((i) => i.ipv6);
          const served = (): boolean => v6().length === 2 && v6().every((s) => (s as { ra?: { sent: number } } | undefined)?.ra?.sent !== undefined && (s as { ra: { sent: number } }).ra.sent >= 1);
          for (let i = 0; i < 100 && !served(); i++) await new Promise((r) => setTimeout(r, 50));
          assert.ok(served(), `${what}: IPv6 served again: ${JSON.stringify(v6())}`);
          assert.equal(pod.exec('cat', ['/proc/sys/net/ipv6/conf/all/forwarding']).trim(), '1', `${what}: the pod forwards for the VM`);
        }
        await rt.teardownPod('crash-pod');
      } else {
        assert.deepEqual(rt.listPods(), [], `${what}: rolled back on start (${rt.stats().rolledBack} rolled back)`);
        assert.equal(rt.stats().rolledBack, 1, what);
      }
      await assertNetnsRestored(pod, before, `${what}: as before CNI ADD`);
      assert.deepEqual(RuntimeRig.netletLinks(pod), []);
      assert.deepEqual(rig.cacheEntries(), [], `${what}: CNI cache empty`);
      assert.deepEqual(rig.allocations(), {}, `${what}: IPs released`);
      assert.deepEqual(rig.records(), [], `${what}: no record`);
      assert.deepEqual(RuntimeRig.pids(pod), [], `${what}: no process in the pod netns`);
      return { ms, phase: last.phase, adopted };
    } finally {
      await rt.close();
    }
  } finally {
    rig.destroy();
    assertNoNetnsLeft(rig.topo.tag);
  }
}


async function dryRun(mode: 'setup' | 'teardown', shaped = false): Promise<ChildRun> {
  const rig = new RuntimeRig();
  try {
    const { pod, cniResult } = makePod(rig, shaped);
    const run = await runChild(rig, pod.path, mode, 0, cniResult);
    assert.equal(run.code, 0, run.out);
    if (mode === 'teardown') assert.deepEqual(rig.records(), []);
    return run;
  } finally {
    // A setup dry run leaves the pod set up: the rig goes with everything in it.
    rig.destroy();
  }
}

void test('SIGKILL at every recorded step of setup and teardown: a new runtime adopts ready pods and rolls back everything else', async (t) => {
  const fds = fdSnapshot();
  const setup = await dryRun('setup');
  const teardown = await dryRun('teardown');
  assert.ok(setup.records.length >= 8, `setup records: ${setup.records.map((r) => r.sig).join('\n')}`);
  assert.equal(setup.records.at(-1)!.phase, 'ready');
  assert.ok(teardown.records.length >= 4, `teardown records: ${teardown.records.map((r) => r.sig).join('\n')}`);
  const cases = [
    ...setup.records.map((r) => () => crashCase('setup', r.n, r.n === setup.records.length)),
    ...teardown.records.map((r) => () => crashCase('teardown', r.n, false)),
  ];
  const results = await inPool(4, cases);
  const rec = results.map((r) => r.ms);
  assert.equal(results.filter((r) => r.adopted).length, 1);
  assertNoFdLeak(fds, 'the recovering runtimes');
  t.diagnostic(`${setup.records.length} setup + ${teardown.records.length} teardown crash points; recovery (createRuntime) ${Math.min(...rec).toFixed(0)}–${Math.max(...rec).toFixed(0)} ms`);
  t.diagnostic(`setup records: ${setup.records.map((r) => r.sig).join(' | ')}`);
});

void test('two networks with competing routes, tables, rules and IPv6: SIGKILL at every recorded step; the new runtime restores the netns exactly', async (t) => {
  const setup = await dryRun('setup', true);
  const teardown = await dryRun('teardown', true);
  const cases = [
    ...setup.records.map((r) => () => crashCase('setup', r.n, r.n === setup.records.length, true)),
    ...teardown.records.map((r) => () => crashCase('teardown', r.n, false, true)),
  ];
  const results = await inPool(4, cases);
  assert.equal(results.filter((r) => r.adopted).length, 1);
  t.diagnostic(`${setup.records.length} setup + ${teardown.records.length} teardown crash points`);
});

void test('a pod whose netns was deleted while the runtime was down is cleaned up on start', async () => {
  const rig = new RuntimeRig();
  try {
    const pod = rig.pod('gone');
    const dry = await runChild(rig, pod.path, 'setup', 0);
    assert.equal(dry.code, 0, dry.out);
    assert.equal(rig.records().length, 1);
    assert.equal(rig.cacheEntries().length, 2);
    pod.delete();
    const rt = await createRuntime({ ...rig.options(), logger: silent });
    try {
      assert.deepEqual(rt.listPods(), []);
      assert.deepEqual(rig.records(), [], 'the record is gone');
      assert.deepEqual(rig.cacheEntries(), [], 'CNI DEL ran');
      assert.deepEqual(rig.allocations(), {}, 'IPs released');
    } finally {
      await rt.close();
    }
  } finally {
    rig.destroy();
  }
});
