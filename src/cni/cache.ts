// Result cache with libcni's layout: <cacheDir>/results/<network>-<containerId>-<ifName>,
// one JSON file per attachment (kind "cniCacheV1", config as base64 like libcni).
// Written temp + fsync + rename so a crash leaves the old file or the new one.
import { mkdir, open, readFile, readdir, rename, rm } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { CniCacheError } from './errors.js';

export const DEFAULT_CACHE_DIR = '/var/lib/cni';
export const CACHE_KIND = 'cniCacheV1';

export interface AttachmentKey {
  network: string;
  containerId: string;
  ifName: string;
}

export interface CacheEntry extends AttachmentKey {
  netns: string;
  cniArgs: [string, string][];
  /** The network config list the ADD used. */
  config: Record<string, unknown>;
  /** The final ADD result, as the plugin returned it. */
  result: Record<string, unknown>;
  /** netlet: order of this attachment within its pod (DEL goes in reverse). */
  index: number;
}

/** On-disk shape (libcni's fields plus netlet's `netletIndex`). */
interface CacheFile {
  kind: string;
  containerId: string;
  config: string;
  ifName: string;
  networkName: string;
  netns?: string;
  cniArgs?: [string, string][];
  capabilityArgs?: Record<string, unknown>;
  result: Record<string, unknown>;
  netletIndex?: number;
}

const resultsDir = (cacheDir: string): string => join(cacheDir, 'results');
export const cachePath = (cacheDir: string, k: AttachmentKey): string =>
  join(resultsDir(cacheDir), `${k.network}-${k.containerId}-${k.ifName}`);

export async function writeCacheEntry(cacheDir: string, e: CacheEntry): Promise<string> {
  const dir = resultsDir(cacheDir);
  const path = cachePath(cacheDir, e);
  const body: CacheFile = {
    kind: CACHE_KIND,
    containerId: e.containerId,
    config: Buffer.from(JSON.stringify(e.config)).toString('base64'),
    ifName: e.ifName,
    networkName: e.network,
    netns: e.netns,
    cniArgs: e.cniArgs,
    capabilityArgs: {},
    result: e.result,
    netletIndex: e.index,
  };
  const tmp = join(dir, `.tmp-${randomBytes(6).toString('hex')}`);
  try {
    await mkdir(dir, { recursive: true, mode: 0o700 });
    const fh = await open(tmp, 'w', 0o600);
    try {
      await fh.writeFile(JSON.stringify(body));
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, path);
    const d = await open(dir, 'r');
    try {
      await d.sync();
    } finally {
      await d.close();
    }
    return path;
  } catch (err) {
    await rm(tmp, { force: true }).catch(() => {});
    throw new CniCacheError(`cannot write CNI cache entry ${path}: ${(err as Error).message}`, { path }, { cause: err });
  }
}

function decode(path: string, text: string): CacheEntry {
  const bad = (why: string): never => {
    throw new CniCacheError(`CNI cache entry ${path} is unusable: ${why}`, { path });
  };
  let f: Partial<CacheFile>;
  try {
    f = JSON.parse(text) as Partial<CacheFile>;
  } catch (e) {
    return bad(`not JSON (${(e as Error).message})`);
  }
  if (!f || typeof f !== 'object') bad('not an object');
  if (f.kind !== CACHE_KIND) bad(`kind ${JSON.stringify(f.kind)}, expected ${CACHE_KIND}`);
  if (typeof f.containerId !== 'string' || typeof f.ifName !== 'string' || typeof f.networkName !== 'string') bad('missing containerId/ifName/networkName');
  if (!f.result || typeof f.result !== 'object') bad('missing result');
  let config: Record<string, unknown> = {};
  if (typeof f.config === 'string' && f.config) {
    try {
      config = JSON.parse(Buffer.from(f.config, 'base64').toString('utf8')) as Record<string, unknown>;
    } catch {
      bad('config is not base64 JSON');
    }
  }
  return {
    network: f.networkName!,
    containerId: f.containerId!,
    ifName: f.ifName!,
    netns: typeof f.netns === 'string' ? f.netns : '',
    cniArgs: Array.isArray(f.cniArgs) ? f.cniArgs : [],
    config,
    result: f.result!,
    index: typeof f.netletIndex === 'number' ? f.netletIndex : 0,
  };
}

/** The entry for one attachment; undefined when there is none. */
export async function readCacheEntry(cacheDir: string, k: AttachmentKey): Promise<CacheEntry | undefined> {
  const path = cachePath(cacheDir, k);
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new CniCacheError(`cannot read CNI cache entry ${path}: ${(e as Error).message}`, { path }, { cause: e });
  }
  return decode(path, text);
}

export async function deleteCacheEntry(cacheDir: string, k: AttachmentKey): Promise<void> {
  const path = cachePath(cacheDir, k);
  try {
    await rm(path, { force: true });
  } catch (e) {
    throw new CniCacheError(`cannot delete CNI cache entry ${path}: ${(e as Error).message}`, { path }, { cause: e });
  }
}

export interface CacheListing {
  entries: CacheEntry[];
  /** Files that could not be decoded (reported, not fatal). */
  unreadable: { path: string; reason: string }[];
}

/** Every attachment the cache holds (optionally of one container), sorted by container then index. */
export async function listCacheEntries(cacheDir: string, filter: { containerId?: string; network?: string } = {}): Promise<CacheListing> {
  const dir = resultsDir(cacheDir);
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return { entries: [], unreadable: [] };
    throw new CniCacheError(`cannot list CNI cache ${dir}: ${(e as Error).message}`, { dir }, { cause: e });
  }
  const listing: CacheListing = { entries: [], unreadable: [] };
  for (const name of names.sort()) {
    if (name.startsWith('.tmp-')) continue;
    const path = join(dir, name);
    try {
      const e = decode(path, await readFile(path, 'utf8'));
      if (filter.containerId !== undefined && e.containerId !== filter.containerId) continue;
      if (filter.network !== undefined && e.network !== filter.network) continue;
      listing.entries.push(e);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') continue; // deleted meanwhile
      listing.unreadable.push({ path, reason: (err as Error).message });
    }
  }
  listing.entries.sort((a, b) => (a.containerId < b.containerId ? -1 : a.containerId > b.containerId ? 1 : a.index - b.index));
  return listing;
}
