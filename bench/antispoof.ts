// What anti-spoofing costs: applying an interface's table with and without it (median of N,
// in process through libnftables), and per packet a ping flood from a "VM" netns through
// the pod bridge and the veth to the node, rules on vs off (alternating, median of R).
// Run: node dist/bench/antispoof.js [--applies 50] [--rounds 3] [--count 20000]   (root)
import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { openSync, closeSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import { applyIsolation, removeIsolation } from '../src/io/nft.js';
import type { IsolationRule } from '../src/io/nft-rules.js';

export interface AntiSpoofBenchOptions {
  applies?: number;
  rounds?: number;
  count?: number;
  log?: (line: string) => void;
}

export interface AntiSpoofBenchResult {
  /** Medians in ms of one applyIsolation. */
  applyWithout: number;
  applyWith: number;
  /** Ping flood: medians of the rounds. */
  flood: { count: number; off: { ms: number; rttAvgUs: number }; on: { ms: number; rttAvgUs: number }; ratio: number; rttRatio: number };
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const ipn = (ns: string, ...a: string[]): void => void execFileSync('ip', ['-n', ns, ...a]);

/** node (10.99.0.1) — veth — pod bridge — "TAP" (a veth named nt-eth0) — vm (10.99.0.5). */
function topology(tag: string): { names: string[]; pod: string; vm: string; node: string; vmMac: string } {
  const [node, pod, vm] = ['node', 'pod', 'vm'].map((s) => `${tag}-${s}`) as [string, string, string];
  for (const n of [node, pod, vm]) execFileSync('ip', ['netns', 'add', n]);
  const vmMac = '0a:58:0a:63:00:05';
  ipn(pod, 'link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', 'host0', 'netns', node);
  ipn(pod, 'link', 'add', 'nt-eth0', 'type', 'veth', 'peer', 'name', 'eth0', 'netns', vm);
  ipn(pod, 'link', 'add', 'nb-eth0', 'type', 'bridge', 'ageing_time', '0');
  for (const l of ['eth0', 'nt-eth0']) ipn(pod, 'link', 'set', l, 'master', 'nb-eth0', 'up');
  ipn(pod, 'link', 'set', 'nb-eth0', 'up');
  ipn(node, 'addr', 'add', '10.99.0.1/24', 'dev', 'host0');
  ipn(node, 'link', 'set', 'host0', 'up');
  ipn(vm, 'link', 'set', 'eth0', 'address', vmMac, 'up');
  ipn(vm, 'addr', 'add', '10.99.0.5/24', 'dev', 'eth0');
  return { names: [node, pod, vm], pod, vm, node, vmMac };
}

function flood(vm: string, count: number): { ms: number; rttAvgUs: number } {
  const r = spawnSync('ip', ['netns', 'exec', vm, 'ping', '-q', '-f', '-c', String(count), '10.99.0.1'], { encoding: 'utf8' });
  const time = /time (\d+)ms/.exec(r.stdout);
  const rtt = /= [\d.]+\/([\d.]+)\//.exec(r.stdout);
  const loss = /(\d+)% packet loss/.exec(r.stdout);
  if (!time || !rtt || loss?.[1] !== '0') throw new Error(`ping flood failed: ${r.stdout}${r.stderr}`);
  return { ms: Number(time[1]), rttAvgUs: Number(rtt[1]) * 1000 };
}

export async function runAntiSpoofBench(opts: AntiSpoofBenchOptions = {}): Promise<AntiSpoofBenchResult> {
  const log = opts.log ?? ((l: string) => console.log(l));
  const applies = opts.applies ?? 50;
  const rounds = opts.rounds ?? 3;
  const count = opts.count ?? 20000;
  const t = topology(`nas${randomBytes(2).toString('hex')}`);
  const fd = openSync(`/run/netns/${t.pod}`, 'r');
  try {
    const base: IsolationRule = { table: 'netlet_eth0', bridge: 'nb-eth0', bridgeMac: '02:11:22:33:44:55', bridgeAddress: '169.254.253.1', tap: 'nt-eth0', veth: 'eth0' };
    const on: IsolationRule = { ...base, antiSpoof: { mac: t.vmMac, ipv4: ['10.99.0.5'], ipv6: ['fd00:99::5'] } };
    // A fresh table each time, as a setup applies it (a re-apply over an existing one is cheaper).
    const time = async (r: IsolationRule): Promise<number> => {
      await removeIsolation(fd, base.table);
      const t0 = performance.now();
      await applyIsolation(fd, r);
      return performance.now() - t0;
    };
    const without: number[] = [];
    const withAs: number[] = [];
    for (let i = 0; i < applies; i++) {
      without.push(await time(base));
      withAs.push(await time(on));
    }
    const applyWithout = median(without);
    const applyWith = median(withAs);
    log(`  apply: without ${applyWithout.toFixed(2)} ms, with anti-spoofing ${applyWith.toFixed(2)} ms (median of ${applies})`);
    flood(t.vm, 200); // ARP and caches warm
    const offs: { ms: number; rttAvgUs: number }[] = [];
    const ons: { ms: number; rttAvgUs: number }[] = [];
    for (let i = 0; i < rounds; i++) {
      await applyIsolation(fd, base);
      offs.push(flood(t.vm, count));
      await applyIsolation(fd, on);
      ons.push(flood(t.vm, count));
    }
    const pick = (xs: { ms: number; rttAvgUs: number }[]): { ms: number; rttAvgUs: number } => ({ ms: median(xs.map((x) => x.ms)), rttAvgUs: median(xs.map((x) => x.rttAvgUs)) });
    const off = pick(offs);
    const onR = pick(ons);
    const res = { applyWithout, applyWith, flood: { count, off, on: onR, ratio: onR.ms / off.ms, rttRatio: onR.rttAvgUs / off.rttAvgUs } };
    log(`  ping -f -c ${count}: off ${off.ms} ms (rtt ${off.rttAvgUs.toFixed(0)} µs), on ${onR.ms} ms (rtt ${onR.rttAvgUs.toFixed(0)} µs): ${res.flood.ratio.toFixed(2)}× (rtt ${res.flood.rttRatio.toFixed(2)}×), median of ${rounds}`);
    return res;
  } finally {
    closeSync(fd);
    for (const n of t.names) spawnSync('ip', ['netns', 'del', n]);
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const arg = (name: string): number | undefined => {
    const i = process.argv.indexOf(name);
    return i > 0 ? Number(process.argv[i + 1]) : undefined;
  };
  const o: AntiSpoofBenchOptions = {};
  if (arg('--applies')) o.applies = arg('--applies')!;
  if (arg('--rounds')) o.rounds = arg('--rounds')!;
  if (arg('--count')) o.count = arg('--count')!;
  runAntiSpoofBench(o).then((r) => console.log(JSON.stringify(r)), (e: unknown) => {
    console.error(e);
    process.exitCode = 1;
  });
}
