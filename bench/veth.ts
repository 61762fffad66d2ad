// VethInterface setup/teardown cost: the machine with real io (rtnetlink + nft) against one
// `ip -n POD -batch -` process doing the same kernel operations, for a 1-veth and a 4-veth
// pod; medians of N runs. DHCP start is measured apart (the first one starts a worker thread).
// Run: node dist/bench/veth.js [--runs 20] [--out dist/bench/veth.json]   (root)
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import { createActor, waitFor } from 'xstate';
import { provideVeth } from '../src/actors/veth-wiring.js';
import { configFromPlan } from '../src/dhcp/config.js';
import { DhcpPool } from '../src/io/dhcp-pool.js';
import { Rtnl } from '../src/io/rtnl.js';
import { randomLocalMac, vethKernelIo } from '../src/io/veth.js';
import type { VethIo, VethSettings } from '../src/machines/veth-contract.js';
import { bridgeAddressFor, bridgeMacFor, interfaceNames } from '../src/model/names.js';
import { emptyDns } from '../src/model/plan.js';

export interface VethBenchOptions {
  runs?: number;
  sizes?: number[];
  /** JSON output path; none to skip. */
  out?: string;
  log?: (line: string) => void;
}

export interface VethBenchRow {
  veths: number;
  runs: number;
  /** Medians in ms. */
  machineSetup: number;
  machineTeardown: number;
  /** Of the machine's setup/teardown: time in each io call (medians of per-run sums). */
  steps: Record<string, number>;
  ipBatchSetup: number;
  ipBatchTeardown: number;
  setupRatio: number;
  teardownRatio: number;
  /** setup without capture and nft (strip + plumb) vs ip -batch: the same kernel operations. */
  kernelSetupRatio: number;
  /** teardown without nft (unplumb + restore) vs ip -batch. */
  kernelTeardownRatio: number;
}

export interface VethBenchResult {
  date: string;
  kernel: string;
  node: string;
  rows: VethBenchRow[];
  dhcp: { firstServeMs: number; warmServeMs: number; stopMs: number };
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};
const r2 = (x: number): number => Math.round(x * 100) / 100;
const ip = (...args: string[]): string => execFileSync('ip', args, { encoding: 'utf8' });

interface Pod {
  name: string;
  node: string;
  path: string;
  veths: { ifName: string; mac: string; address: string; gateway: string; settings: VethSettings }[];
}

/** A pod netns with n veths (peers in a node netns), each with an address, a route via a gateway and an on-link one; eth0 the default route. */
function makePod(tag: string, n: number): Pod {
  const name = `${tag}-pod${n}`;
  const node = `${tag}-node${n}`;
  ip('netns', 'add', name);
  ip('netns', 'add', node);
  ip('-n', name, 'link', 'set', 'lo', 'up');
  const veths: Pod['veths'] = [];
  for (let i = 0; i < n; i++) {
    const ifName = `eth${i}`;
    ip('-n', node, 'link', 'add', `${tag}h${i}`, 'type', 'veth', 'peer', 'name', ifName, 'netns', name);
    ip('-n', node, 'link', 'set', `${tag}h${i}`, 'up');
    const address = `10.${70 + i}.0.5`;
    const gateway = `10.${70 + i}.0.1`;
    ip('-n', name, 'addr', 'add', `${address}/24`, 'brd', '+', 'dev', ifName);
    ip('-n', name, 'link', 'set', ifName, 'up');
    if (i === 0) ip('-n', name, 'route', 'add', 'default', 'via', gateway, 'dev', ifName);
    ip('-n', name, 'route', 'add', `172.${16 + i}.0.0/16`, 'via', gateway, 'dev', ifName);
    ip('-n', name, 'route', 'add', `192.0.2.${i * 16}/28`, 'dev', ifName);
    const mac = (JSON.parse(ip('-j', '-n', name, 'link', 'show', ifName)) as { address: string }[])[0]!.address;
    const settings: VethSettings = {
      ...interfaceNames(ifName), bridgeAddress: bridgeAddressFor(i), bridgeMac: bridgeMacFor(name, ifName), vmMac: mac, vmAddress: address, queues: 1,
    };
    veths.push({ ifName, mac, address, gateway, settings });
  }
  return { name, node, path: `/run/netns/${name}`, veths };
}

/** The same kernel operations as strip + plumb (capture and nft excluded), and their reverse. */
function batchScripts(pod: Pod): { setup: string; teardown: string } {
  const up: string[] = [];
  const down: string[] = [];
  for (const v of pod.veths) {
    const s = v.settings;
    const i = Number(v.ifName.slice(3));
    if (i === 0) up.push(`route del default via ${v.gateway} dev ${v.ifName}`);
    up.push(
      `route del 172.${16 + i}.0.0/16 via ${v.gateway} dev ${v.ifName}`,
      `route del 192.0.2.${i * 16}/28 dev ${v.ifName}`,
      `addr del ${v.address}/24 dev ${v.ifName}`,
      `link set dev ${v.ifName} address ${randomLocalMac()}`,
      `link add ${s.bridge} type bridge ageing_time 0 forward_delay 0`,
      `link set dev ${s.bridge} address ${s.bridgeMac}`,
      `tuntap add dev ${s.tap} mode tap vnet_hdr`,
      `link set dev ${v.ifName} master ${s.bridge}`,
      `link set dev ${s.tap} master ${s.bridge}`,
      `link set dev ${s.bridge} up`,
      `link set dev ${s.tap} up`,
      `link set dev ${v.ifName} up`,
      `addr add ${s.bridgeAddress}/32 dev ${s.bridge}`,
      `route add ${v.address}/32 dev ${s.bridge} src ${s.bridgeAddress}`,
      `neigh replace ${v.address} lladdr ${s.vmMac} dev ${s.bridge} nud permanent`,
    );
    down.push(
      `link del ${s.tap}`,
      `link del ${s.bridge}`,
      `link set dev ${v.ifName} address ${v.mac}`,
      `addr add ${v.address}/24 brd + dev ${v.ifName}`,
      `route add 192.0.2.${i * 16}/28 dev ${v.ifName}`,
      `route add 172.${16 + i}.0.0/16 via ${v.gateway} dev ${v.ifName}`,
    );
    if (i === 0) down.push(`route add default via ${v.gateway} dev ${v.ifName}`);
  }
  return { setup: `${up.join('\n')}\n`, teardown: `${down.join('\n')}\n` };
}

async function ipBatch(pod: Pod, script: string): Promise<number> {
  const t0 = performance.now();
  await new Promise<void>((resolve, reject) => {
    const p = spawn('ip', ['-n', pod.name, '-batch', '-'], { stdio: ['pipe', 'ignore', 'pipe'] });
    let err = '';
    p.stderr.on('data', (d: Buffer) => (err += d.toString()));
    p.once('error', reject);
    p.once('close', (code) => (code === 0 ? resolve() : reject(new Error(`ip -batch failed: ${err}`))));
    p.stdin.end(script);
  });
  return performance.now() - t0;
}

/** Links, IPv4 addresses and routes: the bench checks both methods leave the pod as they found it. */
const state = (pod: Pod): string[] => [
  ip('-j', '-n', pod.name, 'link'),
  ip('-j', '-n', pod.name, '-4', 'addr'),
  ip('-j', '-n', pod.name, 'route', 'show', 'table', 'all'),
];
function assertSame(pod: Pod, clean: string[], who: string): void {
  const now = state(pod);
  const i = now.findIndex((x, k) => x !== clean[k]);
  if (i >= 0) throw new Error(`${who} did not restore the pod (${['links', 'addresses', 'routes'][i]}):\n${clean[i]}\n${now[i]}`);
}

/** The real kernel io with each call timed into `acc`; DHCP a no-op (measured apart). */
function timedIo(rt: Rtnl, acc: Record<string, number>): VethIo {
  const base: VethIo = { ...vethKernelIo(rt), startDhcp: async () => undefined, stopDhcp: async () => undefined };
  const out = {} as Record<string, unknown>;
  for (const [k, fn] of Object.entries(base) as [string, (r: unknown) => Promise<unknown>][]) {
    out[k] = async (req: unknown) => {
      const t0 = performance.now();
      try {
        return await fn(req);
      } finally {
        acc[k] = (acc[k] ?? 0) + performance.now() - t0;
      }
    };
  }
  return out as unknown as VethIo;
}

async function machineRun(pod: Pod, rt: Rtnl): Promise<{ setup: number; teardown: number; steps: Record<string, number> }> {
  const steps: Record<string, number> = {};
  const io = timedIo(rt, steps);
  const actors = pod.veths.map((v) => createActor(provideVeth(io), { input: { ifName: v.ifName, settings: v.settings } }));
  let t0 = performance.now();
  // A pod's interfaces are set up concurrently, as the runtime does.
  await Promise.all(actors.map(async (a) => {
    a.start();
    a.send({ type: 'START' });
    const s = await waitFor(a, (x) => x.matches('ready') || x.matches('failed'), { timeout: 10_000 });
    if (!s.matches('ready')) throw new Error(`setup failed: ${JSON.stringify(s.context.error)}`);
  }));
  const setup = performance.now() - t0;
  t0 = performance.now();
  await Promise.all(actors.map(async (a) => {
    a.send({ type: 'TEARDOWN' });
    const s = await waitFor(a, (x) => x.status === 'done' || x.matches('teardownFailed'), { timeout: 10_000 });
    if (s.status !== 'done') throw new Error(`teardown failed: ${JSON.stringify(s.context.undoError)}`);
  }));
  return { setup, teardown: performance.now() - t0, steps };
}

async function dhcpTimes(pod: Pod, rt: Rtnl): Promise<VethBenchResult['dhcp']> {
  const v = pod.veths[0]!;
  const io = { ...vethKernelIo(rt) };
  const rec = await io.capture({ ifName: v.ifName });
  await io.strip({ record: rec });
  await io.plumb({ record: rec, settings: v.settings });
  const pool = new DhcpPool(1);
  const plan = { name: v.ifName, network: 'bench', mac: v.mac, ips: [{ address: v.address, prefixLength: 24, family: 4 as const, gateway: v.gateway }], routes: [{ dst: '0.0.0.0/0', family: 4 as const, gateway: v.gateway }], dns: emptyDns() };
  const req = { key: 'bench/eth0', netnsPath: pod.path, bridge: v.settings.bridge, config: configFromPlan(plan, undefined, { serverId: v.settings.bridgeAddress }) };
  try {
    let t0 = performance.now();
    await pool.serve(req);
    const firstServeMs = performance.now() - t0;
    const warm: number[] = [];
    const stops: number[] = [];
    for (let i = 0; i < 10; i++) {
      t0 = performance.now();
      await pool.stop(req.key);
      stops.push(performance.now() - t0);
      t0 = performance.now();
      await pool.serve(req);
      warm.push(performance.now() - t0);
    }
    await pool.stop(req.key);
    return { firstServeMs: r2(firstServeMs), warmServeMs: r2(median(warm)), stopMs: r2(median(stops)) };
  } finally {
    await pool.close();
    await io.unplumb({ settings: v.settings, ifName: v.ifName });
    await io.restore({ record: rec });
  }
}

export async function runVethBench(opts: VethBenchOptions = {}): Promise<VethBenchResult> {
  const runs = opts.runs ?? 20;
  const log = opts.log ?? ((l: string) => console.log(l));
  const tag = `nlb${randomBytes(2).toString('hex')}`;
  const rows: VethBenchRow[] = [];
  const made: string[] = [];
  let dhcp: VethBenchResult['dhcp'] | undefined;
  try {
    for (const n of opts.sizes ?? [1, 4]) {
      const pod = makePod(tag, n);
      made.push(pod.name, pod.node);
      const rt = Rtnl.open(pod.path);
      try {
        // IPv6 DAD on the new veths adds local routes when done: wait for it before the snapshot.
        for (let i = 0; i < 200 && ip('-n', pod.name, '-6', 'addr', 'show', 'tentative').trim(); i++) await new Promise((r) => setTimeout(r, 50));
        const clean = state(pod);
        const ms: { setup: number; teardown: number; steps: Record<string, number> }[] = [];
        // One warm-up run each (module loading, first nft spawn), not counted.
        for (let i = 0; i <= runs; i++) {
          const m = await machineRun(pod, rt);
          if (i > 0) ms.push(m);
        }
        assertSame(pod, clean, 'the machine');
        const { setup, teardown } = batchScripts(pod);
        const bs: number[] = [];
        const bt: number[] = [];
        for (let i = 0; i <= runs; i++) {
          const s = await ipBatch(pod, setup);
          const t = await ipBatch(pod, teardown);
          if (i > 0) {
            bs.push(s);
            bt.push(t);
          }
        }
        assertSame(pod, clean, 'the ip -batch scripts');
        const stepNames = [...new Set(ms.flatMap((m) => Object.keys(m.steps)))];
        const steps = Object.fromEntries(stepNames.map((k) => [k, r2(median(ms.map((m) => m.steps[k] ?? 0)))]));
        const kernelSetup = median(ms.map((m) => (m.steps.strip ?? 0) + (m.steps.plumb ?? 0)));
        const kernelTeardown = median(ms.map((m) => (m.steps.unplumb ?? 0) + (m.steps.restore ?? 0)));
        const row: VethBenchRow = {
          veths: n,
          runs,
          machineSetup: r2(median(ms.map((m) => m.setup))),
          machineTeardown: r2(median(ms.map((m) => m.teardown))),
          steps,
          ipBatchSetup: r2(median(bs)),
          ipBatchTeardown: r2(median(bt)),
          setupRatio: 0,
          teardownRatio: 0,
          kernelSetupRatio: r2(kernelSetup / median(bs)),
          kernelTeardownRatio: r2(kernelTeardown / median(bt)),
        };
        row.setupRatio = r2(row.machineSetup / row.ipBatchSetup);
        row.teardownRatio = r2(row.machineTeardown / row.ipBatchTeardown);
        rows.push(row);
        if (n === 1) dhcp = await dhcpTimes(pod, rt);
      } finally {
        rt.close();
      }
    }
  } finally {
    for (const n of made) spawnSync('ip', ['netns', 'del', n], { stdio: 'ignore' });
  }
  const result: VethBenchResult = {
    date: new Date().toISOString(),
    kernel: execFileSync('uname', ['-r'], { encoding: 'utf8' }).trim(),
    node: process.version,
    rows,
    dhcp: dhcp ?? { firstServeMs: NaN, warmServeMs: NaN, stopMs: NaN },
  };
  const pad = (s: string | number, w: number) => String(s).padStart(w);
  log(`VethInterface, median of ${runs} runs (ms); DHCP excluded; machine = capture + strip + plumb + nft + DHCP no-op`);
  log(`${'veths'.padEnd(6)}${pad('machine setup', 15)}${pad('ip -batch', 11)}${pad('ratio', 7)}${pad('strip+plumb*', 13)}${pad('ratio', 7)} |${pad('machine teardown', 18)}${pad('ip -batch', 11)}${pad('ratio', 7)}${pad('unplumb+restore*', 17)}${pad('ratio', 7)}`);
  for (const r of rows) {
    log(`${String(r.veths).padEnd(6)}${pad(r.machineSetup, 15)}${pad(r.ipBatchSetup, 11)}${pad(r.setupRatio, 7)}${pad(r2((r.steps.strip ?? 0) + (r.steps.plumb ?? 0)), 13)}${pad(r.kernelSetupRatio, 7)} |${pad(r.machineTeardown, 18)}${pad(r.ipBatchTeardown, 11)}${pad(r.teardownRatio, 7)}${pad(r2((r.steps.unplumb ?? 0) + (r.steps.restore ?? 0)), 17)}${pad(r.kernelTeardownRatio, 7)}`);
    log(`      * per io call, summed over the pod's veths (they run concurrently, so sums can exceed wall time): ${Object.entries(r.steps).map(([k, v]) => `${k} ${v}`).join(', ')}`);
  }
  log(`DHCP: first serve (starts the worker thread) ${result.dhcp.firstServeMs} ms; warm serve ${result.dhcp.warmServeMs} ms; stop ${result.dhcp.stopMs} ms`);
  if (opts.out) {
    mkdirSync(dirname(opts.out), { recursive: true });
    writeFileSync(opts.out, `${JSON.stringify(result, null, 2)}\n`);
    log(`written to ${opts.out}`);
  }
  return result;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const arg = (name: string): string | undefined => {
    const i = process.argv.indexOf(name);
    return i > 0 ? process.argv[i + 1] : undefined;
  };
  runVethBench({ runs: Number(arg('--runs') ?? 20), out: arg('--out') ?? 'dist/bench/veth.json' }).catch((e: unknown) => {
    console.error(e);
    process.exit(1);
  });
}
