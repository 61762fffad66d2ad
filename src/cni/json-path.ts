// JSON paths for error messages: ['ips', 0, 'address'] -> "ips[0].address".

export function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const p of path) {
    if (typeof p === 'number') out += `[${p}]`;
    else out += out ? `.${String(p)}` : String(p);
  }
  return out || '(root)';
}

/** The value at `path` in `root`, or undefined. */
export function valueAt(root: unknown, path: readonly PropertyKey[]): unknown {
  let cur: unknown = root;
  for (const p of path) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<PropertyKey, unknown>)[p];
  }
  return cur;
}

/** A short printable form of a found value for messages. */
export function describeValue(v: unknown): string {
  if (v === undefined) return 'nothing';
  let s: string | undefined;
  try {
    s = JSON.stringify(v);
  } catch {
    s = undefined;
  }
  s ??= typeof v;
  return s.length > 80 ? `${s.slice(0, 77)}...` : s;
}

/** Describes the JSON type of a value: "object", "array", "null", "string"... */
export const jsonType = (v: unknown): string => (v === null ? 'null' : Array.isArray(v) ? 'array' : typeof v);
