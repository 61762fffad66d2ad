// Network configs from a conf dir, the way libcni finds them: `.conf`, `.conflist`
// and `.json` files, sorted by file name, selected by network `name` (first file wins).
// A single-plugin `.conf` becomes a one-plugin list. Every config must carry a
// cniVersion netlet speaks (0.3.0+), else a typed error naming the file.
import { readFile, readdir } from 'node:fs/promises';
import { extname, join } from 'node:path';
import { CniConfigError, CniNetworkNotFoundError, CniVersionMissingError, CniVersionUnsupportedError } from './errors.js';
import { SUPPORTED_VERSIONS, compareVersions, isSupportedVersion, type CniVersion } from './version.js';
import { describeValue, jsonType } from './json-path.js';

/** One plugin's config as it appears in the list (without injected name/cniVersion). */
export type PluginConfig = Record<string, unknown> & { type: string };

export interface NetworkConfigList {
  name: string;
  /** The version netlet uses with this list (highest supported of cniVersion/cniVersions). */
  cniVersion: CniVersion;
  disableCheck: boolean;
  disableGC: boolean;
  plugins: PluginConfig[];
  /** The file it came from (or a label for in-memory configs). */
  file: string;
  /** The list as a JSON object (a `.conf` already wrapped into a list); cached with each ADD. */
  raw: Record<string, unknown>;
}

export const CONFIG_EXTENSIONS = ['.conf', '.conflist', '.json'] as const;

/** Network and plugin type names: what libcni and plugins accept, no path separators. */
const NAME_RE = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;
export const isValidNetworkName = (n: string): boolean => NAME_RE.test(n) && n.length <= 253;

/** Parses one config file's text (a `.conf` or a `.conflist`). */
export function parseNetworkConfig(text: string, file: string): NetworkConfigList {
  let value: unknown;
  try {
    value = JSON.parse(text) as unknown;
  } catch (e) {
    throw new CniConfigError(`CNI config ${file} is not valid JSON: ${(e as Error).message}`, { file });
  }
  return toConfigList(value, file);
}

/** Validates an already-parsed config object (list or single plugin). */
export function toConfigList(value: unknown, file: string): NetworkConfigList {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new CniConfigError(`CNI config ${file} must be a JSON object, found ${jsonType(value)}`, { file });
  }
  const obj = value as Record<string, unknown>;
  const bad = (field: string, need: string): never => {
    throw new CniConfigError(`CNI config ${file} is invalid at ${field}: ${need}, found ${describeValue(valueOf(obj, field))}`, {
      file,
      path: field,
    });
  };
  const isList = 'plugins' in obj;
  const list: Record<string, unknown> = isList ? obj : (({ name, cniVersion, cniVersions, ...plugin }) => ({ name, cniVersion, cniVersions, plugins: [plugin] }))(obj);
  const cniVersion = pickVersion(list, file);
  if (typeof list.name !== 'string' || !isValidNetworkName(list.name)) bad('name', 'expected a network name of letters, digits, _ . -');
  if (!Array.isArray(list.plugins) || list.plugins.length === 0) bad('plugins', 'expected a non-empty array of plugin configs');
  const plugins = (list.plugins as unknown[]).map((p, i) => {
    const at = isList ? `plugins[${i}]` : '';
    if (p === null || typeof p !== 'object' || Array.isArray(p)) bad(at || '(root)', 'expected a plugin config object');
    const t = (p as Record<string, unknown>).type;
    if (typeof t !== 'string' || !NAME_RE.test(t)) bad(at ? `${at}.type` : 'type', 'expected a plugin type (a binary name, no slashes)');
    return p as PluginConfig;
  });
  const flag = (k: string): boolean => {
    const v = list[k];
    if (v !== undefined && typeof v !== 'boolean') bad(k, 'expected true or false');
    return v === true;
  };
  const raw = Object.fromEntries(Object.entries(list).filter(([, v]) => v !== undefined));
  return { name: list.name as string, cniVersion, disableCheck: flag('disableCheck'), disableGC: flag('disableGC'), plugins, file, raw };
}

const valueOf = (obj: Record<string, unknown>, field: string): unknown => {
  const m = /^plugins\[(\d+)\](?:\.(\w+))?$/.exec(field);
  if (!m) return field === '(root)' || field === '' ? obj : obj[field];
  const p = (obj.plugins as unknown[] | undefined)?.[Number(m[1])];
  return m[2] && p && typeof p === 'object' ? (p as Record<string, unknown>)[m[2]] : p;
};

/** cniVersion, or for 1.1.0 configs the highest supported entry of cniVersions. */
function pickVersion(list: Record<string, unknown>, file: string): CniVersion {
  const what = `CNI config ${file}`;
  const single = list.cniVersion;
  const many = list.cniVersions;
  if (many !== undefined && (!Array.isArray(many) || many.some((v) => typeof v !== 'string'))) {
    throw new CniConfigError(`${what} is invalid at cniVersions: expected an array of version strings, found ${describeValue(many)}`, { file });
  }
  const candidates = [...(typeof single === 'string' && single ? [single] : []), ...((many as string[] | undefined) ?? [])];
  if (single !== undefined && single !== null && typeof single !== 'string') {
    throw new CniConfigError(`${what} is invalid at cniVersion: expected a string like "1.0.0", found ${describeValue(single)}`, { file });
  }
  if (candidates.length === 0) throw new CniVersionMissingError(what, { file });
  const usable = candidates.filter(isSupportedVersion).sort(compareVersions);
  const best = usable[usable.length - 1];
  if (!best) {
    const found = candidates.sort(compareVersions)[candidates.length - 1]!;
    throw new CniVersionUnsupportedError(what, found, SUPPORTED_VERSIONS, { file });
  }
  return best;
}

/** Config file names of a conf dir, sorted; a missing dir has none. */
export async function configFiles(confDir: string): Promise<string[]> {
  let names: string[];
  try {
    names = await readdir(confDir);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw new CniConfigError(`cannot read CNI conf dir ${confDir}: ${(e as Error).message}`, { confDir }, { cause: e });
  }
  return names
    .filter((n) => (CONFIG_EXTENSIONS as readonly string[]).includes(extname(n)))
    .sort()
    .map((n) => join(confDir, n));
}

/** Loads and validates every config of the dir, in file-name order. Any bad file is an error naming it. */
export async function loadNetworkConfigs(confDir: string): Promise<NetworkConfigList[]> {
  const out: NetworkConfigList[] = [];
  for (const file of await configFiles(confDir)) {
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (e) {
      throw new CniConfigError(`cannot read CNI config ${file}: ${(e as Error).message}`, { file }, { cause: e });
    }
    out.push(parseNetworkConfig(text, file));
  }
  return out;
}

/** The first list (by file name) whose `name` is `network`. */
export function selectNetwork(configs: NetworkConfigList[], network: string, confDir: string): NetworkConfigList {
  const hit = configs.find((c) => c.name === network);
  if (!hit) throw new CniNetworkNotFoundError(network, confDir, [...new Set(configs.map((c) => c.name))]);
  return hit;
}

export async function loadNetworkConfig(confDir: string, network: string): Promise<NetworkConfigList> {
  return selectNetwork(await loadNetworkConfigs(confDir), network, confDir);
}
