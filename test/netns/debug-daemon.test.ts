// `netlet daemon` as a child process and the CLI against it: a pod created through the
// control socket, every client command's output and exit codes, SIGKILL and restart
// (the pod is adopted), a second daemon refused, --log pretty, SIGTERM.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { renderMachine } from '../../src/debug/graph.js';
import { controlRequest, setupPodWithFds } from '../../src/debug/control-client.js';
import { socketIsLive } from '../../src/debug/socket.js';
import { cliPath, makeRig, runCli, until } from './debug-rig.js';

interface Daemon {
  proc: ChildProcess;
  stderr: () => string;
}

function startDaemon(rig: ReturnType<typeof makeRig>, cfg: string, extra: string[] = []): Daemon {
  const proc = spawn(process.execPath, [cliPath, 'daemon', '--config', cfg, ...extra], { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, NO_COLOR: '1' } });
  rig.children.push(proc);
  let err = '';
  proc.stderr.on('data', (d: Buffer) => (err += d.toString()));
  return { proc, stderr: () => err };
}

const ready = (d: Daemon): Promise<true> => until('the daemon ready', () => (d.stderr().includes('netlet daemon ready') ? true : d.proc.exitCode !== null ? Promise.reject(new Error(`daemon exited ${d.proc.exitCode}: ${d.stderr()}`)) : undefined), 30_000);
const exited = (p: ChildProcess): Promise<number | null> => (p.exitCode !== null || p.signalCode !== null ? Promise.resolve(p.exitCode) : new Promise((r) => p.once('exit', (c) => r(c))));

void test('netlet daemon and the CLI against it', { timeout: 90_000 }, async (t) => {
  const rig = makeRig(t, { subnet: '10.77.3' });
  const cfg = join(rig.dir, 'netlet.json');
  writeFileSync(cfg, JSON.stringify(rig.options));
  const dsock = join(rig.runDir, 'debug.sock');
  const csock = join(rig.runDir, 'control.sock');
  const S = ['--socket', dsock];
  const podId = `pod-${rig.topo.tag}`;

  let d = startDaemon(rig, cfg);
  await ready(d);
  const { fds } = await setupPodWithFds(csock, { podId, netnsPath: rig.pod.path, hostname: 'vm1' });
  Object.values(fds).flat().forEach((fd) => closeSync(fd));

  await t.test('status: a plain table (no colour when piped)', async () => {
    const r = await runCli(['status', ...S]);
    assert.equal(r.code, 0, r.stderr);
    assert.ok(!r.stdout.includes('\x1b['), 'no ANSI escapes');
    const [head, row] = r.stdout.trimEnd().split('\n');
    assert.match(head!, /^POD\s+PHASE\s+IFACE\s+KIND\s+STATE\s+ADDRESSES\s+DEVICE\s+DHCP$/);
    assert.match(row!, new RegExp(`^${podId}\\s+ready\\s+eth0\\s+tap\\s+ready\\s+10\\.77\\.3\\.\\d+/24\\s+nt-eth0@nb-eth0\\s+waiting$`));
    const viaEnv = await runCli(['status'], { NETLET_SOCKET: dsock });
    assert.equal(viaEnv.stdout, r.stdout, 'NETLET_SOCKET finds the same daemon');
  });

  await t.test('inspect --json, inspect, events', async () => {
    const j = await runCli(['inspect', podId, '--json', ...S]);
    assert.equal(j.code, 0, j.stderr);
    const st = JSON.parse(j.stdout);
    assert.equal(st.podId, podId);
    assert.equal(st.phase, 'ready');
    assert.equal(st.interfaces[0].bridgeName, 'nb-eth0');
    const txt = await runCli(['inspect', podId, ...S]);
    assert.match(txt.stdout, new RegExp(`^pod    ${podId}\\nphase  ready\\n\\neth0 \\(tap\\)  ready\\n`));
    assert.match(txt.stdout, /^ {2}tap {8}nt-eth0 on bridge nb-eth0$/m);
    const ev = await runCli(['events', podId, ...S]);
    assert.equal(ev.code, 0, ev.stderr);
    assert.match(ev.stdout, /^TIME\s+MACHINE\s+TRANSITION$/m);
    assert.match(ev.stdout, /Z\s+pod\s+settingUp -> ready$/m);
    assert.match(ev.stdout, /Z\s+eth0\s+serving\.running -> ready$/m);
  });

  await t.test('graph, cloud-init, metrics', async () => {
    const mm = await runCli(['graph', 'veth']);
    assert.equal(mm.stdout, renderMachine('veth')!.mermaid);
    const dot = await runCli(['graph', 'pod', '--format', 'dot']);
    assert.equal(dot.stdout, renderMachine('pod')!.dot);
    const v1 = await runCli(['cloud-init', podId, '--format', 'v1', ...S]);
    assert.equal(v1.code, 0, v1.stderr);
    assert.match(v1.stdout, /^version: 1\n/);
    assert.match(v1.stdout, /address: 10\.77\.3\.\d+/);
    const nd = await runCli(['cloud-init', podId, '--format', 'network-data', ...S]);
    assert.ok(Array.isArray(JSON.parse(nd.stdout).links));
    const m = await runCli(['metrics', ...S]);
    assert.match(m.stdout, /^netlet_pods\{phase="ready"\} 1$/m);
  });

  await t.test('errors: unreachable 3 (and says why), not found 4, usage 2', async () => {
    const gone = join(rig.dir, 'nothing.sock');
    const r3 = await runCli(['status', '--socket', gone]);
    assert.equal(r3.code, 3);
    assert.match(r3.stderr, new RegExp(`cannot reach the netlet daemon at ${gone} \\(from --socket\\): no socket file there`));
    assert.match(r3.stderr, new RegExp(`A netlet daemon is running: pid ${d.proc.pid}: .*daemon --config ${cfg}`));
    const r4 = await runCli(['inspect', 'no-such-pod', ...S]);
    assert.equal(r4.code, 4);
    assert.match(r4.stderr, /no pod 'no-such-pod'/);
    assert.equal((await runCli(['events', 'no-such-pod', ...S])).code, 4);
    assert.equal((await runCli(['cloud-init', 'no-such-pod', ...S])).code, 4);
    assert.equal((await runCli(['graph', 'nope'])).code, 4);
    for (const args of [['status', 'extra'], ['inspect'], ['graph', 'veth', '--format', 'png'], ['cloud-init', podId, '--format', 'v3'], ['status', '--bogus'], ['frobnicate'], []]) {
      const r = await runCli(args);
      assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, /usage: netlet/);
    }
    for (const c of ['daemon', 'status', 'inspect', 'events', 'graph', 'cloud-init', 'metrics', 'demo']) {
      const h = await runCli([c, '--help']);
      assert.equal(h.code, 0, c);
      assert.match(h.stdout, new RegExp(`^usage: netlet ${c}`), c);
    }
  });

  await t.test('a second daemon on the same sockets is refused', async () => {
    const r = await runCli(['daemon', '--config', cfg]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /another daemon is serving/);
    assert.equal((await runCli(['status', ...S])).code, 0, 'the first one still serves');
  });

  await t.test('SIGKILL, restart (pretty logs): the pod is adopted and ready', async () => {
    d.proc.kill('SIGKILL');
    await exited(d.proc);
    assert.ok(existsSync(dsock), 'a stale socket file is left behind');
    d = startDaemon(rig, cfg, ['--log', 'pretty']);
    await ready(d);
    assert.match(d.stderr(), /^\d\d:\d\d:\d\d\.\d{3} INFO {2}\[pod-\S+\] adopted after restart$/m);
    assert.ok(!d.stderr().includes('{"level"'), 'no JSON lines in pretty mode');
    const r = await runCli(['status', ...S]);
    assert.match(r.stdout, new RegExp(`^${podId}\\s+ready\\s+eth0\\s+tap\\s+ready`, 'm'));
    const m = await runCli(['metrics', ...S]);
    assert.match(m.stdout, /^netlet_pods_adopted_total 1$/m);
  });

  await t.test('DELETE through the control socket, then SIGTERM: exit 0, sockets removed', async () => {
    const del = await controlRequest(csock, 'DELETE', `/v1/pods/${podId}`);
    assert.equal(del.status, 200, del.body);
    assert.equal((await runCli(['status', ...S])).stdout, 'no pods\n');
    d.proc.kill('SIGTERM');
    assert.equal(await exited(d.proc), 0);
    assert.ok(!existsSync(dsock) && !existsSync(csock));
    assert.equal(await socketIsLive(dsock), false);
  });
});
