// Percentiles of a set of measurements, the way the benchmark reports every latency.

/** Count, nearest-rank percentiles, maximum and mean of some measurements (same unit as input). */
export interface Summary {
  count: number;
  p50: number;
  p95: number;
  p99: number;
  max: number;
  mean: number;
}

/**
 * The nearest-rank `p`-th percentile (0 < p ≤ 100) of `sorted` (ascending): the smallest value
 * with at least p % of the values at or below it. Undefined for no values.
 */
export function percentile(sorted: readonly number[], p: number): number | undefined {
  if (sorted.length === 0) return undefined;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1];
}

/** The summary of `values`, or undefined when there are none. */
export function summarize(values: readonly number[]): Summary | undefined {
  if (values.length === 0) return undefined;
  const sorted = [...values].sort((a, b) => a - b);
  return {
    count: sorted.length,
    p50: percentile(sorted, 50)!,
    p95: percentile(sorted, 95)!,
    p99: percentile(sorted, 99)!,
    max: sorted.at(-1)!,
    mean: sorted.reduce((sum, v) => sum + v, 0) / sorted.length,
  };
}

/** `a / b`, or undefined when either is missing or `b` is not positive. */
export function ratio(a: number | undefined, b: number | undefined): number | undefined {
  if (a === undefined || b === undefined || !(b > 0)) return undefined;
  return a / b;
}
