// netlet next to what a user would script instead, on identical pods, in one run:
//   netlet      setupPod/teardownPod through the in-process API (given CNI results)
//   shell       per pod one bash script as a user writes it: one `ip` command per kernel
//               operation (strip, bridge, TAP, ports, address, route, neighbour), `nft -f`
//               (the same DHCP isolation), one dnsmasq
//   floor       per pod one `ip -batch` doing only the kernel work (no nft, no DHCP):
//               setup as above; teardown `ip link del group` (TAP and bridge in one
//               batch) plus the veth's address, route and MAC back; one at a time, an
//               empty `ip -batch` too: the part of the floor that is a process start
// N pods at once (concurrent) and one at a time (median; the three take turns, pod by pod,
// so the machine's slow minutes fall on all alike; the fds setupPod returns for the VM are
// closed outside the timing, as the others open none). netlet runs in a process of its own
// (bench/netlet-process.ts). Memory per pod: the runtime's RSS growth once V8 has settled
// (and right after the burst), its JS heap part, against dnsmasq's RSS; for a runtime's
// first burst and its second. CPU at rest: N ready pods for 6 s, a runtime with its monitor
// at the default (2 s) against the dnsmasq processes. Every variant gets fresh pods; making
// them is not timed.
import { execFile, fork, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isolationRuleset } from '../src/io/nft.js';
import type { NetletReply, NetletRequest } from './netlet-process.js';

export interface SideBySideRow { metric: string; netlet: number; shell: number; floor?: number; unit: string }
export interface SideBySideResult { pods: number[]; rows: SideBySideRow[] }

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? Number.NaN;
const run = (cmd: string, args: string[], input?: string): Promise<string> =>
  new Promise((resolve, reject) => {
    const c = execFile(cmd, args, (e, stdout) => (e ? reject(new Error(`${cmd} ${args.join(' ')}: ${e.message}`)) : resolve(stdout)));
    if (input !== undefined) c.stdin!.end(input);
  });

interface Pod { ns: string; mac: string; ip: string; gw: string; i: number }

async function makePods(tag: string, n: number, ifaces = 1): Promise<Pod[][]> {
  const pods: Pod[][] = [];
  await run('ip', ['-batch', '-'], Array.from({ length: n }, (_, i) => `netns add ${tag}-${i}`).join('\n'));
  for (let i = 0; i < n; i++) {
    const ns = `${tag}-${i}`;
    const lines = ['link set lo up'];
    const mine: Pod[] = [];
    for (let k = 0; k < ifaces; k++) {
      const ip = `10.${40 + k}.${Math.floor(i / 250)}.${(i % 250) + 2}`;
      const gw = `10.${40 + k}.${Math.floor(i / 250)}.1`;
      lines.push(`link add eth${k} type veth peer name peer${k}`, `addr add ${ip}/16 dev eth${k}`, `link set eth${k} up`, `link set peer${k} up`);
      if (k === 0) lines.push(`route add default via ${gw}`);
      mine.push({ ns, mac: '', ip, gw, i: k });
    }
    await run('ip', ['-n', ns, '-batch', '-'], lines.join('\n'));
    const links = JSON.parse(await run('ip', ['-j', '-n', ns, 'link'])) as { ifname: string; address: string }[];
    for (const p of mine) p.mac = links.find((l) => l.ifname === `eth${p.i}`)!.address;
    pods.push(mine);
  }
  return pods;
}

const dropPods = (tag: string, n: number): Promise<unknown> =>
  run('ip', ['-force', '-batch', '-'], Array.from({ length: n }, (_, i) => `netns del ${tag}-${i}`).join('\n')).catch(() => undefined);

const cniResult = (ifs: Pod[]): unknown[] => ifs.map((p) => ({
  cniVersion: '1.0.0',
  interfaces: [{ name: `eth${p.i}`, mac: p.mac, sandbox: `/run/netns/${p.ns}` }],
  ips: [{ interface: 0, address: `${p.ip}/16`, gateway: p.gw }],
  routes: p.i === 0 ? [{ dst: '0.0.0.0/0', gw: p.gw }] : [],
  dns: { nameservers: ['10.96.0.10'] },
}));

/** The kernel part of one interface's setup, as `ip -batch` lines. */
function kernelSetup(p: Pod): string[] {
  const br = `nb-eth${p.i}`;
  const tap = `nt-eth${p.i}`;
  const srv = `169.254.253.${p.i + 1}`;
  return [
    `addr flush dev eth${p.i}`, `link set eth${p.i} address 02:${randomBytes(5).toString('hex').match(/../g)!.join(':')}`,
    `link add ${br} group ${100 + p.i} type bridge ageing_time 0 forward_delay 0`, `tuntap add ${tap} mode tap vnet_hdr`, `link set ${tap} group ${100 + p.i}`,
    `link set eth${p.i} master ${br}`, `link set ${tap} master ${br}`, `link set ${br} up`, `link set ${tap} up`,
    `addr add ${srv}/32 dev ${br}`, `route add ${p.ip}/32 dev ${br} src ${srv}`, `neigh replace ${p.ip} lladdr ${p.mac} dev ${br} nud permanent`,
  ];
}

function kernelTeardown(p: Pod): string[] {
  return [`link del group ${100 + p.i}`, `link set eth${p.i} address ${p.mac}`, `addr add ${p.ip}/16 dev eth${p.i}`, ...(p.i === 0 ? [`route add default via ${p.gw}`] : [])];
}

function shellScripts(dir: string, ifs: Pod[]): { setup: string; teardown: string } {
  const ns = ifs[0]!.ns;
  const setup = ifs.flatMap(kernelSetup).map((l) => `ip -n ${ns} ${l}`);
  const teardown: string[] = [];
  for (const p of ifs) {
    const nft = join(dir, `${ns}-${p.i}.nft`);
    writeFileSync(nft, `add table bridge netlet_eth${p.i}\n${isolationRuleset({ table: `netlet_eth${p.i}`, bridge: `nb-eth${p.i}`, bridgeMac: '02:00:00:00:00:01', bridgeAddress: `169.254.253.${p.i + 1}`, tap: `nt-eth${p.i}`, veth: `eth${p.i}` })}`);
    const pid = join(dir, `${ns}-${p.i}.pid`);
    setup.push(`ip netns exec ${ns} nft -f ${nft}`,
      `ip netns exec ${ns} dnsmasq --conf-file=/dev/null --port=0 --interface=nb-eth${p.i} --bind-interfaces --except-interface=lo --pid-file=${pid} --dhcp-leasefile=${join(dir, `${ns}-${p.i}.leases`)} --dhcp-range=${p.ip},static,255.255.0.0,1h --dhcp-host=${p.mac},${p.ip} --dhcp-option=option:router,${p.gw}`);
    teardown.push(`kill $(cat ${pid})`, `ip netns exec ${ns} nft delete table bridge netlet_eth${p.i}`);
  }
  teardown.push(...ifs.flatMap(kernelTeardown).map((l) => `ip -n ${ns} ${l}`));
  return { setup: setup.join('\n'), teardown: teardown.join('\n') };
}

const rssKiB = (pid: number | string): number => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0);

interface Timings { setupMs: number[]; teardownMs: number[] }

/** The netlet runtime in a process of its own (bench/netlet-process.ts: why). */
class NetletProcess {
  private readonly child: ChildProcess;
  private queue: Promise<unknown> = Promise.resolve();

  constructor() {
    // --expose-gc: the memory readings collect first, as before.
    this.child = fork(fileURLToPath(new URL('./netlet-process.js', import.meta.url)), [], { execArgv: ['--expose-gc'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  }

  /** One request at a time, in order. */
  ask(m: NetletRequest): Promise<NetletReply> {
    const next = this.queue.then(() => new Promise<NetletReply>((resolve, reject) => {
      this.child.once('message', (r: NetletReply) => (r.error ? reject(new Error(`netlet process: ${r.error}`)) : resolve(r)));
      this.child.send(m);
    }));
    this.queue = next.catch(() => undefined);
    return next;
  }

  async stop(): Promise<void> {
    await this.ask({ op: 'stop' }).catch(() => undefined);
    this.child.kill();
  }
}

const podOf = (ifs: Pod[], podId: string) => ({ podId, netnsPath: `/run/netns/${ifs[0]!.ns}`, cniResult: cniResult(ifs) });

/** A netlet process with a runtime whose DHCP workers are both started (each setup while the pool is below its size, 2, starts one): they are the runtime's, not a pod's. */
async function warmNetlet(dir: string, pod: Pod[]): Promise<NetletProcess> {
  const n = new NetletProcess();
  await n.ask({ op: 'start', stateDir: join(dir, 'state'), runDir: join(dir, 'run') });
  for (const podId of ['warm1', 'warm2']) {
    await n.ask({ op: 'setup', pods: [podOf(pod, podId)] });
    await n.ask({ op: 'teardown', podIds: [podId] });
  }
  return n;
}

/**
 * When a fresh runtime's V8 young generation grows (16 → 32 MiB here): pods set up and torn
 * down one at a time until it has (100 at most; the pods take turns). It grows once enough has
 * survived its collections in all (V8's rule), so a runtime that has served a few dozen pods
 * one by one has it grown as much as one after a burst: a runtime's, not a pod's.
 */
async function youngGrowth(dir: string, pods: Pod[][]): Promise<{ freshMiB: number; grownMiB: number; atPod: number }> {
  const n = await warmNetlet(dir, pods[0]!);
  try {
    const freshMiB = (await n.ask({ op: 'youngGen' })).youngGenMiB!;
    for (let k = 0; k < 100; k++) {
      await n.ask({ op: 'setup', pods: [podOf(pods[k % pods.length]!, `y${k}`)] });
      await n.ask({ op: 'teardown', podIds: [`y${k}`] });
      const now = (await n.ask({ op: 'youngGen' })).youngGenMiB!;
      if (now > freshMiB) return { freshMiB, grownMiB: now, atPod: k + 1 };
    }
    return { freshMiB, grownMiB: freshMiB, atPod: Number.NaN };
  } finally {
    await n.stop();
  }
}

interface Memory { rssKiB: number; burstRssKiB: number; heapKiB: number }

/**
 * All pods at once (one wall time each way), twice in one runtime: memory per pod for each
 * burst. The first burst of a fresh runtime also grows V8's young generation (16 → 32 MiB,
 * once: docs/performance.md); the second shows what the pods hold in a runtime that has
 * lived through a burst, as a node's has. Timings: the second burst.
 */
async function netlet(dir: string, pods: Pod[][]): Promise<Timings & { first: Memory; warm: Memory }> {
  const n = await warmNetlet(dir, pods[0]!);
  const perPod = (a: number, b: number): number => (a - b) / 1024 / pods.length;
  const burst = async (): Promise<Timings & Memory> => {
    const m0 = (await n.ask({ op: 'memory', settle: true })).memory!;
    const setup = await n.ask({ op: 'setup', pods: pods.map((ifs, k) => podOf(ifs, `p${k}`)) });
    const after = (await n.ask({ op: 'memory', settle: false })).memory!;
    const m1 = (await n.ask({ op: 'memory', settle: true })).memory!;
    const teardown = await n.ask({ op: 'teardown', podIds: pods.map((_, k) => `p${k}`) });
    return { setupMs: [setup.ms!], teardownMs: [teardown.ms!], rssKiB: perPod(m1.rss, m0.rss), burstRssKiB: perPod(after.rss, m0.rss), heapKiB: perPod(m1.heapUsed, m0.heapUsed) };
  };
  try {
    // Teardown restores each netns exactly: the same pods serve the second burst.
    const first = await burst();
    const warm = await burst();
    return { setupMs: warm.setupMs, teardownMs: warm.teardownMs, first, warm };
  } finally {
    await n.stop();
  }
}

/**
 * Pods one at a time, the three in turn (netlet's k-th, the shell's, the floor's, then k+1):
 * the machine's slow minutes fall on all three alike. Who goes first turns with k: a link
 * deletion's RCU grace periods take longer or shorter after what ran just before.
 */
async function oneAtATime(dir: string, n: [Pod[][], Pod[][], Pod[][]]): Promise<[Timings, Timings, Timings, number[]]> {
  const [pn, ps, pf] = n;
  const nl = await warmNetlet(dir, pn[0]!);
  const scripts = ps.map((ifs) => shellScripts(dir, ifs));
  const out: [Timings, Timings, Timings, number[]] = [{ setupMs: [], teardownMs: [] }, { setupMs: [], teardownMs: [] }, { setupMs: [], teardownMs: [] }, []];
  const time = async (into: number[], f: () => Promise<unknown>): Promise<void> => {
    const t0 = performance.now();
    await f();
    into.push(performance.now() - t0);
  };
  try {
    const inTurn = async (k: number, steps: (() => Promise<void>)[]): Promise<void> => {
      for (let j = 0; j < steps.length; j++) await steps[(j + k) % steps.length]!();
    };
    for (const k of pn.keys()) {
      await inTurn(k, [
        async () => void out[0].setupMs.push((await nl.ask({ op: 'setup', pods: [podOf(pn[k]!, `p${k}`)] })).ms!),
        () => time(out[1].setupMs, () => run('bash', ['-e'], scripts[k]!.setup)),
        () => time(out[2].setupMs, () => batch(pf[k]!, kernelSetup)),
        // What of the floor is its process start: an empty batch in the same netns.
        () => time(out[3], () => batch(pf[k]!, () => [])),
      ]);
    }
    for (const k of pn.keys()) {
      await inTurn(k, [
        async () => void out[0].teardownMs.push((await nl.ask({ op: 'teardown', podIds: [`p${k}`] })).ms!),
        () => time(out[1].teardownMs, () => run('bash', ['-e'], scripts[k]!.teardown)),
        () => time(out[2].teardownMs, () => batch(pf[k]!, kernelTeardown)),
      ]);
    }
    return out;
  } finally {
    await nl.stop();
  }
}

/** `fns` all at once: one wall time. */
async function atOnce(fns: (() => Promise<unknown>)[]): Promise<number[]> {
  const t0 = performance.now();
  await Promise.all(fns.map((f) => f()));
  return [performance.now() - t0];
}

async function shell(dir: string, pods: Pod[][]): Promise<Timings & { rssKiB: number; restCpuPct: number }> {
  const scripts = pods.map((ifs) => shellScripts(dir, ifs));
  const setupMs = await atOnce(scripts.map((s) => () => run('bash', ['-e'], s.setup)));
  const pids = pods.flatMap((ifs) => ifs.map((p) => readFileSync(join(dir, `${p.ns}-${p.i}.pid`), 'utf8').trim()));
  const rss = pids.reduce((a, pid) => a + rssKiB(pid), 0);
  const ticks = (): number => pids.reduce((a, pid) => a + cpuTicks(pid), 0);
  const t0 = ticks();
  await sleep(REST_MS);
  const restCpuPct = ((ticks() - t0) * 10 / REST_MS) * 100;
  const teardownMs = await atOnce(scripts.map((s) => () => run('bash', ['-e'], s.teardown)));
  return { setupMs, teardownMs, rssKiB: rss / pods.length, restCpuPct };
}

/** How long the ready pods are left at rest to read CPU use (netlet: three monitor ticks). */
const REST_MS = 6000;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
/** utime + stime of a process, in clock ticks (10 ms here: USER_HZ 100). */
const cpuTicks = (pid: string): number => {
  const st = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = st.slice(st.lastIndexOf(')') + 2).split(' ');
  return Number(f[11]) + Number(f[12]);
};

/** The runtime as a node runs it, its monitor at the default: CPU at rest with the pods ready. */
async function atRest(dir: string, pods: Pod[][]): Promise<number> {
  const n = new NetletProcess();
  try {
    await n.ask({ op: 'start', stateDir: join(dir, 'state'), runDir: join(dir, 'run'), monitor: true });
    await n.ask({ op: 'setup', pods: pods.map((ifs, k) => podOf(ifs, `r${k}`)) });
    await sleep(2000);
    const { cpuPct } = await n.ask({ op: 'cpu', ms: REST_MS });
    await n.ask({ op: 'teardown', podIds: pods.map((_, k) => `r${k}`) });
    return cpuPct!;
  } finally {
    await n.stop();
  }
}

async function floor(pods: Pod[][]): Promise<Timings> {
  const setupMs = await atOnce(pods.map((ifs) => () => batch(ifs, kernelSetup)));
  const teardownMs = await atOnce(pods.map((ifs) => () => batch(ifs, kernelTeardown)));
  return { setupMs, teardownMs };
}

/** One `ip -batch` process for a pod's kernel work. */
const batch = (ifs: Pod[], lines: (p: Pod) => string[]): Promise<string> => run('ip', ['-n', ifs[0]!.ns, '-batch', '-'], ifs.flatMap(lines).join('\n'));

/** Runs fn on fresh pods (made and removed outside the timing). */
async function onPods<T>(n: number, ifaces: number, fn: (pods: Pod[][], dir: string) => Promise<T>): Promise<T> {
  const tag = `sb${randomBytes(2).toString('hex')}`;
  const dir = mkdtempSync(join(tmpdir(), 'netlet-sbs-'));
  try {
    return await fn(await makePods(tag, n, ifaces), dir);
  } finally {
    await dropPods(tag, n);
    rmSync(dir, { recursive: true, force: true });
  }
}

export async function runSideBySide(opts: { pods?: number[]; single?: number; log?: (s: string) => void } = {}): Promise<SideBySideResult> {
  const sizes = opts.pods ?? [50, 250];
  const single = opts.single ?? 15;
  const log = opts.log ?? ((): void => undefined);
  const rows: SideBySideRow[] = [];
  for (const ifaces of [1, 2]) {
    const what = `${ifaces} interface${ifaces > 1 ? 's' : ''}`;
    log(`one pod at a time (${what}), ${single} pods each`);
    const [a, b, c, empty] = await onPods(single, ifaces, (pn, dir) => onPods(single, ifaces, (ps) => onPods(single, ifaces, (pf) => oneAtATime(dir, [pn, ps, pf]))));
    rows.push(
      { metric: `setupPod, ${what} (median of ${single})`, netlet: median(a.setupMs), shell: median(b.setupMs), floor: median(c.setupMs), unit: 'ms' },
      // netlet starts no process: the kernel's part of the floor is the floor less an empty batch.
      { metric: '  the floor\'s process start (an empty batch)', netlet: Number.NaN, shell: Number.NaN, floor: median(empty), unit: 'ms' },
      { metric: `teardownPod, ${what} (median of ${single})`, netlet: median(a.teardownMs), shell: median(b.teardownMs), floor: median(c.teardownMs), unit: 'ms' },
    );
  }
  for (const count of sizes) {
    log(`${count} pods at once: netlet (two bursts), shell + dnsmasq, kernel floor`);
    const nl = await onPods(count, 1, (p, d) => netlet(d, p));
    const sh = await onPods(count, 1, (p, d) => shell(d, p));
    const fl = await onPods(count, 1, (p) => floor(p));
    const rest = await onPods(count, 1, (p, d) => atRest(d, p));
    const young = count === sizes[0] ? await onPods(count, 1, (p, d) => youngGrowth(d, p)) : undefined;
    rows.push(
      { metric: `${count} setupPods at once, wall`, netlet: nl.setupMs[0]!, shell: sh.setupMs[0]!, floor: fl.setupMs[0]!, unit: 'ms' },
      { metric: `${count} teardownPods at once, wall`, netlet: nl.teardownMs[0]!, shell: sh.teardownMs[0]!, floor: fl.teardownMs[0]!, unit: 'ms' },
      { metric: `memory per pod, ${count} pods (netlet: RSS growth)`, netlet: nl.warm.rssKiB, shell: sh.rssKiB, unit: 'KiB' },
      { metric: '  of which JS heap in use', netlet: nl.warm.heapKiB, shell: Number.NaN, unit: 'KiB' },
      { metric: '  right after the burst', netlet: nl.warm.burstRssKiB, shell: sh.rssKiB, unit: 'KiB' },
      // V8 grows its young generation for a fresh runtime's first burst and gives it back once idle, or not.
      { metric: '  first burst of a fresh runtime (settled)', netlet: nl.first.rssKiB, shell: sh.rssKiB, unit: 'KiB' },
      { metric: '  first burst, right after', netlet: nl.first.burstRssKiB, shell: sh.rssKiB, unit: 'KiB' },
      { metric: `CPU at rest, ${count} ready pods (monitor on)`, netlet: rest, shell: sh.restCpuPct, unit: '%' },
    );
    if (young) {
      rows.push(
        { metric: 'V8 young generation of a fresh runtime', netlet: young.freshMiB, shell: Number.NaN, unit: 'MiB' },
        { metric: `  after ${young.atPod} pods, one at a time`, netlet: young.grownMiB, shell: Number.NaN, unit: 'MiB' },
      );
    }
  }
  return { pods: sizes, rows };
}

export function printSideBySide(r: SideBySideResult, print: (s: string) => void): void {
  const f = (x: number | undefined): string => (x === undefined || Number.isNaN(x) ? '—' : x >= 100 ? x.toFixed(0) : x.toFixed(1));
  const ratio = (a: number, b: number | undefined): string => (b === undefined || !(b > 0) || Number.isNaN(a) ? '—' : `${(a / b).toFixed(2)}×`);
  print(`  ${'metric'.padEnd(48)} ${'netlet'.padStart(9)} ${'shell+dnsmasq'.padStart(14)} ${'floor'.padStart(9)} ${'n/shell'.padStart(8)} ${'n/floor'.padStart(8)}`);
  for (const row of r.rows) {
    print(`  ${row.metric.padEnd(48)} ${`${f(row.netlet)} ${row.unit}`.padStart(9)} ${`${f(row.shell)} ${row.unit}`.padStart(14)} ${(row.floor === undefined ? '—' : `${f(row.floor)} ${row.unit}`).padStart(9)} ${ratio(row.netlet, row.shell).padStart(8)} ${ratio(row.netlet, row.floor).padStart(8)}`);
  }
}
