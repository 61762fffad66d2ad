// ADD / DEL / CHECK / GC / STATUS of one network config list, as libcni does them:
// plugins run in order (DEL in reverse), each gets its config with the list's
// name and cniVersion injected and `prevResult` chained; ADD results are cached.
import type { Dns, InterfacePlan } from '../model/plan.js';
import type { NetletError } from '../model/errors.js';
import type { NetworkConfigList, PluginConfig } from './config.js';
import { CniCacheError, CniDelError, CniRequestError } from './errors.js';
import { invokePlugin, type CniCommand, type PluginSpawn } from './exec.js';
import { DEFAULT_CACHE_DIR, deleteCacheEntry, listCacheEntries, readCacheEntry, writeCacheEntry, type AttachmentKey, type CacheEntry } from './cache.js';
import { normaliseCniResult } from './result.js';
import { versionAtLeast } from './version.js';
import { silentLogger, type CniLogger } from './logger.js';

/** The per-attachment runtime values (libcni's RuntimeConf). */
export interface RuntimeConf {
  containerId: string;
  netns: string;
  ifName: string;
  /** CNI_ARGS pairs, e.g. [['K8S_POD_NAME', 'web-0']]; IgnoreUnknown=1 is added. */
  args?: [string, string][];
  /** Capability args, sent as `runtimeConfig` to plugins that declare the capability (e.g. mac, ips). */
  capabilityArgs?: Record<string, unknown>;
}

export interface ExecOptions {
  binDirs?: readonly string[];
  timeoutMs?: number;
  cacheDir?: string;
  /** Command run in front of every plugin (e.g. `ip netns exec <node>`), see exec.ts. */
  wrapper?: readonly string[];
  /** How plugins are started (the runtime passes one that does not fork); default node's spawn. */
  spawn?: PluginSpawn;
  logger?: CniLogger;
}

/** What every invocation takes from the options. */
const execOf = (o: ExecOptions) => ({ binDirs: o.binDirs, timeoutMs: o.timeoutMs, wrapper: o.wrapper, ...(o.spawn ? { spawn: o.spawn } : {}) });

export interface AddResult {
  /** The final result as the last plugin printed it (also cached). */
  result: Record<string, unknown>;
  interfaces: InterfacePlan[];
  dns: Dns;
  notes: string[];
}

const ID_RE = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;

/** Refuses ids, ifnames and CNI_ARGS the spec (or the cache file layout) cannot carry. */
export function checkRuntimeConf(rt: RuntimeConf): void {
  if (!ID_RE.test(rt.containerId)) {
    throw new CniRequestError(`container id ${JSON.stringify(rt.containerId)} is invalid: use letters, digits, _ . -`, { containerId: rt.containerId });
  }
  if (!rt.ifName || rt.ifName.length > 15 || /[/:\s]/.test(rt.ifName) || rt.ifName === '.' || rt.ifName === '..') {
    throw new CniRequestError(`interface name ${JSON.stringify(rt.ifName)} is invalid: 1-15 characters, no / : or spaces`, { ifName: rt.ifName });
  }
  for (const [k, v] of rt.args ?? []) {
    if (!k || /[;=]/.test(k) || /[;=]/.test(v)) throw new CniRequestError(`CNI_ARGS pair ${k}=${v} is invalid: no ; or = inside keys or values`, { key: k });
  }
}

export const cniArgsString = (args: [string, string][] = []): string =>
  [['IgnoreUnknown', '1'], ...args.filter(([k]) => k !== 'IgnoreUnknown')].map(([k, v]) => `${k}=${v}`).join(';');

/** A plugin's stdin: its config with name/cniVersion from the list, runtimeConfig for declared capabilities, prevResult. */
export function pluginStdin(list: NetworkConfigList, plugin: PluginConfig, extra: { prevResult?: unknown; capabilityArgs?: Record<string, unknown> } = {}): Record<string, unknown> {
  const conf: Record<string, unknown> = { ...plugin, name: list.name, cniVersion: list.cniVersion };
  const caps = plugin.capabilities;
  if (caps && typeof caps === 'object' && extra.capabilityArgs) {
    const rc: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(extra.capabilityArgs)) if ((caps as Record<string, unknown>)[k] === true && v !== undefined) rc[k] = v;
    if (Object.keys(rc).length) conf.runtimeConfig = { ...(conf.runtimeConfig as object | undefined), ...rc };
  }
  if (extra.prevResult !== undefined) conf.prevResult = extra.prevResult;
  return conf;
}

const attachmentKey = (list: NetworkConfigList, rt: RuntimeConf): AttachmentKey => ({ network: list.name, containerId: rt.containerId, ifName: rt.ifName });

function run(list: NetworkConfigList, plugin: PluginConfig, command: CniCommand, rt: RuntimeConf | undefined, opts: ExecOptions, extra: Parameters<typeof pluginStdin>[2]): Promise<unknown> {
  return invokePlugin({
    type: plugin.type,
    command,
    config: pluginStdin(list, plugin, extra),
    ...(rt ? { containerId: rt.containerId, netns: rt.netns, ifName: rt.ifName, args: cniArgsString(rt.args) } : {}),
    ...execOf(opts),
  });
}

/** ADD: runs the plugins in order, caches the final result, returns it normalised. `index` orders DELs within a pod. */
export async function addNetworkList(list: NetworkConfigList, rt: RuntimeConf, opts: ExecOptions = {}, index = 0): Promise<AddResult> {
  checkRuntimeConf(rt);
  const log = opts.logger ?? silentLogger;
  let prev: Record<string, unknown> | undefined;
  for (const plugin of list.plugins) {
    log.debug({ network: list.name, plugin: plugin.type, ifName: rt.ifName }, 'CNI ADD');
    const out = await run(list, plugin, 'ADD', rt, opts, { prevResult: prev, capabilityArgs: rt.capabilityArgs });
    // A plugin that prints nothing passes the previous result on.
    if (out !== undefined) prev = out as Record<string, unknown>;
  }
  const result = prev ?? {};
  await writeCacheEntry(opts.cacheDir ?? DEFAULT_CACHE_DIR, {
    ...attachmentKey(list, rt),
    netns: rt.netns,
    cniArgs: rt.args ?? [],
    config: list.raw,
    result,
    index,
  });
  const n = normaliseCniResult(result, { network: list.name, ifName: rt.ifName });
  return { result, interfaces: n.interfaces, dns: n.dns, notes: n.notes };
}

/** The cached entry, or undefined when missing or unreadable (DEL must go on either way). */
async function cachedFor(list: NetworkConfigList, rt: RuntimeConf, opts: ExecOptions): Promise<CacheEntry | undefined> {
  try {
    return await readCacheEntry(opts.cacheDir ?? DEFAULT_CACHE_DIR, attachmentKey(list, rt));
  } catch (e) {
    if (!(e instanceof CniCacheError)) throw e;
    (opts.logger ?? silentLogger).warn({ err: e.message }, 'CNI cache entry unreadable; DEL without prevResult');
    return undefined;
  }
}

/**
 * DEL: plugins in reverse with the cached result as prevResult (0.4.0+), then the cache entry goes.
 * Idempotent: no cache entry or a netns that is gone is fine (the path is passed anyway, per spec).
 */
export async function delNetworkList(list: NetworkConfigList, rt: RuntimeConf, opts: ExecOptions = {}): Promise<void> {
  checkRuntimeConf(rt);
  const cached = await cachedFor(list, rt, opts);
  const prevResult = cached && versionAtLeast(list.cniVersion, '0.4.0') ? cached.result : undefined;
  for (const plugin of [...list.plugins].reverse()) {
    (opts.logger ?? silentLogger).debug({ network: list.name, plugin: plugin.type, ifName: rt.ifName }, 'CNI DEL');
    await run(list, plugin, 'DEL', rt, opts, { prevResult, capabilityArgs: rt.capabilityArgs });
  }
  await deleteCacheEntry(opts.cacheDir ?? DEFAULT_CACHE_DIR, attachmentKey(list, rt));
}

/** CHECK (0.4.0+): plugins in order with the cached result; throws when the attachment is not as added. */
export async function checkNetworkList(list: NetworkConfigList, rt: RuntimeConf, opts: ExecOptions = {}): Promise<void> {
  checkRuntimeConf(rt);
  if (!versionAtLeast(list.cniVersion, '0.4.0')) {
    throw new CniRequestError(`CHECK needs cniVersion 0.4.0 or later; network ${list.name} (${list.file}) has ${list.cniVersion}`, { network: list.name });
  }
  if (list.disableCheck) return;
  const cached = await readCacheEntry(opts.cacheDir ?? DEFAULT_CACHE_DIR, attachmentKey(list, rt));
  if (!cached) throw new CniCacheError(`CHECK of ${list.name}/${rt.ifName} for ${rt.containerId}: no cached ADD result`, { ...attachmentKey(list, rt) });
  for (const plugin of list.plugins) await run(list, plugin, 'CHECK', rt, opts, { prevResult: cached.result, capabilityArgs: rt.capabilityArgs });
}

export interface GcOutcome {
  /** Cached attachments not in the valid set: DELed (and uncached). */
  deleted: AttachmentKey[];
  /** Attachments sent to the plugins as `cni.dev/valid-attachments`. */
  valid: AttachmentKey[];
  /** Whether the GC command was sent (1.1.0+ and not disableGC). */
  sentGc: boolean;
}

/**
 * GC: first DELs cached attachments of this network missing from `validAttachments`
 * (when given), then (1.1.0+) sends GC with the remaining cached attachments as valid.
 */
export async function gcNetworkList(
  list: NetworkConfigList,
  opts: ExecOptions & { validAttachments?: { containerId: string; ifName: string }[] } = {},
): Promise<GcOutcome> {
  const cacheDir = opts.cacheDir ?? DEFAULT_CACHE_DIR;
  const { entries } = await listCacheEntries(cacheDir, { network: list.name });
  const deleted: AttachmentKey[] = [];
  const kept: CacheEntry[] = [];
  const failures: NetletError[] = [];
  for (const e of entries) {
    const isValid = !opts.validAttachments || opts.validAttachments.some((v) => v.containerId === e.containerId && v.ifName === e.ifName);
    if (isValid) {
      kept.push(e);
      continue;
    }
    try {
      await delNetworkList(list, { containerId: e.containerId, netns: e.netns, ifName: e.ifName, args: e.cniArgs }, opts);
      deleted.push({ network: e.network, containerId: e.containerId, ifName: e.ifName });
    } catch (err) {
      failures.push(err as NetletError);
      kept.push(e);
    }
  }
  const valid = kept.map((e) => ({ network: e.network, containerId: e.containerId, ifName: e.ifName }));
  const sentGc = versionAtLeast(list.cniVersion, '1.1.0') && !list.disableGC;
  if (sentGc) {
    const attachments = valid.map((v) => ({ containerID: v.containerId, ifname: v.ifName }));
    for (const plugin of list.plugins) {
      try {
        // libcni sends both names: an early 1.1.0 draft spelt it cni.dev/attachments.
        await invokePlugin({
          type: plugin.type,
          command: 'GC',
          config: { ...pluginStdin(list, plugin), 'cni.dev/valid-attachments': attachments, 'cni.dev/attachments': attachments },
          ...execOf(opts),
        });
      } catch (err) {
        failures.push(err as NetletError);
      }
    }
  }
  if (failures.length === 1) throw failures[0]!;
  if (failures.length > 1) throw new CniDelError(failures);
  return { deleted, valid, sentGc };
}

/**
 * STATUS (1.1.0+): resolves when every plugin is ready; a plugin's "not ready"
 * comes back as CniPluginError with pluginCode 50 (or 51). Older lists: nothing to ask.
 */
export async function statusNetworkList(list: NetworkConfigList, opts: ExecOptions = {}): Promise<{ asked: boolean }> {
  if (!versionAtLeast(list.cniVersion, '1.1.0')) return { asked: false };
  for (const plugin of list.plugins) {
    await invokePlugin({ type: plugin.type, command: 'STATUS', config: pluginStdin(list, plugin), ...execOf(opts) });
  }
  return { asked: true };
}
