// cloud-init applies network config once per instance id. A persistent rootfs keeps the
// first boot's network forever unless the id changes with the network: derive it from
// the rendered config, so the same plan gives the same id and any change a new one.
import { createHash } from 'node:crypto';
import type { NetworkConfigV1, NetworkConfigV2, NetworkData } from './types.js';

export interface RenderedNetwork {
  networkConfigV1: NetworkConfigV1;
  networkConfigV2: NetworkConfigV2;
  networkData: NetworkData;
}

/** JSON with object keys sorted: the same value always gives the same text. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

/** Lowercase [a-z0-9-], at most 40 characters: safe in file names, meta-data and logs. */
export const safePodId = (podId: string): string =>
  podId.toLowerCase().replace(/[^a-z0-9-]+/g, '-').replace(/^-+|-+$/g, '').slice(0, 40).replace(/-+$/, '') || 'pod';

/** `netlet-<pod id>-<16 hex of sha256 over the rendered configs>`. */
export function instanceIdFromRendered(podId: string, rendered: RenderedNetwork): string {
  const digest = createHash('sha256')
    .update(canonicalJson({ v1: rendered.networkConfigV1, v2: rendered.networkConfigV2, networkData: rendered.networkData }))
    .digest('hex');
  return `netlet-${safePodId(podId)}-${digest.slice(0, 16)}`;
}
