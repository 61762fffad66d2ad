// The invoker against tiny fake plugins written by the test: env and stdin per the
// spec, prevResult chaining, DEL order, cache, error JSON, timeout, rollback, 1.1.0 GC/STATUS.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  CniPluginError,
  CniTimeoutError,
  addNetworkList,
  addNetworks,
  delNetworkList,
  delNetworks,
  gcNetworkList,
  listAttachments,
  parseNetworkConfig,
  statusNetworkList,
} from '../../src/cni/index.js';

// Logs each call (command, CNI_* env, stdin) as a JSON line; behaviour from the config.
const FAKE = `#!${process.execPath}
const fs = require('fs');
let input = '';
process.stdin.on('data', (d) => (input += d));
process.stdin.on('end', () => {
  const conf = JSON.parse(input);
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => k.startsWith('CNI_')));
  fs.appendFileSync(conf.log, JSON.stringify({ type: conf.type, env, conf }) + '\\n');
  const cmd = process.env.CNI_COMMAND;
  if (conf.failOn === cmd) {
    process.stdout.write(JSON.stringify({ code: 7, msg: 'fake failure', details: 'asked to fail on ' + cmd }));
    process.exit(1);
  }
  if (cmd === 'STATUS' && conf.notReady) {
    process.stdout.write(JSON.stringify({ cniVersion: conf.cniVersion, code: 50, msg: 'plugin not ready' }));
    process.exit(1);
  }
  if (cmd === 'ADD') {
    const r = conf.prevResult || { cniVersion: conf.cniVersion, interfaces: [{ name: process.env.CNI_IFNAME, mac: '02:00:00:00:00:01', sandbox: process.env.CNI_NETNS }], ips: [{ interface: 0, address: conf.addr, gateway: conf.gw }], routes: [{ dst: '0.0.0.0/0' }] };
    r.touchedBy = (r.touchedBy || []).concat(conf.type);
    process.stdout.write(JSON.stringify(r));
  }
});
`;

/** One logged plugin call. */
interface Call {
  type: string;
  env: Record<string, string>;
  conf: Record<string, any>;
}

interface Env {
  dir: string;
  bin: string;
  cache: string;
  conf: string;
  log: string;
  calls: () => Call[];
}

function setup(t: { after: (f: () => void) => void }, plugins: string[]): Env {
  const dir = mkdtempSync(join(tmpdir(), 'netlet-fake-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const bin = join(dir, 'bin');
  const conf = join(dir, 'net.d');
  mkdirSync(bin);
  mkdirSync(conf);
  for (const p of plugins) {
    writeFileSync(join(bin, p), FAKE);
    chmodSync(join(bin, p), 0o755);
  }
  const log = join(dir, 'calls.log');
  return {
    dir,
    bin,
    cache: join(dir, 'cache'),
    conf,
    log,
    calls: () => (existsSync(log) ? readFileSync(log, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Call) : []),
  };
}

const list = (e: Env, name: string, version: string, plugins: Record<string, unknown>[], extra: Record<string, unknown> = {}) =>
  parseNetworkConfig(JSON.stringify({ cniVersion: version, name, plugins: plugins.map((p) => ({ log: e.log, ...p })), ...extra }), `${name}.conflist`);

const rt = { containerId: 'pod1234', netns: '/run/netns/nonexistent-pod', ifName: 'eth0', args: [['K8S_POD_NAMESPACE', 'ns1'], ['K8S_POD_NAME', 'web-0'], ['K8S_POD_INFRA_CONTAINER_ID', 'pod1234']] as [string, string][] };

void test('ADD: CNI_* env, injected name/cniVersion, prevResult chain, runtimeConfig, cache; DEL reverse with cached prevResult', async (t) => {
  const e = setup(t, ['fa', 'fb']);
  const l = list(e, 'chain', '1.0.0', [{ type: 'fa', addr: '10.5.0.7/24', gw: '10.5.0.1', capabilities: { mac: true } }, { type: 'fb', name: 'ignored', cniVersion: '0.1.0' }]);
  const opts = { binDirs: [join(e.dir, 'missing'), e.bin], cacheDir: e.cache };
  const added = await addNetworkList(l, { ...rt, capabilityArgs: { mac: '02:00:00:00:00:99', ips: ['x'] } }, opts);
  assert.deepEqual(added.result.touchedBy, ['fa', 'fb']);
  assert.deepEqual(added.interfaces.map((i) => [i.name, i.ips[0]!.address, i.routes[0]!.gateway]), [['eth0', '10.5.0.7', '10.5.0.1']]);
  const [a, b] = e.calls() as [Call, Call];
  assert.deepEqual(a.env, {
    CNI_COMMAND: 'ADD',
    CNI_CONTAINERID: 'pod1234',
    CNI_NETNS: '/run/netns/nonexistent-pod',
    CNI_IFNAME: 'eth0',
    CNI_ARGS: 'IgnoreUnknown=1;K8S_POD_NAMESPACE=ns1;K8S_POD_NAME=web-0;K8S_POD_INFRA_CONTAINER_ID=pod1234',
    CNI_PATH: `${join(e.dir, 'missing')}:${e.bin}`,
  });
  assert.equal(a.conf.name, 'chain');
  assert.equal(a.conf.cniVersion, '1.0.0');
  assert.deepEqual(a.conf.runtimeConfig, { mac: '02:00:00:00:00:99' }, 'only declared capabilities');
  assert.equal(a.conf.prevResult, undefined);
  assert.equal(b.conf.name, 'chain', 'name injected from the list');
  assert.equal(b.conf.cniVersion, '1.0.0', 'cniVersion injected from the list');
  assert.deepEqual(b.conf.prevResult.touchedBy, ['fa']);
  assert.equal(b.conf.runtimeConfig, undefined);
  const cached = await listAttachments(e.cache, 'pod1234');
  assert.deepEqual(cached.map((c) => [c.network, c.ifName, c.result.touchedBy]), [['chain', 'eth0', ['fa', 'fb']]]);

  await delNetworkList(l, rt, opts);
  const dels = e.calls().slice(2);
  assert.deepEqual(dels.map((c) => [c.type, c.env.CNI_COMMAND]), [['fb', 'DEL'], ['fa', 'DEL']]);
  assert.deepEqual(dels[0]!.conf.prevResult.touchedBy, ['fa', 'fb'], 'DEL gets the cached result');
  assert.deepEqual(await listAttachments(e.cache, 'pod1234'), []);
  // A second DEL: no cache entry, plugins still called (without prevResult), no error.
  await delNetworkList(l, rt, opts);
  const again = e.calls().slice(4);
  assert.deepEqual(again.map((c) => [c.type, c.conf.prevResult as unknown]), [['fb', undefined], ['fa', undefined]]);
});

void test('0.3.x DEL gets no prevResult (it came with 0.4.0)', async (t) => {
  const e = setup(t, ['fa']);
  const l = list(e, 'old', '0.3.1', [{ type: 'fa', addr: '10.5.0.8/24' }]);
  await addNetworkList(l, rt, { binDirs: [e.bin], cacheDir: e.cache });
  await delNetworkList(l, rt, { binDirs: [e.bin], cacheDir: e.cache });
  assert.equal(e.calls()[1]!.conf.prevResult, undefined);
});

void test('a plugin error JSON becomes a CniPluginError; addNetworks rolls back everything already added', async (t) => {
  const e = setup(t, ['fa', 'fb']);
  writeFileSync(join(e.conf, '10-one.conflist'), JSON.stringify({ cniVersion: '1.0.0', name: 'one', plugins: [{ type: 'fa', log: e.log, addr: '10.6.0.2/24' }] }));
  writeFileSync(join(e.conf, '20-two.conflist'), JSON.stringify({ cniVersion: '1.0.0', name: 'two', plugins: [{ type: 'fa', log: e.log, addr: '10.7.0.2/24' }, { type: 'fb', log: e.log, failOn: 'ADD' }] }));
  await assert.rejects(
    addNetworks({ podId: 'p9', podName: 'n', podNamespace: 'ns', netnsPath: '/run/netns/x', annotations: { 'k8s.v1.cni.cncf.io/networks': 'two' }, defaultNetworks: ['one'], confDir: e.conf, binDirs: [e.bin], cacheDir: e.cache }),
    (err: unknown) => err instanceof CniPluginError && err.code === 'CNI_PLUGIN_FAILED' && err.pluginCode === 7 && err.msg === 'fake failure' && err.pluginDetails === 'asked to fail on ADD' && /fb ADD failed \(CNI error 7\)/.test(err.message),
  );
  const seq = e.calls().map((c) => `${c.conf.name}:${c.type}:${c.env.CNI_COMMAND}:${c.env.CNI_IFNAME}`);
  assert.deepEqual(seq, [
    'one:fa:ADD:eth0',
    'two:fa:ADD:eth1',
    'two:fb:ADD:eth1',
    'two:fb:DEL:eth1',
    'two:fa:DEL:eth1',
    'one:fa:DEL:eth0',
  ]);
  assert.deepEqual(await listAttachments(e.cache), [], 'nothing left in the cache');
});

void test('a hung plugin is killed with its children after the timeout', async (t) => {
  const e = setup(t, []);
  const pids = join(e.dir, 'pids');
  writeFileSync(join(e.bin, 'hang'), `#!/bin/sh\nsleep 30 &\necho "$$ $!" > ${pids}\nwait\n`);
  chmodSync(join(e.bin, 'hang'), 0o755);
  const l = list(e, 'slow', '1.0.0', [{ type: 'hang' }]);
  const t0 = Date.now();
  await assert.rejects(addNetworkList(l, rt, { binDirs: [e.bin], cacheDir: e.cache, timeoutMs: 300 }), (err: unknown) => err instanceof CniTimeoutError && err.code === 'CNI_PLUGIN_TIMEOUT' && /300 ms/.test(err.message));
  const took = Date.now() - t0;
  assert.ok(took < 2000, `took ${took} ms`);
  await new Promise((r) => setTimeout(r, 100));
  // Dead means gone or a zombie (an orphan waits for PID 1 to reap it).
  const state = (pid: number): string => (existsSync(`/proc/${pid}/stat`) ? readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]![0]! : 'gone');
  for (const pid of readFileSync(pids, 'utf8').trim().split(' ').map(Number)) {
    assert.ok(['gone', 'Z'].includes(state(pid)), `process ${pid} still alive (state ${state(pid)})`);
  }
});

void test('1.1.0 GC: stale cached attachments DELed, GC sent with cni.dev/valid-attachments from the cache; STATUS', async (t) => {
  const e = setup(t, ['fa', 'fb']);
  const l = list(e, 'gcnet', '1.1.0', [{ type: 'fa', addr: '10.8.0.2/24' }, { type: 'fb' }]);
  const opts = { binDirs: [e.bin], cacheDir: e.cache };
  await addNetworkList(l, { ...rt, containerId: 'keep1' }, opts);
  await addNetworkList(l, { ...rt, containerId: 'gone1' }, opts);
  const before = e.calls().length;
  const out = await gcNetworkList(l, { ...opts, validAttachments: [{ containerId: 'keep1', ifName: 'eth0' }] });
  assert.deepEqual(out.deleted, [{ network: 'gcnet', containerId: 'gone1', ifName: 'eth0' }]);
  assert.equal(out.sentGc, true);
  const calls = e.calls().slice(before);
  assert.deepEqual(calls.map((c) => `${c.type}:${c.env.CNI_COMMAND}`), ['fb:DEL', 'fa:DEL', 'fa:GC', 'fb:GC']);
  const gc = calls[2]!;
  assert.deepEqual(gc.env, { CNI_COMMAND: 'GC', CNI_PATH: e.bin }, 'GC carries no container env');
  assert.deepEqual(gc.conf['cni.dev/valid-attachments'], [{ containerID: 'keep1', ifname: 'eth0' }]);
  assert.equal(gc.conf.cniVersion, '1.1.0');
  assert.deepEqual((await listAttachments(e.cache)).map((a) => a.containerId), ['keep1']);

  assert.deepEqual(await statusNetworkList(l, opts), { asked: true });
  const st = e.calls().slice(-2);
  assert.deepEqual(st.map((c) => [c.type, c.env]), [['fa', { CNI_COMMAND: 'STATUS', CNI_PATH: e.bin }], ['fb', { CNI_COMMAND: 'STATUS', CNI_PATH: e.bin }]]);
  const notReady = list(e, 'gcnet', '1.1.0', [{ type: 'fa', notReady: true }]);
  await assert.rejects(statusNetworkList(notReady, opts), (err: unknown) => err instanceof CniPluginError && err.pluginCode === 50 && /not ready/.test(err.message));
  // Below 1.1.0 there is nothing to ask and no GC to send.
  const old = list(e, 'gcnet', '1.0.0', [{ type: 'fa', notReady: true }]);
  const n = e.calls().length;
  assert.deepEqual(await statusNetworkList(old, opts), { asked: false });
  assert.equal((await gcNetworkList(old, opts)).sentGc, false);
  assert.equal(e.calls().length, n);
});

void test('delNetworks is idempotent and uses the config recorded at ADD', async (t) => {
  const e = setup(t, ['fa']);
  writeFileSync(join(e.conf, '10-one.conf'), JSON.stringify({ cniVersion: '1.0.0', name: 'one', type: 'fa', log: e.log, addr: '10.9.0.2/24' }));
  const req = { podId: 'p7', podName: 'n', podNamespace: 'ns', netnsPath: '/run/netns/x', defaultNetworks: ['one'], confDir: e.conf, binDirs: [e.bin], cacheDir: e.cache };
  const added = await addNetworks(req);
  assert.deepEqual(added.attachments.map((a) => [a.network, a.ifName]), [['one', 'eth0']]);
  rmSync(join(e.conf, '10-one.conf')); // config gone: DEL still works from the cache
  assert.deepEqual((await delNetworks({ podId: 'p7', binDirs: [e.bin], cacheDir: e.cache })).deleted, [{ network: 'one', containerId: 'p7', ifName: 'eth0' }]);
  assert.deepEqual((await delNetworks({ podId: 'p7', binDirs: [e.bin], cacheDir: e.cache })).deleted, []);
  assert.equal(e.calls().filter((c) => c.env.CNI_COMMAND === 'DEL').length, 1);
});

void test('a real plugin refusing a 1.1.0 config: its error JSON parsed', async (t) => {
  const e = setup(t, []);
  const l = list(e, 'ahnet', '1.1.0', [{ type: 'bridge', bridge: 'nonexistent0', ipam: { type: 'host-local', subnet: '10.55.0.0/24', dataDir: join(e.dir, 'ipam') } }]);
  await assert.rejects(addNetworkList(l, rt, { cacheDir: e.cache }), (err: unknown) => err instanceof CniPluginError && err.pluginCode === 1 && err.msg === 'incompatible CNI versions' && /1\.1\.0/.test(err.pluginDetails ?? ''));
});
