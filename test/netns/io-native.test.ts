// The native addon in real network namespaces: sockets made inside a netns, device-bound
// UDP sockets that stay on their own bridge, TAPs and their fds (stdio and SCM_RIGHTS).
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { createSocket, type Socket } from 'node:dgram';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { native, AF_INET, SOCK_DGRAM } from '../../src/io/native.js';
import { NetnsHandle } from '../../src/io/netns.js';
import { parseAttrs } from '../../src/io/nlattr.js';
import { SysError } from '../../src/model/errors.js';
import { Topology, vethPair, waitUp } from '../support/netns.js';
import { assertNoNetnsLeft } from '../support/leaks.js';

const topo = new Topology();
after(() => {
  topo.destroy();
  assertNoNetnsLeft(topo.tag);
});

const adopt = (fd: number): Promise<Socket> =>
  new Promise((resolve, reject) => {
    const s = createSocket('udp4');
    s.once('error', reject);
    s.bind({ fd }, () => resolve(s));
  });

const nextMessage = (s: Socket, ms: number): Promise<Buffer | undefined> =>
  new Promise((resolve) => {
    const t = setTimeout(() => { s.off('message', on); resolve(undefined); }, ms);
    const on = (m: Buffer): void => { clearTimeout(t); resolve(m); };
    s.once('message', on);
  });

void test('socketIn makes the socket inside the target netns and the thread comes home', async () => {
  const pod = topo.ns('sock');
  const ns = NetnsHandle.open(pod.path);
  const homeIno = statSync('/proc/thread-self/ns/net').ino;
  // Receiver on the pod's loopback; a sender made by socketIn reaches it over 127.0.0.1.
  const rx = await adopt(native.udpBound(ns.fd, 'lo', 0));
  const port = rx.address().port;
  const tx = await adopt(native.socketIn(ns.fd, AF_INET, SOCK_DGRAM, 0));
  assert.equal(statSync('/proc/thread-self/ns/net').ino, homeIno, 'thread is back in its own netns');
  const got = nextMessage(rx, 2000);
  tx.send('hello-from-pod', port, '127.0.0.1');
  assert.equal((await got)?.toString(), 'hello-from-pod');
  // The receiver's port is not bound in our own netns (it lives in the pod's).
  const probe = createSocket('udp4');
  await new Promise<void>((r) => probe.bind(port, '127.0.0.1', () => r()));
  probe.close();
  tx.close();
  rx.close();
  ns.close();
});

void test('the addon loads and works in a worker thread (context-aware)', async () => {
  const pod = topo.ns('wrk');
  const src = `
    const { parentPort, workerData } = require('node:worker_threads');
    const { openSync, closeSync } = require('node:fs');
    const addon = require(workerData.addon);
    const fd = openSync(workerData.ns, 'r');
    const s = addon.udpBound(fd, 'lo', 0);
    closeSync(s); closeSync(fd);
    parentPort.postMessage('ok');`;
  const w = new Worker(src, { eval: true, workerData: { ns: pod.path, addon: join(process.cwd(), 'build/Release/netlet_native.node') } });
  const msg = await new Promise((resolve, reject) => { w.once('message', resolve); w.once('error', reject); });
  assert.equal(msg, 'ok');
  await w.terminate();
});

void test('errors carry errno names and the syscall', () => {
  const pod = topo.ns('err');
  const ns = NetnsHandle.open(pod.path);
  assert.throws(() => native.udpBound(ns.fd, 'nosuchdev0', 67), (e: unknown) =>
    e instanceof SysError && e.errno === 'ENODEV' && e.syscall === 'setsockopt(SO_BINDTODEVICE)');
  assert.throws(() => native.setns(987654), (e: unknown) => e instanceof SysError && e.errno === 'EBADF' && e.syscall === 'setns');
  assert.throws(() => NetnsHandle.open('/run/netns/definitely-not-here'), (e: unknown) => e instanceof SysError && e.errno === 'ENOENT');
  assert.throws(() => native.openTap(ns.fd, 'x'.repeat(20), {}), TypeError);
  ns.close();
});

void test('nftRunAsync runs nft in the target netns off the main thread; the libuv pool comes home; errors are SysErrors', async () => {
  const pod = topo.ns('nfta');
  const ns = NetnsHandle.open(pod.path);
  try {
    const ticks: number[] = [];
    const timer = setInterval(() => ticks.push(Date.now()), 1);
    const added = await native.nftRunAsync(ns.fd, 'add table bridge nfta_t');
    assert.ok(added.ok, added.error);
    assert.match(pod.exec('nft', ['list', 'tables']), /table bridge nfta_t/);
    assert.doesNotMatch(spawnSync('nft', ['list', 'tables'], { encoding: 'utf8' }).stdout, /nfta_t/, 'not in the test\'s own netns');
    // Deleting waits for an RCU grace period: the event loop keeps ticking meanwhile.
    const deleted = await Promise.all(Array.from({ length: 4 }, (_, i) => native.nftRunAsync(ns.fd, i === 0 ? 'delete table bridge nfta_t' : 'list tables')));
    clearInterval(timer);
    assert.ok(deleted[0]!.ok, deleted[0]!.error);
    assert.doesNotMatch(pod.exec('nft', ['list', 'tables']), /nfta_t/);
    assert.ok(ticks.length > 0, 'timers ran while nft worked');
    const bad = await native.nftRunAsync(ns.fd, 'delete table bridge nfta_none');
    assert.equal(bad.ok, false);
    assert.match(bad.error, /No such file or directory/);
    // A job gets its own dup of the netns fd at the call: a bad fd fails there.
    await assert.rejects(native.nftRunAsync(987654, 'list tables'), (e: unknown) => e instanceof SysError && e.errno === 'EBADF' && e.syscall === 'dup(netns fd)');
    // Every pool thread is back in the test's netns: async fs reads run on the same pool,
    // and /proc/thread-self/net/dev lists the links of the reading thread's netns.
    const names = (t: string): string => t.split('\n').slice(2).map((l) => l.split(':')[0]!.trim()).filter(Boolean).sort().join(',');
    const home = names(readFileSync('/proc/thread-self/net/dev', 'utf8'));
    const onPool = await Promise.all(Array.from({ length: 16 }, () => readFile('/proc/thread-self/net/dev', 'utf8')));
    assert.deepEqual(onPool.map(names), onPool.map(() => home));
  } finally {
    ns.close();
  }
});

void test('nftRunAsync runs on threads of its own: it completes while every libuv pool thread is blocked, and many at once all land', async () => {
  const pod = topo.ns('nftp');
  const ns = NetnsHandle.open(pod.path);
  const dir = mkdtempSync(join(tmpdir(), 'nftp-'));
  // Each read of a FIFO with no writer blocks one pool thread in open(): more reads than the pool has threads.
  const fifos = Array.from({ length: Number(process.env.UV_THREADPOOL_SIZE ?? 4) + 2 }, (_, i) => join(dir, `f${i}`));
  for (const f of fifos) assert.equal(spawnSync('mkfifo', [f]).status, 0);
  const reads = fifos.map((f) => readFile(f, 'utf8'));
  try {
    await new Promise((r) => setTimeout(r, 50));
    const within = <T>(p: Promise<T>, ms: number): Promise<T | 'timeout'> => Promise.race([p, new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), ms))]);
    // Tables added and deleted, more at once than the addon has threads: each its own outcome.
    const names = Array.from({ length: 10 }, (_, i) => `nftp_t${i}`);
    const added = await within(Promise.all(names.map((n) => native.nftRunAsync(ns.fd, `add table bridge ${n}`))), 10_000);
    assert.notEqual(added, 'timeout', 'nft waited for the blocked libuv pool');
    assert.ok((added as { ok: boolean }[]).every((r) => r.ok));
    const listed = pod.exec('nft', ['list', 'tables']);
    for (const n of names) assert.match(listed, new RegExp(`table bridge ${n}\\b`));
    const deleted = await within(Promise.all(names.map((n, i) => native.nftRunAsync(ns.fd, i % 2 ? `delete table bridge ${n}` : `delete table bridge ${n}_absent`))), 10_000);
    assert.notEqual(deleted, 'timeout');
    assert.deepEqual((deleted as { ok: boolean }[]).map((r) => r.ok), names.map((_, i) => i % 2 === 1));
    const left = pod.exec('nft', ['list', 'tables']);
    names.forEach((n, i) => (i % 2 ? assert.doesNotMatch(left, new RegExp(`${n}\\b`)) : assert.match(left, new RegExp(`${n}\\b`))));
  } finally {
    // Writers release the blocked reads (open for writing succeeds now that readers wait).
    for (const f of fifos) closeSync(openSync(f, 'w'));
    assert.deepEqual(await Promise.all(reads), fifos.map(() => ''));
    rmSync(dir, { recursive: true, force: true });
    ns.close();
  }
});

void test('rtnlRequest runs in the netns its fd named at the call, though the fd is closed and its number reused before a pool thread takes it', async () => {
  const a = topo.ns('reuse-a');
  const b = topo.ns('reuse-b');
  a.ip('link', 'add', 'mark-a', 'type', 'bridge');
  b.ip('link', 'add', 'mark-b', 'type', 'bridge');
  const dir = mkdtempSync(join(tmpdir(), 'reuse-'));
  // Every libuv pool thread blocked (FIFO reads with no writer): the request waits in the queue.
  const fifos = Array.from({ length: Number(process.env.UV_THREADPOOL_SIZE ?? 4) + 2 }, (_, i) => join(dir, `f${i}`));
  for (const f of fifos) assert.equal(spawnSync('mkfifo', [f]).status, 0);
  const reads = fifos.map((f) => readFile(f, 'utf8'));
  // Writers release the blocked reads, once: a second writer would wait for a reader for ever.
  let released = false;
  const release = (): void => {
    if (released) return;
    released = true;
    for (const f of fifos) closeSync(openSync(f, 'w'));
  };
  let nsB: NetnsHandle | undefined;
  try {
    await new Promise((r) => setTimeout(r, 50));
    const nsA = NetnsHandle.open(a.path);
    const fdA = nsA.fd;
    // RTM_GETLINK dump: nlmsghdr (REQUEST | ACK | DUMP) and an empty ifinfomsg.
    const req = Buffer.alloc(32);
    req.writeUInt32LE(32, 0);
    req.writeUInt16LE(18, 4);
    req.writeUInt16LE(0x1 | 0x4 | 0x300, 6);
    req.writeUInt32LE(1, 8);
    const reply = native.rtnlRequest(fdA, req);
    nsA.close();
    nsB = NetnsHandle.open(b.path);
    assert.equal(nsB.fd, fdA, 'the closed number is taken by another netns');
    release();
    const bytes = await reply;
    const names: string[] = [];
    for (let off = 0; off + 16 <= bytes.length; ) {
      const len = bytes.readUInt32LE(off);
      if (len < 16) break;
      if (bytes.readUInt16LE(off + 4) === 16) {
        const name = parseAttrs(bytes.subarray(off + 32, off + len)).get(3);
        if (name) names.push(name.toString('latin1').replace(/\0.*$/, ''));
      }
      off += (len + 3) & ~3;
    }
    assert.ok(names.includes('mark-a'), names.join(','));
    assert.ok(!names.includes('mark-b'), names.join(','));
  } finally {
    release();
    await Promise.all(reads);
    rmSync(dir, { recursive: true, force: true });
    nsB?.close();
  }
});

void test('fds netlet keeps live above FD_SETSIZE: with 1200 sockets open libnftables (select()) still runs', () => {
  const pod = topo.ns('fdhigh');
  const ns = NetnsHandle.open(pod.path);
  const fds: number[] = [];
  try {
    assert.ok(ns.fd >= 1024, `the netns fd ${ns.fd} is above 1023`);
    // A node with a few hundred pods holds this many; below 1024 they would push nft's own
    // socket above FD_SETSIZE, and glibc aborts the process in select().
    for (let i = 0; i < 1200; i++) fds.push(native.socketIn(ns.fd, AF_INET, SOCK_DGRAM, 0));
    assert.ok(fds.every((fd) => fd >= 1024), 'sockets are renumbered high');
    const tap = native.openTap(ns.fd, 'fdhightap', { queues: 2 });
    fds.push(...tap);
    assert.ok(tap.every((fd) => fd >= 1024), 'TAP fds too');
    const r = native.nftRun(ns.fd, 'add table bridge fdhigh_t');
    assert.ok(r.ok, r.error);
    assert.match(pod.exec('nft', ['list', 'tables']), /fdhigh_t/);
  } finally {
    for (const fd of fds) closeSync(fd);
    ns.close();
  }
});

void test('device-bound UDP sockets: each bridge hears only its own broadcasts and sends only out of itself', async () => {
  const pod = topo.ns('pod');
  const cA = topo.ns('ca');
  const cB = topo.ns('cb');
  const brA = topo.name('bra');
  const brB = topo.name('brb');
  for (const [br, client, v, peer] of [[brA, cA, topo.name('va'), topo.name('pa')], [brB, cB, topo.name('vb'), topo.name('pb')]] as const) {
    pod.ip('link', 'add', br, 'type', 'bridge');
    pod.ip('link', 'set', br, 'up');
    vethPair(pod, v, client, peer);
    pod.ip('link', 'set', v, 'master', br);
  }
  await waitUp(pod, topo.name('va'));
  await waitUp(pod, topo.name('vb'));
  await waitUp(cA, topo.name('pa'));
  await waitUp(cB, topo.name('pb'));
  const podNs = NetnsHandle.open(pod.path);
  const aNs = NetnsHandle.open(cA.path);
  const bNs = NetnsHandle.open(cB.path);
  const srvA = await adopt(native.udpBound(podNs.fd, brA, 67));
  const srvB = await adopt(native.udpBound(podNs.fd, brB, 67));
  const cliA = await adopt(native.udpBound(aNs.fd, topo.name('pa'), 68));
  const cliB = await adopt(native.udpBound(bNs.fd, topo.name('pb'), 68));
  try {
    // Client A broadcasts (no address anywhere); only bridge A's socket hears it.
    // Links may drop the first broadcasts right after coming up: retry until heard.
    let heardA: Buffer | undefined;
    const heardB: Buffer[] = [];
    srvB.on('message', (m) => heardB.push(m));
    for (let i = 0; i < 20 && !heardA; i++) {
      const p = nextMessage(srvA, 200);
      cliA.send('from-A', 67, '255.255.255.255');
      heardA = await p;
    }
    assert.equal(heardA?.toString(), 'from-A');
    assert.deepEqual(heardB, [], 'bridge B heard A\'s broadcast');
    // Server A broadcasts a reply: client A hears it, client B does not.
    const heardByB: Buffer[] = [];
    cliB.on('message', (m) => heardByB.push(m));
    const gotA = nextMessage(cliA, 2000);
    srvA.send('reply-A', 68, '255.255.255.255');
    assert.equal((await gotA)?.toString(), 'reply-A');
    await new Promise((r) => setTimeout(r, 200));
    assert.deepEqual(heardByB, [], 'client B heard bridge A\'s broadcast');
  } finally {
    for (const s of [srvA, srvB, cliA, cliB]) s.close();
    for (const n of [podNs, aNs, bNs]) n.close();
  }
});

/** A child that reads one frame from fd 3 (or from an fd received over a unix socket). */
const readerScript = (mode: 'stdio' | 'unix', addonPath: string, sockPath?: string): string => `
  const fs = require('node:fs');
  // Reads frames until an ARP one (IPv6 router solicitations may come first).
  const read = (fd) => { const b = Buffer.alloc(2048); let n;
    for (let i = 0; i < 50; i++) { n = fs.readSync(fd, b, 0, 2048, null); if (b.readUInt16BE(12) === 0x0806) break; }
    process.stdout.write(JSON.stringify({ n, ethertype: b.readUInt16BE(12).toString(16), dst: b.subarray(0, 6).toString('hex') }) + '\\n'); };
  if (${JSON.stringify(mode)} === 'stdio') { process.stdout.write('ready\\n'); read(3); process.exit(0); }
  const addon = require(${JSON.stringify(addonPath)});
  const srv = require('node:net').createServer({ pauseOnConnect: true }, (c) => {
    let got;
    const poll = () => { try { got = addon.recvFds(c._handle.fd, 256, 4); } catch (e) { if (e.code === 'EAGAIN') return setTimeout(poll, 5); throw e; }
      const meta = JSON.parse(got.data.toString());
      process.stdout.write('got ' + meta.name + ' ' + got.fds.length + '\\n'); read(got.fds[0]); process.exit(0); };
    poll();
  });
  srv.listen(${JSON.stringify(sockPath ?? '')}, () => process.stdout.write('ready\\n'));`;

function runReader(args: { mode: 'stdio' | 'unix'; tapFd?: number; sockPath?: string }) {
  const addonPath = join(process.cwd(), 'build/Release/netlet_native.node');
  const stdio: ('pipe' | 'inherit' | 'ignore' | number)[] = ['ignore', 'pipe', 'inherit'];
  if (args.tapFd !== undefined) stdio.push(args.tapFd);
  const child = spawn(process.execPath, ['-e', readerScript(args.mode, addonPath, args.sockPath)], { stdio });
  const lines: string[] = [];
  let buf = '';
  const waiters: (() => void)[] = [];
  child.stdout!.on('data', (d: Buffer) => {
    buf += d.toString();
    const parts = buf.split('\n');
    buf = parts.pop()!;
    lines.push(...parts);
    waiters.splice(0).forEach((w) => w());
  });
  const line = async (pred: (l: string) => boolean, ms = 5000): Promise<string> => {
    const deadline = Date.now() + ms;
    for (;;) {
      const l = lines.find(pred);
      if (l) return l;
      if (Date.now() > deadline) throw new Error(`child said: ${lines.join(' | ')}`);
      await new Promise<void>((r) => { waiters.push(r); setTimeout(r, 100); });
    }
  };
  return { child, line };
}

void test('a TAP lives only in its netns and its fd carries frames to a child (stdio and SCM_RIGHTS)', async () => {
  const pod = topo.ns('tap');
  const ns = NetnsHandle.open(pod.path);
  const tap = topo.name('tap');
  const [fd] = native.openTap(ns.fd, tap, { persist: true });
  assert.ok(fd !== undefined);
  assert.ok(pod.links().includes(tap), 'TAP visible in the pod netns');
  assert.equal(pod.json('-d', 'link', 'show', tap)[0].linkinfo.info_kind, 'tun');
  // The test's own netns has no such link.
  assert.notEqual(spawnSync('ip', ['link', 'show', tap], { stdio: 'ignore' }).status, 0);
  pod.ip('addr', 'add', '10.77.0.1/24', 'dev', tap);
  pod.ip('link', 'set', tap, 'up');

  // 1) stdio: the child reads the ARP request the kernel sends out of the TAP.
  const r1 = runReader({ mode: 'stdio', tapFd: fd });
  await r1.line((l) => l === 'ready');
  closeSync(fd); // the child holds it now; the TAP is persistent
  const ping1 = spawn('ip', ['netns', 'exec', pod.name, 'ping', '-c', '3', '-i', '0.2', '-W', '1', '10.77.0.2'], { stdio: 'ignore' });
  const frame1 = JSON.parse(await r1.line((l) => l.startsWith('{')));
  assert.equal(frame1.ethertype, '806', 'an ARP frame came through the fd');
  assert.equal(frame1.dst, 'ffffffffffff');
  ping1.kill();
  await new Promise((r) => r1.child.once('exit', r));
  assert.ok(pod.links().includes(tap), 'a persistent TAP stays when its fds close');

  // 2) SCM_RIGHTS: reopen the TAP, send the fd over a unix socket with a payload.
  const [fd2] = native.openTap(ns.fd, tap, {});
  const dir = mkdtempSync(join(tmpdir(), 'netlet-scm-'));
  const sockPath = join(dir, 's');
  const r2 = runReader({ mode: 'unix', sockPath });
  await r2.line((l) => l === 'ready');
  const conn = connect(sockPath);
  await new Promise((r) => conn.once('connect', r));
  const sockFd = (conn as unknown as { _handle: { fd: number } })._handle.fd;
  native.sendFds(sockFd, [fd2!], Buffer.from(JSON.stringify({ name: tap })));
  await r2.line((l) => l === `got ${tap} 1`);
  closeSync(fd2!);
  const ping2 = spawn('ip', ['netns', 'exec', pod.name, 'ping', '-c', '3', '-i', '0.2', '-W', '1', '10.77.0.3'], { stdio: 'ignore' });
  const frame2 = JSON.parse(await r2.line((l) => l.startsWith('{')));
  assert.equal(frame2.ethertype, '806');
  ping2.kill();
  conn.destroy();
  await new Promise((r) => r2.child.once('exit', r));
  rmSync(dir, { recursive: true, force: true });

  // Multi-queue with vnet header: one fd per queue, flags visible to ip -d.
  const mq = topo.name('mq');
  const fds = native.openTap(ns.fd, mq, { queues: 2, vnetHdr: true });
  assert.equal(fds.length, 2);
  const info = pod.json('-d', 'link', 'show', mq)[0].linkinfo.info_data;
  assert.equal(info.multi_queue, true);
  assert.equal(info.vnet_hdr, true);
  assert.equal(info.pi, false);
  for (const f of fds) closeSync(f);
  assert.ok(!pod.links().includes(mq), 'a non-persistent TAP goes with its last fd');
  // Unpersist and close: the persistent TAP goes away.
  const [fd3] = native.openTap(ns.fd, tap, {});
  native.setTapPersist(fd3!, false);
  closeSync(fd3!);
  assert.ok(!pod.links().includes(tap));
  ns.close();
});

