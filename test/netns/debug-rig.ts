// Shared rig for the debug/control socket tests: a node netns with the real CNI bridge
// plugin (run through `ip netns exec`), a pod netns, a temp dir whose run dir others
// may traverse (so only the socket's own mode keeps them out), and small HTTP helpers.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import type { RuntimeOptions } from '../../src/actors/options.js';
import { Topology, type Netns } from '../support/netns.js';
import { assertNoNetnsLeft } from '../support/leaks.js';
import { discover } from '../support/dhcp-wire.js';

type AfterHook = { after: (f: () => void | Promise<void>) => void };

export interface DebugRig {
  topo: Topology;
  node: Netns;
  pod: Netns;
  dir: string;
  runDir: string;
  /** Runtime options using real CNI (bridge + host-local) for every pod. */
  options: RuntimeOptions;
  /** Children to kill at the end (daemons, clients). */
  children: ChildProcess[];
}

export function makeRig(t: AfterHook, opts: { subnet?: string } = {}): DebugRig {
  const topo = new Topology();
  const dir = mkdtempSync('/tmp/netlet-debug-');
  const children: ChildProcess[] = [];
  t.after(async () => {
    try {
      for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
      await Promise.all(children.map((c) => (c.exitCode === null && c.signalCode === null ? new Promise((r) => c.once('exit', r)) : Promise.resolve())));
    } finally {
      topo.destroy();
      rmSync(dir, { recursive: true, force: true });
      assertNoNetnsLeft(topo.tag);
    }
  });
  // Traversable by everyone: the non-root test must meet the socket's mode, not the dir's.
  chmodSync(dir, 0o755);
  const runDir = join(dir, 'run');
  mkdirSync(runDir, { mode: 0o755 });
  chmodSync(runDir, 0o755);
  const node = topo.ns('node');
  const pod = topo.ns('pod');
  const conf = join(dir, 'conf');
  mkdirSync(conf);
  const subnet = opts.subnet ?? '10.77.0';
  writeFileSync(join(conf, '10-dbg.conflist'), JSON.stringify({
    cniVersion: '1.0.0',
    name: 'dbgnet',
    plugins: [{
      type: 'bridge', bridge: topo.name('br'), isGateway: true, ipMasq: false, mtu: 1450,
      ipam: { type: 'host-local', dataDir: join(dir, 'ipam'), ranges: [[{ subnet: `${subnet}.0/24`, gateway: `${subnet}.1` }]], routes: [{ dst: '0.0.0.0/0' }] },
      dns: { nameservers: [`${subnet}.53`], search: ['dbg.svc.cluster.local'] },
    }],
  }));
  const options: RuntimeOptions = {
    stateDir: join(dir, 'state'),
    runDir,
    cni: { confDir: conf, cacheDir: join(dir, 'cache'), wrapper: ['ip', 'netns', 'exec', node.name], defaultNetworks: ['dbgnet'], timeoutMs: 20_000 },
    monitorIntervalMs: 0,
  };
  return { topo, node, pod, dir, runDir, options, children };
}

export interface HttpReply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

export function http(socketPath: string, path: string, method = 'GET', body?: string): Promise<HttpReply> {
  return new Promise((resolve, reject) => {
    const req = request({ socketPath, path, method, agent: false, headers: body ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } : {} }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

export async function httpJson<T = any>(socketPath: string, path: string, method = 'GET', body?: unknown): Promise<{ status: number; json: T }> {
  const r = await http(socketPath, path, method, body === undefined ? undefined : JSON.stringify(body));
  return { status: r.status, json: JSON.parse(r.body) as T };
}

/** An Ethernet/IPv4/UDP DHCPDISCOVER from `mac`, with the 10-byte virtio-net header a IFF_VNET_HDR TAP expects. */
export function discoverFrame(mac: string, xid: number): Buffer {
  const dhcp = Buffer.from(discover(mac, xid));
  const udp = Buffer.alloc(8);
  udp.writeUInt16BE(68, 0);
  udp.writeUInt16BE(67, 2);
  udp.writeUInt16BE(8 + dhcp.length, 4); // checksum 0: none (allowed over IPv4)
  const ip = Buffer.alloc(20);
  ip[0] = 0x45;
  ip.writeUInt16BE(20 + udp.length + dhcp.length, 2);
  ip[8] = 64;
  ip[9] = 17;
  Buffer.from([255, 255, 255, 255]).copy(ip, 16);
  let sum = 0;
  for (let i = 0; i < 20; i += 2) sum += ip.readUInt16BE(i);
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  ip.writeUInt16BE(~sum & 0xffff, 10);
  const eth = Buffer.alloc(14);
  Buffer.from([255, 255, 255, 255, 255, 255]).copy(eth, 0);
  Buffer.from(mac.split(':').map((h) => parseInt(h, 16))).copy(eth, 6);
  eth.writeUInt16BE(0x0800, 12);
  return Buffer.concat([Buffer.alloc(10), eth, ip, udp, dhcp]);
}

export const writeFrame = (fd: number, frame: Buffer): void => {
  assert.equal(writeSync(fd, frame), frame.length);
};

export async function until<T>(what: string, f: () => T | undefined | Promise<T | undefined>, ms = 10_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await f();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export const projectRoot = new URL('../../../', import.meta.url).pathname;
export const cliPath = join(projectRoot, 'dist/src/cli/main.js');

export interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the CLI as a child process (never a shell). */
export function runCli(args: string[], env: NodeJS.ProcessEnv = {}): Promise<CliRun> {
  return new Promise((resolve, reject) => {
    const c = spawn(process.execPath, [cliPath, ...args], { env: { ...process.env, NO_COLOR: '', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    c.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    c.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => c.kill('SIGKILL'), 30_000);
    c.on('error', reject);
    c.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}
