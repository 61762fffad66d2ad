// The netlet runtime of the side-by-side benchmark, in a process of its own. The benchmark
// starts the shell scripts, the floor's `ip -batch` and the pods' netns with node's
// child_process, which forks: a fork turns every page of the forking process copy-on-write,
// and that process then pays a page fault on each page it next writes (measured: netlet's
// next nft apply 8.4–11 ms instead of 1.4–2; docs/performance.md). Here the runtime's process
// never forks, as in a VM runtime that starts CNI through netlet (src/io/spawn.ts).
// Requests come over IPC; each reply carries what was measured in this process.
import { closeSync } from 'node:fs';
import { getHeapSpaceStatistics } from 'node:v8';
import pino from 'pino';
import { createRuntime, type Runtime } from '../src/actors/runtime.js';

export type NetletRequest =
  | { op: 'start'; stateDir: string; runDir: string; monitor?: boolean }
  | { op: 'setup'; pods: { podId: string; netnsPath: string; cniResult: unknown }[] }
  | { op: 'teardown'; podIds: string[] }
  | { op: 'memory'; settle: boolean }
  | { op: 'youngGen' }
  | { op: 'cpu'; ms: number }
  | { op: 'stop' };

export type NetletReply = { ms?: number; memory?: NodeJS.MemoryUsage; youngGenMiB?: number; cpuPct?: number; error?: string };

let rt: Runtime | undefined;

// The fds setupPod returns are the VM's (QEMU holds them for the VM's life): closed outside
// the timing, as the floor and the shell open none.
const closeFds = (n: { interfaces: { kind: string; fds?: number[] }[] }): void => n.interfaces.forEach((i) => i.fds?.forEach((fd) => closeSync(fd)));

/**
 * The process's memory once V8 has settled: after a burst its young generation stays grown
 * until the heap's memory reducer runs on an idle process (seconds). Wait 1 s and GC until two
 * readings in a row are within 1% (3 s at least, 20 s at most): what a node running these pods shows.
 */
async function settledMemory(): Promise<NodeJS.MemoryUsage> {
  let last = process.memoryUsage();
  for (let i = 0; i < 20; i++) {
    // V8 shrinks the young generation in a GC that sees a low allocation rate: idle first.
    await new Promise((r) => setTimeout(r, 1000));
    global.gc?.();
    const now = process.memoryUsage();
    if (i >= 2 && Math.abs(now.rss - last.rss) <= last.rss * 0.01) return now;
    last = now;
  }
  return last;
}

async function handle(m: NetletRequest): Promise<NetletReply> {
  switch (m.op) {
    case 'start':
      // The monitor off unless asked for (then at its default): the timings are netlet's work alone.
      rt = await createRuntime({ stateDir: m.stateDir, runDir: m.runDir, debugSocket: false, ...(m.monitor ? {} : { monitorIntervalMs: 0 }), logger: pino({ level: 'error' }) });
      return {};
    case 'setup': {
      // One pod: its setup timed alone; several: all at once, one wall time.
      const t0 = performance.now();
      const nets = await Promise.all(m.pods.map((p) => rt!.setupPod(p)));
      const ms = performance.now() - t0;
      nets.forEach(closeFds);
      return { ms };
    }
    case 'teardown': {
      const t0 = performance.now();
      await Promise.all(m.podIds.map((id) => rt!.teardownPod(id)));
      return { ms: performance.now() - t0 };
    }
    case 'memory':
      if (!m.settle) global.gc?.();
      return { memory: m.settle ? await settledMemory() : process.memoryUsage() };
    case 'youngGen':
      // V8's new space (both semispaces): grows once a runtime has promoted enough, whatever the pods.
      return { youngGenMiB: (getHeapSpaceStatistics().find((x) => x.space_name === 'new_space')?.space_size ?? 0) / 2 ** 20 };
    case 'cpu': {
      // The whole process (every thread) over m.ms of rest: % of one core.
      const c0 = process.cpuUsage();
      await new Promise((r) => setTimeout(r, m.ms));
      const c = process.cpuUsage(c0);
      return { cpuPct: ((c.user + c.system) / 1000 / m.ms) * 100 };
    }
    case 'stop':
      await rt?.close();
      rt = undefined;
      setImmediate(() => process.disconnect?.());
      return {};
  }
}

process.on('message', (m: NetletRequest) => {
  handle(m).then(
    (r) => process.send!(r),
    (e: unknown) => process.send!({ error: e instanceof Error ? e.message : String(e) }),
  );
});
