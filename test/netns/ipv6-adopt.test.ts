// Crash recovery for IPv6 (issue #15): a runtime SIGKILLed with its dual-stack pod ready
// (real bridge plugin, host-local IPv4 + IPv6) is replaced by a new one on the same state
// dir; it adopts the pod and serves IPv6 again: a real client (dhcpcd, in a VM-side netns
// on the bridge) gets the CNI's IPv6 address by DHCPv6 and its default route by the RA, and
// pings beyond the gateway. Teardown then restores the netns exactly (forwarding included).
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { closeSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import pino from 'pino';
import { createRuntime, type Runtime } from '../../src/index.js';
import { RuntimeRig } from '../support/runtime-rig.js';
import { assertNoNetnsLeft } from '../support/leaks.js';
import { assertNetnsRestored, settledNetnsView } from '../support/netns-view.js';
import { addIpv6Networks, attachVm, FAR, observe6, startClient6, waitFor6 } from '../support/ipv6-rig.js';

const CHILD = new URL('../support/runtime-crash-child.js', import.meta.url).pathname;

/** Sets the pod up in a child runtime that is SIGKILLed once setupPod resolved. */
function setupThenKilled(rig: RuntimeRig, netnsPath: string): Promise<{ signal: NodeJS.Signals | null; out: string }> {
  const arg = JSON.stringify({ options: rig.options(), podId: 'v6-adopt', netnsPath, mode: 'setup', crashAt: -1, networks: 'dual' });
  return new Promise((resolve, reject) => {
    const c = spawn(process.execPath, [CHILD, arg], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    c.stdout.on('data', (d: Buffer) => (out += d.toString()));
    c.stderr.on('data', (d: Buffer) => (out += d.toString()));
    const timer = setTimeout(() => c.kill('SIGKILL'), 30_000);
    c.on('error', reject);
    c.on('close', (_code, signal) => {
      clearTimeout(timer);
      resolve({ signal, out });
    });
  });
}

void test('a runtime killed with its dual-stack pod ready: the new one adopts it and serves IPv6 again (dhcpcd gets the address and the RA route); exact restore', async (t) => {
  const rig = new RuntimeRig();
  let rt: Runtime | undefined;
  try {
    addIpv6Networks(rig);
    const pod = rig.pod('p');
    const before = await settledNetnsView(pod);
    const run = await setupThenKilled(rig, pod.path);
    assert.equal(run.signal, 'SIGKILL', run.out.slice(-1500));
    assert.match(run.out, /^ready eth0$/m);
    assert.equal(pod.exec('cat', ['/proc/sys/net/ipv6/conf/all/forwarding']).trim(), '1', 'the pod forwards for the VM while no runtime runs');

    const t0 = performance.now();
    rt = await createRuntime({ ...rig.options({ monitorIntervalMs: 0 }), debugSocket: false, logger: pino({ level: 'silent' }) });
    const recoverMs = performance.now() - t0;
    assert.equal(rt.stats().adopted, 1);
    const net = rt.getNetwork('v6-adopt')!;
    net.interfaces.forEach((i) => i.kind === 'tap' && i.fds.forEach((fd) => closeSync(fd)));
    const tap = net.interfaces[0]!;
    assert.ok(tap.kind === 'tap');
    const v6 = tap.ips.find((i) => i.address.includes(':'))!.address.split('/')[0]!;

    const { vm, detach } = attachVm(rig, pod, tap, 'vm');
    const c = startClient6('dhcpcd', vm, mkdtempSync(join(tmpdir(), 'netlet-v6-adopt-')));
    try {
      const t1 = performance.now();
      await waitFor6('the IPv6 address and default route after adoption', () => {
        const x = observe6(vm);
        return x.v6.includes(v6) && !!x.default6;
      }, 40_000, () => `${JSON.stringify(observe6(vm))}\n${JSON.stringify(rt?.getPod('v6-adopt')?.interfaces[0]?.ipv6)}\n${c.output().slice(-3000)}`);
      t.diagnostic(`recovery (createRuntime, adoption) ${recoverMs.toFixed(0)} ms; dhcpcd start to IPv6 address + RA route ${(performance.now() - t1).toFixed(0)} ms`);
      assert.match(observe6(vm).default6!, /^fe80::/);
      vm.exec('ping', ['-6', '-c', '1', '-w', '10', FAR]);
      const st = rt.getPod('v6-adopt')!.interfaces[0]!;
      assert.ok(st.ipv6 && st.ipv6.ra.sent >= 1 && st.ipv6.dhcp6.lease.bound, JSON.stringify(st.ipv6));
    } finally {
      await c.stop();
      await detach();
    }
    await rt.teardownPod('v6-adopt');
    await assertNetnsRestored(pod, before, 'adopted dual-stack pod');
    assert.deepEqual(rig.records(), []);
  } finally {
    await rt?.close();
    rig.destroy();
  }
  assertNoNetnsLeft(rig.topo.tag);
});
