// The debug socket through the real unix socket, with a runtime holding a real pod
// (CNI bridge plugin in a throwaway netns): every endpoint, its permissions, bad
// clients, concurrency, and the socket file's life cycle.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { closeSync, existsSync, lstatSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { test } from 'node:test';
import pino from 'pino';
import { createRuntime, type Runtime } from '../../src/index.js';
import type { PodNetwork } from '../../src/actors/types.js';
import { startDebugServer } from '../../src/debug/server.js';
import { http, httpJson, makeRig, until } from './debug-rig.js';

const quiet = pino({ level: 'silent' });

void test('debug socket: every endpoint, permissions, bad clients, concurrency', { timeout: 90_000 }, async (t) => {
  const rig = makeRig(t, { subnet: '10.77.1' });
  let rt: Runtime | undefined = await createRuntime({ ...rig.options, logger: quiet });
  t.after(async () => rt?.close());
  const sock = join(rig.runDir, 'debug.sock');
  const podId = `pod-${rig.topo.tag}`;
  const net: PodNetwork = await rt.setupPod({ podId, podName: 'vm', podNamespace: 'default', netnsPath: rig.pod.path, hostname: 'vm1' });
  for (const i of net.interfaces) if (i.kind === 'tap') i.fds.forEach((fd) => closeSync(fd));

  await t.test('the runtime started it: owner-only socket in its run dir', () => {
    const st = lstatSync(sock);
    assert.ok(st.isSocket());
    assert.equal(st.mode & 0o777, 0o600);
    assert.equal(st.uid, 0);
  });

  await t.test('GET /v1/pods and /v1/pods/{id}', async () => {
    const list = await httpJson<{ pods: { podId: string; phase: string; interfaces: { name: string; state: string }[] }[] }>(sock, '/v1/pods');
    assert.equal(list.status, 200);
    assert.deepEqual(list.json.pods.map((p) => [p.podId, p.phase]), [[podId, 'ready']]);
    const one = await httpJson(sock, `/v1/pods/${podId}`);
    assert.equal(one.status, 200);
    assert.deepEqual(one.json, JSON.parse(JSON.stringify(rt!.getPod(podId))));
    assert.equal(one.json.interfaces[0].name, 'eth0');
    assert.equal(one.json.interfaces[0].state, 'ready');
    assert.match(one.json.interfaces[0].tapName, /^nt-/);
    const missing = await httpJson(sock, '/v1/pods/no-such-pod');
    assert.equal(missing.status, 404);
    assert.deepEqual(missing.json, { error: "no pod 'no-such-pod'", path: '/v1/pods/no-such-pod', podId: 'no-such-pod' });
  });

  await t.test('GET /v1/pods/{id}/events: the transitions to ready', async () => {
    const r = await httpJson<{ podId: string; events: { machine: string; interface?: string; from: string; to: string }[] }>(sock, `/v1/pods/${podId}/events`);
    assert.equal(r.status, 200);
    const pod = r.json.events.filter((e) => e.machine === 'pod').map((e) => `${e.from}>${e.to}`);
    assert.deepEqual(pod, ['new>settingUp', 'settingUp>ready']);
    const eth0 = r.json.events.filter((e) => e.interface === 'eth0').map((e) => e.to);
    assert.deepEqual(eth0, ['capturing.running', 'stripping.running', 'plumbing.running', 'isolating.running', 'serving.running', 'ready']);
  });

  await t.test('GET /v1/pods/{id}/cloud-init in each format equals what setupPod returned', async () => {
    const v1 = await http(sock, `/v1/pods/${podId}/cloud-init?format=v1`);
    assert.equal(v1.status, 200);
    assert.equal(v1.body, net.cloudInit.networkConfigV1Yaml);
    const v2 = await http(sock, `/v1/pods/${podId}/cloud-init?format=v2`);
    assert.equal(v2.body, net.cloudInit.networkConfigV2Yaml);
    assert.equal((await http(sock, `/v1/pods/${podId}/cloud-init`)).body, net.cloudInit.networkConfigV2Yaml, 'v2 is the default');
    const nd = await httpJson(sock, `/v1/pods/${podId}/cloud-init?format=network-data`);
    assert.deepEqual(nd.json, net.cloudInit.networkData);
    const bad = await httpJson(sock, `/v1/pods/${podId}/cloud-init?format=v9`);
    assert.equal(bad.status, 400);
    assert.match(bad.json.error, /v1, v2, network-data/);
  });

  await t.test('GET /v1/machines/{name}: JSON, mermaid, dot; unknown names 404', async () => {
    const names = await httpJson(sock, '/v1/machines');
    assert.deepEqual(names.json, { machines: ['veth', 'sriov', 'pod'] });
    for (const m of ['veth', 'sriov', 'pod']) {
      const j = await httpJson<{ name: string; mermaid: string; dot: string }>(sock, `/v1/machines/${m}`);
      assert.equal(j.status, 200);
      assert.ok(j.json.mermaid.startsWith('stateDiagram-v2\n'));
      assert.ok(j.json.dot.startsWith(`digraph "${m}" {`));
      assert.equal((await http(sock, `/v1/machines/${m}?format=mermaid`)).body, j.json.mermaid);
      const dot = await http(sock, `/v1/machines/${m}?format=dot`);
      assert.equal(dot.body, j.json.dot);
      assert.match(String(dot.headers['content-type']), /graphviz/);
    }
    const nope = await httpJson(sock, '/v1/machines/nope');
    assert.equal(nope.status, 404);
    assert.equal(nope.json.path, '/v1/machines/nope');
    assert.equal((await httpJson(sock, '/v1/machines/veth?format=png')).status, 400);
  });

  await t.test('GET /metrics: valid exposition with the pod counted', async () => {
    const r = await http(sock, '/metrics');
    assert.equal(r.status, 200);
    assert.match(String(r.headers['content-type']), /^text\/plain; version=0\.0\.4/);
    for (const line of r.body.trimEnd().split('\n')) {
      // Prometheus names: [a-zA-Z_:][a-zA-Z0-9_:]* (netlet_dhcp6_... has a digit).
      assert.match(line, /^(# (HELP|TYPE) [a-z_][a-z0-9_]* .+|[a-z_][a-z0-9_]*(\{[a-z_]+="[^"]*"(,[a-z_]+="[^"]*")*\})? [0-9.e+-]+|[a-z_][a-z0-9_]*\{.*\} \+Inf)$/, line);
    }
    assert.match(r.body, /^netlet_pods\{phase="ready"\} 1$/m);
    assert.match(r.body, /^netlet_interfaces\{kind="tap",state="ready"\} 1$/m);
    assert.match(r.body, /^netlet_pod_setup_duration_seconds_count 1$/m);
    assert.match(r.body, /^netlet_pod_setup_duration_seconds_bucket\{le="\+Inf"\} 1$/m);
    assert.match(r.body, /^netlet_dhcp_worker_restarts_total 0$/m);
  });

  await t.test('unknown paths 404 with {error, path}; writes 405', async () => {
    for (const p of ['/', '/v2/pods', '/v1/pods/x/y/z', '/metrics/extra', '/v1/podsx']) {
      const r = await httpJson(sock, p);
      assert.equal(r.status, 404, p);
      assert.equal(r.json.path, p);
      assert.equal(typeof r.json.error, 'string');
    }
    for (const m of ['POST', 'DELETE', 'PUT', 'PATCH']) {
      const r = await httpJson(sock, `/v1/pods/${podId}`, m, m === 'DELETE' ? undefined : {});
      assert.equal(r.status, 405, m);
      assert.match(r.json.error, /read-only/);
    }
    assert.equal(rt!.getPod(podId)?.phase, 'ready', 'nothing changed the pod');
  });

  await t.test('a non-root user cannot connect (EACCES from the socket mode)', async () => {
    const code = `const s=require('net').connect(${JSON.stringify(sock)});s.on('connect',()=>{console.log('CONNECTED');process.exit(0)});s.on('error',e=>{console.log(e.code);process.exit(0)})`;
    const out = await new Promise<string>((resolve, reject) => {
      const c = spawn(process.execPath, ['-e', code], { uid: 65534, gid: 65534, cwd: '/', stdio: ['ignore', 'pipe', 'pipe'] });
      rig.children.push(c);
      let o = '';
      c.stdout.on('data', (d: Buffer) => (o += d.toString()));
      c.stderr.on('data', (d: Buffer) => (o += d.toString()));
      c.on('error', reject);
      c.on('close', () => resolve(o.trim()));
    });
    assert.equal(out, 'EACCES');
  });

  await t.test('garbage, half requests and abrupt disconnects leave it serving', async () => {
    const raw = (data: string | Buffer, wait: boolean): Promise<string> =>
      new Promise((resolve) => {
        const s = connect(sock);
        let got = '';
        s.on('data', (d: Buffer) => (got += d.toString()));
        s.on('error', () => undefined);
        s.on('connect', () => {
          s.write(data);
          if (!wait) {
            s.destroy();
            resolve('');
          }
        });
        s.on('close', () => resolve(got));
        if (wait) setTimeout(() => s.destroy(), 3000);
      });
    const garbage = await raw('\x00\x01\x02 not http at all\r\n\r\n', true);
    assert.match(garbage, /^HTTP\/1\.1 400 /);
    await raw(Buffer.from(Array.from({ length: 4096 }, (_, i) => i % 256)), true);
    await raw('GET /v1/pods HTTP/1.1\r\nHost: x\r\nContent-Le', false);
    await raw('GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n', false);
    await raw(`GET /v1/pods/${'%'.repeat(3)} HTTP/1.1\r\nHost: x\r\n\r\n`, true).then((r) => assert.match(r, /^HTTP\/1\.1 400 /));
    const r = await httpJson(sock, '/v1/pods');
    assert.equal(r.status, 200);
    assert.equal(r.json.pods[0].phase, 'ready');
  });

  await t.test('50 concurrent clients all get answers', async () => {
    const paths = ['/v1/pods', `/v1/pods/${podId}`, `/v1/pods/${podId}/events`, '/metrics', '/v1/machines/veth'];
    const replies = await Promise.all(Array.from({ length: 50 }, (_, i) => http(sock, paths[i % paths.length]!)));
    assert.deepEqual(replies.map((r) => r.status), Array(50).fill(200));
  });

  await t.test('/v1/health counts pods without reading anti-spoofing counters (an nft read per interface)', async () => {
    const seen: unknown[] = [];
    const spy = { ...rt!, listPods: (o?: { counters?: boolean }) => (seen.push(o), rt!.listPods(o)) };
    const path = join(rig.runDir, 'spy.sock');
    const s = await startDebugServer(spy, path);
    try {
      const r = await httpJson(path, '/v1/health');
      assert.equal(r.json.pods, 1);
      assert.deepEqual(seen, [{ counters: false }]);
      const pods = await httpJson(path, '/v1/pods');
      assert.deepEqual(seen, [{ counters: false }], '/v1/pods reads them off the event loop (readPods)');
      assert.deepEqual(pods.json.pods, rt!.listPods(), 'the same statuses as listPods, counters included');
    } finally {
      await s.close();
    }
  });

  await t.test('a second server refuses a live socket; a stale one is replaced; a non-socket is kept', async () => {
    await assert.rejects(startDebugServer(rt!, sock), (e: { code?: string }) => e.code === 'SOCKET_IN_USE');
    assert.equal((await http(sock, '/v1/health')).status, 200, 'the first server still serves');
    // A stale socket file: its server was SIGKILLed.
    const stale = join(rig.runDir, 'stale.sock');
    const child = spawn(process.execPath, ['-e', `require('net').createServer().listen(${JSON.stringify(stale)},()=>console.log('up'))`], { stdio: ['ignore', 'pipe', 'inherit'] });
    rig.children.push(child);
    await new Promise((r) => child.stdout.once('data', r));
    child.kill('SIGKILL');
    await new Promise((r) => child.once('exit', r));
    assert.ok(existsSync(stale));
    const s2 = await startDebugServer(rt!, stale);
    assert.equal((await http(stale, '/v1/health')).status, 200);
    await s2.close();
    assert.ok(!existsSync(stale), 'close removes the socket file');
    const file = join(rig.runDir, 'plain-file');
    writeFileSync(file, 'keep me');
    await assert.rejects(startDebugServer(rt!, file), /not a socket/);
    assert.ok(existsSync(file));
  });

  await t.test('runtime close stops the server and removes the socket', async () => {
    await rt!.teardownPod(podId);
    await until('no pods', async () => ((await httpJson(sock, '/v1/pods')).json.pods.length === 0 ? true : undefined));
    await rt!.close();
    rt = undefined;
    assert.ok(!existsSync(sock));
  });
});
