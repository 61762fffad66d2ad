// The package as a consumer sees it: a script in a temp dir OUTSIDE the project, with its
// own package.json and node_modules/netlet symlinked to the project, does
// `import { createRuntime } from 'netlet'` and drives setupPod/teardownPod end to end
// against a given cniResult in a throwaway netns. With no logger given, the runtime keeps
// stdout to the program and writes nothing below a warning on stderr; the debug socket
// that 'netlet''s createRuntime starts is there.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { Topology, projectRoot, vethPair } from '../support/netns.js';
import { assertNoNetnsLeft } from '../support/leaks.js';
import { assertNetnsRestored, settledNetnsView } from '../support/netns-view.js';

const SCRIPT = `
import { createRuntime } from 'netlet';
import { closeSync, existsSync } from 'node:fs';
const [netnsPath, mac, dir] = process.argv.slice(2);
const rt = await createRuntime({ stateDir: dir + '/state', runDir: dir + '/run', monitorIntervalMs: 0 });
const cniResult = { cniVersion: '1.0.0', interfaces: [{ name: 'eth0', mac, sandbox: netnsPath }], ips: [{ address: '10.94.0.5/24', gateway: '10.94.0.1', interface: 0 }], routes: [{ dst: '0.0.0.0/0', gw: '10.94.0.1' }] };
const net = await rt.setupPod({ podId: 'ext-1', netnsPath, cniResult });
for (const i of net.interfaces) if (i.kind === 'tap') i.fds.forEach((fd) => closeSync(fd));
const phase = rt.getPod('ext-1').phase;
const debugSocket = existsSync(dir + '/run/debug.sock');
await rt.teardownPod('ext-1');
const after = rt.getPod('ext-1');
await rt.close();
console.log(JSON.stringify({ phase, debugSocket, after: after ?? null, interfaces: net.interfaces.map(({ fd, fds, ...i }) => i), instanceId: net.cloudInit.instanceId }));
`;

void test('an outside project imports netlet by name and sets up and tears down a pod', async () => {
  const topo = new Topology();
  const dir = mkdtempSync(join(tmpdir(), 'netlet-consumer-'));
  try {
    const pod = topo.ns('pod');
    const peer = topo.ns('peer');
    vethPair(pod, 'eth0', peer, topo.name('p'));
    pod.ip('addr', 'add', '10.94.0.5/24', 'dev', 'eth0');
    pod.ip('route', 'add', 'default', 'via', '10.94.0.1');
    const mac = pod.json<{ address: string }>('link', 'show', 'eth0')[0]!.address;
    const before = await settledNetnsView(pod);

    writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'consumer', private: true, type: 'module', dependencies: { netlet: `file:${projectRoot}` } }));
    mkdirSync(join(dir, 'node_modules'));
    symlinkSync(projectRoot.replace(/\/$/, ''), join(dir, 'node_modules', 'netlet'), 'dir');
    writeFileSync(join(dir, 'main.mjs'), SCRIPT);
    const env = { ...process.env };
    delete env.NETLET_LOG_LEVEL;
    const run = spawnSync(process.execPath, ['main.mjs', pod.path, mac, dir], { cwd: dir, encoding: 'utf8', env });
    assert.equal(run.status, 0, run.stderr);
    const lines = run.stdout.trim().split('\n');
    assert.equal(lines.length, 1, `only the program's own line on stdout:\n${run.stdout}`);
    // pino levels: 40 warn, 50 error; anything below would be info/debug chatter.
    const chatter = run.stderr.split('\n').filter((l) => l.trim() && !/"level":(40|50|60)\b/.test(l));
    assert.deepEqual(chatter, [], 'stderr holds warnings and errors only');
    const r = JSON.parse(lines[0]!) as { phase: string; debugSocket: boolean; after: unknown; interfaces: { kind: string; name: string; mac: string; tapName: string; ips: unknown }[]; instanceId: string };
    assert.equal(r.phase, 'ready');
    assert.equal(r.debugSocket, true, 'createRuntime from netlet starts the debug socket');
    assert.equal(r.after, null);
    assert.deepEqual(r.interfaces.map((i) => [i.kind, i.name, i.mac, i.tapName]), [['tap', 'eth0', mac, 'nt-eth0']]);
    assert.deepEqual(r.interfaces[0]!.ips, [{ address: '10.94.0.5/24', gateway: '10.94.0.1' }]);
    assert.ok(r.instanceId);
    await assertNetnsRestored(pod, before, 'after teardown by an outside project');
  } finally {
    topo.destroy();
    rmSync(dir, { recursive: true, force: true });
  }
  assertNoNetnsLeft(topo.tag);
});
