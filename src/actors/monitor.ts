// Supervision of ready pods: lost TAPs/bridges are re-plumbed (LINK_LOST), a lost veth fails
// its interface (VETH_LOST), a pod whose netns vanished is torn down, anti-spoofing drops are
// logged. Each ready pod's links are watched (netlink link events, from its first tick on): a
// deletion checks that pod at once; a dump every LINK_DUMP_EVERY_TICKS ticks catches what
// events could miss (a pod without a watch: every tick). A tick still running (its link dumps
// wait behind other pods' deletions) skips the next.
import { existsSync } from 'node:fs';
import type { Pod } from './pod.js';

/** A watched pod's links are dumped every this many ticks anyway (30 s at the default 2 s): netlink drops events when a socket's buffer overruns. */
export const LINK_DUMP_EVERY_TICKS = 15;

/** Checks the ready pods in `pods` every `intervalMs` (0: never, and no link watch); `teardown` for a pod whose netns is gone. */
export function startMonitor(pods: ReadonlyMap<string, Pod>, intervalMs: number, teardown: (podId: string) => void): { stop(): Promise<void> } | undefined {
  if (intervalMs <= 0) return undefined;
  let checking: Promise<void> | undefined;
  let stopped = false;
  let tick = 0;
  const dumpedAt = new WeakMap<Pod, number>();
  // One link check of a pod at a time; news during one runs another after it (the dump may predate it).
  const linkChecks = new Map<Pod, { again: boolean; done: Promise<void> }>();

  async function checkPods(): Promise<void> {
    tick++;
    for (const pod of pods.values()) {
      if (stopped) return;
      if (pod.phase !== 'ready' && pod.phase !== 'degraded') continue;
      try {
        if (!existsSync(pod.request.netnsPath)) {
          pod.log.warn('pod netns vanished: tearing the pod down');
          teardown(pod.podId);
          continue;
        }
        const watch = pod.watchLinks(() => void checkLinks(pod));
        if (watch !== 'watching' || tick - (dumpedAt.get(pod) ?? 0) >= LINK_DUMP_EVERY_TICKS) await checkLinks(pod);
        await pod.watchSpoofing();
      } catch (e) {
        pod.log.warn({ err: (e as Error).message }, 'pod check failed');
      }
    }
  }

  function checkLinks(pod: Pod): Promise<void> {
    const running = linkChecks.get(pod);
    if (running) {
      running.again = true;
      return running.done;
    }
    const c = { again: true, done: Promise.resolve() };
    c.done = (async () => {
      try {
        while (c.again && !stopped) {
          c.again = false;
          dumpedAt.set(pod, tick);
          await checkLinksOnce(pod);
        }
      } catch (e) {
        pod.log.warn({ err: (e as Error).message }, 'pod check failed');
      } finally {
        linkChecks.delete(pod);
      }
    })();
    linkChecks.set(pod, c);
    return c.done;
  }

  async function checkLinksOnce(pod: Pod): Promise<void> {
    if (pod.phase !== 'ready' && pod.phase !== 'degraded') return;
    const names = await pod.linkNames();
    const states = new Map(pod.status(false).interfaces.map((i) => [i.name, i.state]));
    for (const l of pod.vethLinks()) {
      if (states.get(l.iface) !== 'ready') continue;
      if (!names.has(l.iface)) pod.notify(l.iface, { type: 'VETH_LOST' });
      else if (!names.has(l.tap) || !names.has(l.bridge)) pod.notify(l.iface, { type: 'LINK_LOST', link: names.has(l.tap) ? l.bridge : l.tap });
    }
  }

  const timer = setInterval(() => {
    if (checking) return;
    checking = checkPods().finally(() => (checking = undefined));
  }, intervalMs);
  timer.unref();
  return {
    // Resolves once no check is left running: the runtime stops its pods only after.
    async stop() {
      stopped = true;
      clearInterval(timer);
      await checking;
      await Promise.all([...linkChecks.values()].map((c) => c.done));
    },
  };
}
