// The Runtime: the root of the actor system and the in-process API. Owns the DHCP
// pool, the state store and one Pod (PodSupervisor) per pod sandbox. Setup and
// teardown of one pod are serialised; different pods run in parallel.
import { existsSync, mkdirSync } from 'node:fs';
import pino, { type Logger } from 'pino';
import { NetletError } from '../model/errors.js';
import { delNetworks, gcNetworkList, listAttachments, loadNetworkConfigs } from '../cni/index.js';
import { DhcpPool } from '../io/dhcp-pool.js';
import { StateStore } from '../io/state-store.js';
import { createHostSriovIo } from '../io/sriov/index.js';
import { attachRequestSchema, cniExecOptions, runtimeOptionsSchema, setupRequestSchema, validate, type AttachInterfaceRequest, type ResolvedOptions, type RuntimeOptions, type SetupRequest } from './options.js';
import { Pod, type PodRecord, type PodRequest } from './pod.js';
import { startMonitor } from './monitor.js';
import type { PodEventRecord, PodInterface, PodNetwork, PodStatus } from './types.js';
import { renderCloudInit, type CloudInitNetwork } from '../cloudinit/index.js';
import { histogram, observe, type Histogram } from '../model/histogram.js';

export interface StatusOptions {
  /** Read each ready veth interface's anti-spoofing counters (default true). */
  counters?: boolean;
}

export interface Runtime {
  setupPod(req: SetupRequest): Promise<PodNetwork>;
  teardownPod(podId: string): Promise<void>;
  /**
   * Adds one interface to a ready pod: CNI ADD of `network` (a name in cni.confDir) or the
   * caller's raw result for it (`cniResult`, any accepted version). Resolves once DHCP
   * serves it; a failure undoes that interface only and rejects.
   */
  attachInterface(podId: string, req: AttachInterfaceRequest): Promise<PodInterface>;
  /** Removes one interface (DHCP stopped, veth restored or VF returned, CNI DEL if netlet ran ADD). Idempotent. */
  detachInterface(podId: string, ifName: string): Promise<void>;
  /** `counters: false`: without the anti-spoofing counters (each ready veth's is an nf_tables counters dump, ~0.03 ms). */
  getPod(podId: string, opts?: StatusOptions): PodStatus | undefined;
  listPods(opts?: StatusOptions): PodStatus[];
  /** getPod with the anti-spoofing counters read off the event loop (the debug socket's). */
  readPod(podId: string): Promise<PodStatus | undefined>;
  /** listPods with the anti-spoofing counters read off the event loop, all pods' at once. */
  readPods(): Promise<PodStatus[]>;
  /** Recent state transitions of a pod (bounded). */
  podEvents(podId: string): PodEventRecord[] | undefined;
  /** The pod's network again (fresh TAP fds), if it is ready. */
  getNetwork(podId: string): PodNetwork | undefined;
  /** The pod's cloud-init input, rendered from its plan (no fds opened). */
  cloudInit(podId: string): CloudInitNetwork | undefined;
  /** Runtime-wide counters for metrics. */
  stats(): RuntimeStats;
  close(): Promise<void>;
  readonly options: ResolvedOptions;
  readonly logger: Logger;
}

export interface RuntimeStats {
  workerRestarts: number;
  setupSeconds: Histogram;
  teardownSeconds: Histogram;
  errors: Record<string, number>;
  adopted: number;
  rolledBack: number;
}

/** A request whose cniResult came as JSON text, with it parsed (CNI_RESULT_INVALID if it is not JSON). */
function parsedResult<T>(req: T): T {
  const text = (req as { cniResult?: unknown } | undefined)?.cniResult;
  if (typeof text !== 'string') return req;
  try {
    return { ...req, cniResult: JSON.parse(text) as unknown };
  } catch (e) {
    throw new NetletError('CNI_RESULT_INVALID', `cniResult is a string but not JSON: ${(e as Error).message}`);
  }
}

/** The logger of a runtime given none: the program embedding netlet owns stdout, so only
 *  warnings and errors, on stderr, unless NETLET_LOG_LEVEL asks for more. */
export const defaultLogger = (): Logger => pino({ level: process.env.NETLET_LOG_LEVEL ?? 'warn' }, pino.destination(2));

/** The runtime alone; `createRuntime` from 'netlet' (src/debug/with-debug-socket.ts) adds
 *  the debug socket. `options.debugSocket` is validated here but not used. */
export async function createRuntime(options: RuntimeOptions): Promise<Runtime> {
  const opts = validate(runtimeOptionsSchema, options, 'runtime options');
  const log: Logger = (opts.logger as Logger | undefined) ?? defaultLogger();
  if (!opts.antiSpoofing) log.warn('anti-spoofing is off (antiSpoofing: false): VMs on TAP interfaces can send as any MAC or address, answer ARP/ND for others and act as routers or DHCP servers');
  mkdirSync(opts.runDir, { recursive: true, mode: 0o700 });
  const store = new StateStore(opts.stateDir);
  const pool = new DhcpPool(opts.dhcp.workers ?? 2, opts.dhcp.rateLimit === undefined ? {} : { rateLimit: opts.dhcp.rateLimit });
  let sriov: ReturnType<typeof createHostSriovIo> | undefined;
  const deps = { opts, store, pool, log, sriovIo: () => (sriov ??= createHostSriovIo({ sysRoot: opts.sysfsRoot, devRoot: opts.devRoot })) };
  const pods = new Map<string, Pod>();
  const locks = new Map<string, Promise<unknown>>();
  const stats: RuntimeStats = { workerRestarts: 0, setupSeconds: histogram(), teardownSeconds: histogram(), errors: {}, adopted: 0, rolledBack: 0 };
  let closed = false;

  const countError = (e: unknown): void => {
    const code = (e as { code?: string }).code ?? 'UNKNOWN';
    stats.errors[code] = (stats.errors[code] ?? 0) + 1;
  };

  /** Runs fn after every earlier operation on the same pod. */
  const serial = <T>(podId: string, fn: () => Promise<T>): Promise<T> => {
    const prev = locks.get(podId) ?? Promise.resolve();
    const next = prev.catch(() => undefined).then(fn);
    locks.set(podId, next);
    void next.finally(() => { if (locks.get(podId) === next) locks.delete(podId); }).catch(() => undefined);
    return next;
  };

  pool.on('restarted', ({ keys, cause }) => {
    stats.workerRestarts++;
    log.warn({ keys, cause }, 'DHCP worker replaced; its interfaces are served again');
  });
  /** A DHCP key is `<podId>/<ifname>`; a pod id may itself hold '/'. */
  const splitKey = (key: string): { podId: string; iface: string } =>
    ({ podId: key.slice(0, key.lastIndexOf('/')), iface: key.slice(key.lastIndexOf('/') + 1) });
  pool.on('lost', ({ key, cause }) => {
    const { podId, iface } = splitKey(key);
    pods.get(podId)?.notify(iface, { type: 'DHCP_LOST', reason: cause });
  });
  pool.on('log', ({ key, level, msg, fields }) => {
    const { podId, iface } = splitKey(key);
    (pods.get(podId)?.log ?? log.child({ podId }))[level]({ iface, ...fields }, msg);
  });

  // Adopt what a previous runtime left: ready pods are served again, the rest rolled back.
  for (const rec of store.all<PodRecord>()) {
    const l = log.child({ podId: rec.podId });
    if (!rec.resolved) {
      // Cut short during CNI ADD: release whatever the CNI cache holds for the pod.
      await delNetworks({ podId: rec.podId, netnsPath: rec.request.netnsPath, ...cniExecOptions(opts) }).catch((e: Error) => l.warn({ err: e.message }, 'CNI DEL after an interrupted ADD failed'));
      store.remove(rec.podId);
      stats.rolledBack++;
      l.info('CNI ADD interrupted by a restart: released');
      continue;
    }
    const pod = new Pod(deps, rec.request, rec);
    if (!existsSync(rec.request.netnsPath)) {
      l.warn({ netns: rec.request.netnsPath }, 'pod netns is gone: releasing what netlet held for it');
    }
    // attaching/detaching: the pod was ready; adoption undoes the attach or finishes the detach.
    if (['ready', 'degraded', 'attaching', 'detaching'].includes(rec.phase) && existsSync(rec.request.netnsPath)) {
      pods.set(rec.podId, pod);
      try {
        await pod.setup();
        stats.adopted++;
        l.info('adopted after restart');
      } catch (e) {
        countError(e);
        // An incomplete rollback keeps the pod (not done): teardownPod retries.
        if (pod.done) pods.delete(rec.podId);
        l.error({ err: (e as Error).message }, pod.done ? 'could not adopt; rolled back' : 'could not adopt; the rollback is incomplete, teardownPod retries');
      }
    } else {
      try {
        await pod.teardown();
        stats.rolledBack++;
        l.info({ phase: rec.phase }, 'half-done work of a previous runtime rolled back');
      } catch (e) {
        countError(e);
        pods.set(rec.podId, pod);
        l.error({ err: (e as Error).message }, 'could not finish the rollback; teardownPod retries');
      }
    }
  }

  // CNI 1.1.0 GC: attachments in the cache that belong to no pod netlet holds are released.
  if (opts.cni.confDir) {
    try {
      const valid = (await listAttachments(opts.cni.cacheDir)).filter((e) => pods.has(e.containerId)).map((e) => ({ containerId: e.containerId, ifName: e.ifName }));
      for (const list of await loadNetworkConfigs(opts.cni.confDir)) {
        if (list.cniVersion !== '1.1.0') continue;
        const r = await gcNetworkList(list, { ...cniExecOptions(opts), validAttachments: valid, logger: log });
        if (r.deleted.length) log.info({ network: list.name, deleted: r.deleted }, 'CNI GC released stale attachments');
      }
    } catch (e) {
      log.warn({ err: (e as Error).message }, 'CNI GC at start failed');
    }
  }

  // Supervision of ready pods (src/actors/monitor.ts); a pod whose netns vanished is torn down.
  const monitor = startMonitor(pods, opts.monitorIntervalMs, (podId) => void runtime.teardownPod(podId).catch(() => undefined));

  const runtime: Runtime & { [k: symbol]: unknown } = {
    // Not API: tests reach the DHCP pool through this to kill a worker.
    [Symbol.for('netlet.test.dhcpPool')]: pool,
    options: opts,
    logger: log,
    async setupPod(req) {
      if (closed) throw new NetletError('RUNTIME_CLOSED', 'the runtime is closed');
      req = parsedResult(req);
      const r: PodRequest = validate(setupRequestSchema, req, 'setupPod request');
      return serial(r.podId, async () => {
        const existing = pods.get(r.podId);
        if (existing && (existing.phase === 'ready' || existing.phase === 'degraded')) return existing.network();
        if (existing && !existing.done) throw new NetletError('POD_BUSY', `pod ${r.podId} is ${existing.phase}; tear it down first`);
        const t0 = performance.now();
        const pod = new Pod(deps, r);
        pods.set(r.podId, pod);
        try {
          await pod.setup();
        } catch (e) {
          // An incomplete rollback (rollbackFailed) keeps the pod and its record: teardownPod retries.
          if (pod.done) {
            pods.delete(r.podId);
            await pod.stop();
          }
          countError(e);
          throw e;
        }
        observe(stats.setupSeconds, (performance.now() - t0) / 1000);
        return pod.network();
      });
    },
    async teardownPod(podId) {
      return serial(podId, async () => {
        const pod = pods.get(podId);
        if (!pod) return;
        const t0 = performance.now();
        try {
          await pod.teardown();
        } catch (e) {
          countError(e);
          throw e;
        }
        pods.delete(podId);
        observe(stats.teardownSeconds, (performance.now() - t0) / 1000);
      });
    },
    async attachInterface(podId, req) {
      if (closed) throw new NetletError('RUNTIME_CLOSED', 'the runtime is closed');
      req = parsedResult(req);
      const r = validate(attachRequestSchema, req, 'attachInterface request');
      return serial(podId, async () => {
        const pod = pods.get(podId);
        if (!pod) throw new NetletError('POD_NOT_FOUND', `no pod ${podId}: set it up first`, { podId });
        const t0 = performance.now();
        try {
          const out = await pod.attach(r);
          pod.log.info({ iface: r.ifName, ms: Math.round(performance.now() - t0) }, `${r.ifName} attached`);
          return out;
        } catch (e) {
          countError(e);
          throw e;
        }
      });
    },
    async detachInterface(podId, ifName) {
      return serial(podId, async () => {
        const pod = pods.get(podId);
        if (!pod) return;
        const t0 = performance.now();
        try {
          await pod.detach(ifName);
        } catch (e) {
          countError(e);
          throw e;
        }
        pod.log.info({ iface: ifName, ms: Math.round(performance.now() - t0) }, `${ifName} detached`);
      });
    },
    getPod: (podId, o) => pods.get(podId)?.status(o?.counters),
    listPods: (o) => [...pods.values()].map((p) => p.status(o?.counters)),
    readPod: async (podId) => pods.get(podId)?.readStatus(),
    readPods: () => Promise.all([...pods.values()].map((p) => p.readStatus())),
    podEvents: (podId) => pods.get(podId)?.recentEvents(),
    getNetwork: (podId) => {
      const p = pods.get(podId);
      return p && (p.phase === 'ready' || p.phase === 'degraded') ? p.network() : undefined;
    },
    cloudInit: (podId) => {
      const plan = pods.get(podId)?.plan;
      return plan ? renderCloudInit(plan) : undefined;
    },
    stats: () => ({ ...stats, workerRestarts: pool.restarts }),
    async close() {
      if (closed) return;
      closed = true;
      await monitor?.stop();
      await Promise.allSettled([...locks.values()]);
      await Promise.all([...pods.values()].map((p) => p.stop()));
      pods.clear();
      await pool.close();
      sriov?.close();
      store.close();
    },
  };
  return runtime;
}
