// Soak: setupPod + teardownPod of a two-interface pod, 1000 times in one runtime, its monitor
// ticking every 10 ms and the pod ready for 15 ms a cycle (each pod watched, its links dumped
// and its counters read, as a node's monitor does over a pod's life). Every
// 100 cycles: RSS, JS heap, open fds, threads and the pod netns's links. Flat is the goal:
// the slope (least squares, per 1000 cycles) says whether anything grows. Also checks that
// the pod netns reads the same as before the first cycle. Run: `make soak` (root).
import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { createRuntime } from '../src/actors/runtime.js';

interface Sample { cycle: number; rssMiB: number; heapMiB: number; fds: number; threads: number; links: number }

const threads = (): number => Number(/Threads:\s+(\d+)/.exec(readFileSync('/proc/self/status', 'utf8'))?.[1] ?? 0);

/** Least-squares slope of y over x. */
function slope(xs: number[], ys: number[]): number {
  const n = xs.length;
  const mx = xs.reduce((a, b) => a + b, 0) / n;
  const my = ys.reduce((a, b) => a + b, 0) / n;
  const num = xs.reduce((a, x, i) => a + (x - mx) * (ys[i]! - my), 0);
  const den = xs.reduce((a, x) => a + (x - mx) ** 2, 0);
  return den === 0 ? 0 : num / den;
}

/** What a user sees of the netns (links, addresses, routes of every table, rules), as text, once IPv6 DAD is done. */
async function view(ns: string): Promise<string> {
  for (let i = 0; i < 200 && execFileSync('ip', ['-n', ns, 'addr'], { encoding: 'utf8' }).includes('tentative'); i++) await new Promise((r) => setTimeout(r, 50));
  return ['link', 'addr', '-4 route show table all', '-6 route show table all', '-4 rule', '-6 rule']
    .map((a) => execFileSync('ip', ['-n', ns, ...a.split(' ')], { encoding: 'utf8' }).replace(/ expires \d+sec/g, '').replace(/valid_lft \S+ preferred_lft \S+/g, ''))
    .join('\n');
}

export async function runSoak(opts: { cycles?: number; every?: number; log?: (s: string) => void } = {}): Promise<{ samples: Sample[]; perThousand: Record<string, number>; sameNetns: boolean }> {
  const cycles = opts.cycles ?? 1000;
  const every = opts.every ?? 100;
  const log = opts.log ?? ((): void => undefined);
  const ns = `sk${randomBytes(2).toString('hex')}`;
  const dir = mkdtempSync(join(tmpdir(), 'netlet-soak-'));
  execFileSync('ip', ['netns', 'add', ns]);
  try {
    const lines = ['link set lo up'];
    for (const k of [0, 1]) lines.push(`link add eth${k} type veth peer name peer${k}`, `addr add 10.${70 + k}.0.2/24 dev eth${k}`, `link set eth${k} up`, `link set peer${k} up`);
    lines.push('route add default via 10.70.0.1', 'route append default via 10.71.0.1 dev eth1');
    execFileSync('ip', ['-n', ns, '-batch', '-'], { input: lines.join('\n') });
    const links = JSON.parse(execFileSync('ip', ['-j', '-n', ns, 'link'], { encoding: 'utf8' })) as { ifname: string; address: string }[];
    const result = [0, 1].map((k) => ({
      cniVersion: '1.0.0',
      interfaces: [{ name: `eth${k}`, mac: links.find((l) => l.ifname === `eth${k}`)!.address, sandbox: `/run/netns/${ns}` }],
      ips: [{ interface: 0, address: `10.${70 + k}.0.2/24`, gateway: `10.${70 + k}.0.1` }],
      routes: [{ dst: '0.0.0.0/0', gw: `10.${70 + k}.0.1` }],
    }));
    const before = await view(ns);
    const rt = await createRuntime({ stateDir: join(dir, 'state'), runDir: join(dir, 'run'), debugSocket: false, monitorIntervalMs: 10, logger: pino({ level: 'error' }) });
    const samples: Sample[] = [];
    try {
      for (let c = 1; c <= cycles; c++) {
        const net = await rt.setupPod({ podId: 'soak', netnsPath: `/run/netns/${ns}`, cniResult: result });
        net.interfaces.forEach((i) => i.kind === 'tap' && i.fds.forEach((fd) => closeSync(fd)));
        await new Promise((r) => setTimeout(r, 15));
        await rt.teardownPod('soak');
        if (c % every === 0) {
          global.gc?.();
          const m = process.memoryUsage();
          const s: Sample = {
            cycle: c,
            rssMiB: m.rss / 2 ** 20,
            heapMiB: m.heapUsed / 2 ** 20,
            fds: readdirSync('/proc/self/fd').length,
            threads: threads(),
            links: (JSON.parse(execFileSync('ip', ['-j', '-n', ns, 'link'], { encoding: 'utf8' })) as unknown[]).length,
          };
          samples.push(s);
          log(`cycle ${c}: RSS ${s.rssMiB.toFixed(1)} MiB, heap ${s.heapMiB.toFixed(1)} MiB, fds ${s.fds}, threads ${s.threads}, links ${s.links}`);
        }
      }
    } finally {
      await rt.close();
    }
    const xs = samples.map((s) => s.cycle);
    const perThousand = Object.fromEntries((['rssMiB', 'heapMiB', 'fds', 'threads', 'links'] as const).map((k) => [k, slope(xs, samples.map((s) => s[k])) * 1000]));
    return { samples, perThousand, sameNetns: (await view(ns)) === before };
  } finally {
    spawnSync('ip', ['netns', 'del', ns]);
    rmSync(dir, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const cycles = process.argv.includes('--cycles') ? Number(process.argv[process.argv.indexOf('--cycles') + 1]) : 1000;
  const r = await runSoak({ cycles, every: Math.max(1, Math.floor(cycles / 10)), log: (s) => console.log(s) });
  console.log('\nslope per 1000 cycles, least squares over the samples:');
  for (const [k, v] of Object.entries(r.perThousand)) console.log(`  ${k.padEnd(8)} ${v >= 0 ? '+' : ''}${v.toFixed(3)}`);
  console.log(`pod netns as before the first cycle: ${r.sameNetns ? 'yes' : 'NO'}`);
  if (!r.sameNetns) process.exitCode = 1;
}
