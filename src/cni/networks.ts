// Several networks per pod: pick them from annotations (CNI-Genie, Multus) or the
// defaults, ADD them in order (rolling back on failure so nothing stays behind),
// merge the results into one interface list with one default route per family.
import type { Dns, InterfacePlan } from '../model/plan.js';
import { emptyDns } from '../model/plan.js';
import { NetletError } from '../model/errors.js';
import { loadNetworkConfigs, loadNetworkConfig, selectNetwork, toConfigList, type NetworkConfigList } from './config.js';
import { selectNetworks, type PlannedAttachment } from './annotations.js';
import { addNetworkList, checkNetworkList, delNetworkList, type ExecOptions, type RuntimeConf } from './list-ops.js';
import { DEFAULT_CACHE_DIR, listCacheEntries, type AttachmentKey, type CacheEntry } from './cache.js';
import { applyDefaultRoutePolicy, type DroppedRoute } from './default-route.js';
import { CniDelError } from './errors.js';
import { silentLogger } from './logger.js';

export interface PodNetworkRequest extends ExecOptions {
  /** Pod sandbox id: CNI_CONTAINERID and K8S_POD_INFRA_CONTAINER_ID. */
  podId: string;
  podName: string;
  podNamespace: string;
  netnsPath: string;
  annotations?: Record<string, string | undefined>;
  confDir: string;
  /** Networks used when there is no `cni` annotation. */
  defaultNetworks?: readonly string[];
}

export interface Attachment {
  network: string;
  ifName: string;
  /** The raw final CNI result (as cached). */
  result: Record<string, unknown>;
}

export interface PodNetworks {
  attachments: Attachment[];
  /** All pod interfaces in attach order, default-route policy applied. */
  interfaces: InterfacePlan[];
  /** DNS merged over the results (first domain; nameservers, search, options de-duplicated in order). */
  dns: Dns;
  /** Default routes left out by the policy, for the caller to log. */
  dropped: DroppedRoute[];
  /** Other things left out of the plan (e.g. IPs on host-side interfaces). */
  notes: string[];
}

const podArgs = (r: PodNetworkRequest): [string, string][] => [
  ['K8S_POD_NAMESPACE', r.podNamespace],
  ['K8S_POD_NAME', r.podName],
  ['K8S_POD_INFRA_CONTAINER_ID', r.podId],
];

const runtimeConf = (r: PodNetworkRequest, a: PlannedAttachment): RuntimeConf => {
  const caps: Record<string, unknown> = {};
  if (a.mac) caps.mac = a.mac;
  if (a.ips) caps.ips = a.ips;
  return { containerId: r.podId, netns: r.netnsPath, ifName: a.ifName, args: podArgs(r), capabilityArgs: caps };
};

export function mergeDns(all: Dns[]): Dns {
  const out = emptyDns();
  const add = (to: string[], xs: string[]): void => xs.forEach((x) => { if (!to.includes(x)) to.push(x); });
  for (const d of all) {
    if (!out.domain && d.domain) out.domain = d.domain;
    add(out.nameservers, d.nameservers);
    add(out.search, d.search);
    add(out.options, d.options);
  }
  return out;
}

const asNetletError = (e: unknown): NetletError =>
  e instanceof NetletError ? e : new NetletError('CNI_INTERNAL', `unexpected failure in the CNI layer: ${String(e)}`, undefined, { cause: e });

/** ADDs every selected network; on a failure DELs the failed one and all before it, then rethrows. */
export async function addNetworks(req: PodNetworkRequest): Promise<PodNetworks> {
  const log = req.logger ?? silentLogger;
  const planned = selectNetworks(req.annotations ?? {}, req.defaultNetworks ?? []);
  // Resolve every config before touching anything: a missing network fails with no side effects.
  const configs = await loadNetworkConfigs(req.confDir);
  const lists = planned.map((p) => selectNetwork(configs, p.name, req.confDir));
  const done: { list: NetworkConfigList; plan: PlannedAttachment; added: Awaited<ReturnType<typeof addNetworkList>> }[] = [];
  for (let k = 0; k < planned.length; k++) {
    const plan = planned[k]!;
    const list = lists[k]!;
    try {
      done.push({ list, plan, added: await addNetworkList(list, runtimeConf(req, plan), req, k) });
    } catch (e) {
      const err = asNetletError(e);
      log.warn({ network: list.name, ifName: plan.ifName, err: err.message }, 'CNI ADD failed; deleting what was added');
      // The failed network may be half-made (an earlier plugin of its list succeeded): DEL it too.
      for (let j = k; j >= 0; j--) {
        try {
          await delNetworkList(lists[j]!, runtimeConf(req, planned[j]!), req);
        } catch (de) {
          log.warn({ network: lists[j]!.name, ifName: planned[j]!.ifName, err: asNetletError(de).message }, 'CNI DEL during rollback failed; cache entry kept for delNetworks');
        }
      }
      throw err;
    }
  }
  const policy = applyDefaultRoutePolicy(done.map((d) => ({
    network: d.list.name,
    ifName: d.plan.ifName,
    defaultRoute: d.plan.defaultRoute,
    interfaces: d.added.interfaces,
  })));
  for (const dr of policy.dropped) log.info({ ...dr }, 'default route dropped by policy');
  return {
    attachments: done.map((d) => ({ network: d.list.name, ifName: d.plan.ifName, result: d.added.result })),
    interfaces: policy.interfaces.flat(),
    dns: mergeDns(done.map((d) => d.added.dns)),
    dropped: policy.dropped,
    notes: done.flatMap((d) => d.added.notes.map((n) => `${d.list.name}/${d.plan.ifName}: ${n}`)),
  };
}

export interface AttachmentRequest extends ExecOptions {
  podId: string;
  podName?: string;
  podNamespace?: string;
  netnsPath: string;
  network: string;
  ifName: string;
  confDir: string;
  /** Its place among the pod's attachments (DELs of the whole pod go in reverse). */
  index: number;
}

/** ADD of one network for a pod that already has others (hot-plug). A missing network fails before anything runs. */
export async function addAttachment(req: AttachmentRequest): Promise<{ interfaces: InterfacePlan[]; dns: Dns; result: Record<string, unknown> }> {
  const list = selectNetwork(await loadNetworkConfigs(req.confDir), req.network, req.confDir);
  const rt: RuntimeConf = { containerId: req.podId, netns: req.netnsPath, ifName: req.ifName, args: podArgs({ ...req, podName: req.podName ?? '', podNamespace: req.podNamespace ?? '' }) };
  try {
    const added = await addNetworkList(list, rt, req, req.index);
    return { interfaces: added.interfaces, dns: added.dns, result: added.result };
  } catch (e) {
    // An earlier plugin of the list may have succeeded: DEL the whole list.
    await delNetworkList(list, rt, req).catch(() => undefined);
    throw asNetletError(e);
  }
}

/**
 * DEL of one attachment of a pod (by ifName), with the config the cache recorded; with no
 * cache entry (ADD cut short) and `network` given, with that network's current config.
 * Idempotent.
 */
export async function delAttachment(req: ExecOptions & { podId: string; ifName: string; netnsPath: string; network?: string; confDir?: string }): Promise<void> {
  const entries = (await listAttachments(req.cacheDir, req.podId)).filter((e) => e.ifName === req.ifName);
  for (const e of entries) {
    const list = await entryList(e, req.confDir);
    await delNetworkList(list, { containerId: e.containerId, netns: req.netnsPath, ifName: e.ifName, args: e.cniArgs }, req);
  }
  if (entries.length || !req.network || !req.confDir) return;
  let list: NetworkConfigList;
  try {
    list = await loadNetworkConfig(req.confDir, req.network);
  } catch {
    return; // The network is gone from the conf dir: nothing netlet can run DEL with.
  }
  await delNetworkList(list, { containerId: req.podId, netns: req.netnsPath, ifName: req.ifName, args: [['K8S_POD_INFRA_CONTAINER_ID', req.podId]] }, req);
}

export interface PodDelRequest extends ExecOptions {
  podId: string;
  /** The pod netns; default: the one recorded at ADD. Passed even when gone (plugins tolerate it). */
  netnsPath?: string;
  /** Used only when a cache entry's recorded config cannot be decoded. */
  confDir?: string;
}

async function entryList(e: CacheEntry, confDir: string | undefined): Promise<NetworkConfigList> {
  try {
    return toConfigList(e.config, `cached config of ${e.network}/${e.ifName}`);
  } catch (err) {
    if (!confDir) throw err;
    return loadNetworkConfig(confDir, e.network);
  }
}

/** The attachments the cache holds for a pod (or all pods), in ADD order. */
export async function listAttachments(cacheDir: string = DEFAULT_CACHE_DIR, podId?: string): Promise<CacheEntry[]> {
  return (await listCacheEntries(cacheDir, podId !== undefined ? { containerId: podId } : {})).entries;
}

/**
 * DELs every cached attachment of the pod, last added first, with the config recorded
 * at ADD. Idempotent: nothing cached is success. Tries all; failures come back together.
 */
export async function delNetworks(req: PodDelRequest): Promise<{ deleted: AttachmentKey[] }> {
  const entries = (await listAttachments(req.cacheDir, req.podId)).reverse();
  const deleted: AttachmentKey[] = [];
  const failures: NetletError[] = [];
  for (const e of entries) {
    try {
      const list = await entryList(e, req.confDir);
      await delNetworkList(list, { containerId: e.containerId, netns: req.netnsPath ?? e.netns, ifName: e.ifName, args: e.cniArgs }, req);
      deleted.push({ network: e.network, containerId: e.containerId, ifName: e.ifName });
    } catch (err) {
      failures.push(asNetletError(err));
    }
  }
  if (failures.length === 1) throw failures[0]!;
  if (failures.length > 1) throw new CniDelError(failures);
  return { deleted };
}

/** CHECKs every cached attachment of the pod (0.4.0+ lists; older ones are skipped). */
export async function checkNetworks(req: PodDelRequest): Promise<{ checked: AttachmentKey[] }> {
  const checked: AttachmentKey[] = [];
  for (const e of await listAttachments(req.cacheDir, req.podId)) {
    const list = await entryList(e, req.confDir);
    if (list.cniVersion === '0.3.0' || list.cniVersion === '0.3.1') continue;
    await checkNetworkList(list, { containerId: e.containerId, netns: req.netnsPath ?? e.netns, ifName: e.ifName, args: e.cniArgs }, req);
    checked.push({ network: e.network, containerId: e.containerId, ifName: e.ifName });
  }
  return { checked };
}
