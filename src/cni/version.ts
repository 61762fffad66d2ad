// CNI spec versions: which ones netlet speaks and how they compare.

/** Result/config versions netlet accepts. Below 0.3.0 is the legacy ip4/ip6 shape. */
export const SUPPORTED_VERSIONS = ['0.3.0', '0.3.1', '0.4.0', '1.0.0', '1.1.0'] as const;
export type CniVersion = (typeof SUPPORTED_VERSIONS)[number];

export const isSupportedVersion = (v: string): v is CniVersion => (SUPPORTED_VERSIONS as readonly string[]).includes(v);

/** Parses "x.y.z"; undefined when it is not that shape. */
export function parseVersion(v: string): [number, number, number] | undefined {
  const m = /^(\d{1,4})\.(\d{1,4})\.(\d{1,4})$/.exec(v);
  return m ? [Number(m[1]), Number(m[2]), Number(m[3])] : undefined;
}

/** Compares two "x.y.z" versions; unparsable ones sort lowest. */
export function compareVersions(a: string, b: string): number {
  const pa = parseVersion(a) ?? [-1, -1, -1];
  const pb = parseVersion(b) ?? [-1, -1, -1];
  for (let i = 0; i < 3; i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}

export const versionAtLeast = (v: string, min: string): boolean => compareVersions(v, min) >= 0;
