// A latency histogram kept as counts per bucket: a runtime that lives for months keeps a dozen
// numbers, not one per setup and teardown it ever ran.
// Prometheus's cumulative buckets are rendered from it (src/debug/metrics.ts).

/** Upper bounds in seconds, Prometheus's `le`. */
export const LATENCY_BUCKETS: readonly number[] = [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

export interface Histogram {
  /** Upper bounds, ascending. */
  le: readonly number[];
  /** Observations per bucket (not cumulative): counts[i] in (le[i-1], le[i]]; above the last in none. */
  counts: number[];
  count: number;
  sum: number;
}

export const histogram = (le: readonly number[] = LATENCY_BUCKETS): Histogram => ({ le, counts: le.map(() => 0), count: 0, sum: 0 });

export function observe(h: Histogram, value: number): void {
  h.count++;
  h.sum += value;
  const i = h.le.findIndex((b) => value <= b);
  if (i >= 0) h.counts[i]!++;
}

/** Observations at or below each bound (Prometheus's buckets, +Inf being `count`). */
export function cumulative(h: Histogram): number[] {
  let n = 0;
  return h.counts.map((c) => (n += c));
}
