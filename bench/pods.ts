// Scale benchmark: N pods set up concurrently through the in-process API, each with
// one CNI-like veth (given cniResult, so netlet's own work is measured). Reports wall
// time, RSS growth per pod, open fds and threads; proves every pod's DHCP server
// answers a DISCOVER written into its TAP as a VM would; tears all down and checks no
// netlet link is left.
import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { createRuntime } from '../src/actors/runtime.js';
import { MessageType, Opt } from '../src/dhcp/index.js';
import { dhcpFrame } from '../src/io/tap-frame.js';

export interface PodsBenchResult {
  pods: number;
  setupWallMs: number;
  setupPerPodMs: number;
  teardownWallMs: number;
  rssGrowthPerPodKiB: number;
  fdsBefore: number;
  fdsAtPeak: number;
  threadsAtPeak: number;
  dhcpAnswered: number;
  linksLeft: number;
}

const threads = (): number => Number(/Threads:\s+(\d+)/.exec(readFileSync('/proc/self/status', 'utf8'))?.[1] ?? 0);
const fds = (): number => readdirSync('/proc/self/fd').length;

export async function runPodsBench(opts: { pods?: number; log?: (s: string) => void } = {}): Promise<PodsBenchResult> {
  const n = opts.pods ?? 250;
  const log = opts.log ?? ((): void => undefined);
  const tag = `nb${randomBytes(2).toString('hex')}`;
  const dir = mkdtempSync(join(tmpdir(), 'netlet-bench-pods-'));
  const names = Array.from({ length: n }, (_, i) => `${tag}-p${i}`);
  const macs: string[] = [];
  const results: unknown[] = [];
  try {
    log(`creating ${n} pod netns with a veth each (ip -batch)`);
    execFileSync('ip', ['-batch', '-'], { input: names.map((ns) => `netns add ${ns}`).join('\n') });
    for (const [i, ns] of names.entries()) {
      const a = 10 + Math.floor(i / 250);
      const b = (i % 250) + 1;
      const lines = ['link set lo up', 'link add eth0 type veth peer name peer0', `addr add 10.${a}.${b}.2/24 dev eth0`,
        'link set eth0 up', 'link set peer0 up', `route add default via 10.${a}.${b}.1`];
      execFileSync('ip', ['-n', ns, '-batch', '-'], { input: lines.join('\n') });
    }
    for (const [i, ns] of names.entries()) {
      const link = JSON.parse(execFileSync('ip', ['-j', '-n', ns, 'link', 'show', 'eth0'], { encoding: 'utf8' }))[0] as { address: string };
      macs.push(link.address);
      const a = 10 + Math.floor(i / 250);
      const b = (i % 250) + 1;
      results.push({
        cniVersion: '1.0.0',
        interfaces: [{ name: 'eth0', mac: link.address, sandbox: `/run/netns/${ns}` }],
        ips: [{ interface: 0, address: `10.${a}.${b}.2/24`, gateway: `10.${a}.${b}.1` }],
        routes: [{ dst: '0.0.0.0/0', gw: `10.${a}.${b}.1` }],
        dns: { nameservers: ['10.96.0.10'], search: ['svc.cluster.local'] },
      });
    }
    const rt = await createRuntime({ stateDir: join(dir, 'state'), runDir: join(dir, 'run'), debugSocket: false, monitorIntervalMs: 0, logger: pino({ level: 'error' }) });
    global.gc?.();
    const rss0 = process.memoryUsage().rss;
    const fds0 = fds();
    log(`setting up ${n} pods concurrently`);
    const t0 = performance.now();
    const nets = await Promise.all(names.map((ns, i) => rt.setupPod({ podId: ns, netnsPath: `/run/netns/${ns}`, cniResult: results[i] })));
    const setupWallMs = performance.now() - t0;
    const fdsAtPeak = fds();
    const threadsAtPeak = threads();
    global.gc?.();
    const rss1 = process.memoryUsage().rss;

    log('writing a DHCP DISCOVER into every TAP (as its VM would)');
    for (const [i, net] of nets.entries()) {
      const tap = net.interfaces[0]!;
      if (tap.kind !== 'tap') continue;
      const mac = macs[i]!;
      const chaddr = new Uint8Array(16);
      mac.split(':').forEach((h, k) => (chaddr[k] = parseInt(h, 16)));
      const msg = {
        op: 1, htype: 1, hlen: 6, hops: 0, xid: i + 1, secs: 0, flags: 0, ciaddr: '0.0.0.0', yiaddr: '0.0.0.0', siaddr: '0.0.0.0', giaddr: '0.0.0.0',
        chaddr, sname: '', file: '', options: new Map<number, Uint8Array>([[Opt.MessageType, Uint8Array.of(MessageType.Discover)], [Opt.ParameterRequestList, Uint8Array.of(1, 3, 6, 15, 26, 121)]]),
      };
      writeSync(tap.fd, dhcpFrame(mac, msg, { vnetHdr: true }));
    }
    let dhcpAnswered = 0;
    for (let wait = 0; wait < 100; wait++) {
      await new Promise((r) => setTimeout(r, 100));
      dhcpAnswered = names.filter((ns) => (rt.getPod(ns)?.interfaces[0]?.dhcp?.counters.offered ?? 0) >= 1).length;
      if (dhcpAnswered === n) break;
    }
    for (const net of nets) for (const i of net.interfaces) if (i.kind === 'tap') i.fds.forEach((fd) => closeSync(fd));

    log(`tearing down ${n} pods concurrently`);
    const t1 = performance.now();
    await Promise.all(names.map((ns) => rt.teardownPod(ns)));
    const teardownWallMs = performance.now() - t1;
    await rt.close();
    let linksLeft = 0;
    for (const ns of names) {
      const links = JSON.parse(execFileSync('ip', ['-j', '-n', ns, 'link'], { encoding: 'utf8' })) as { ifname: string }[];
      linksLeft += links.filter((l) => l.ifname.startsWith('nb-') || l.ifname.startsWith('nt-')).length;
    }
    return {
      pods: n,
      setupWallMs,
      setupPerPodMs: setupWallMs / n,
      teardownWallMs,
      rssGrowthPerPodKiB: (rss1 - rss0) / 1024 / n,
      fdsBefore: fds0,
      fdsAtPeak,
      threadsAtPeak,
      dhcpAnswered,
      linksLeft,
    };
  } finally {
    spawnSync('ip', ['-batch', '-'], { input: names.map((ns) => `netns del ${ns}`).join('\n'), stdio: ['pipe', 'ignore', 'ignore'] });
    rmSync(dir, { recursive: true, force: true });
  }
}
