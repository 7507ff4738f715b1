/** Two-sided 95% Student t quantiles by degrees of freedom 1..30 (beyond: the normal 1.96). */
const T975 = [
  12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.16, 2.145, 2.131, 2.12, 2.11, 2.101, 2.093, 2.086,
  2.08, 2.074, 2.069, 2.064, 2.06, 2.056, 2.052, 2.048, 2.045, 2.042,
];

/** Mean and sample standard deviation (n - 1; 0 for one value). */
export function meanStd(values: readonly number[]): { mean: number; std: number } {
  const mean = values.reduce((a, b) => a + b, 0) / values.length;
  const std = values.length < 2 ? 0 : Math.sqrt(values.reduce((a, b) => a + (b - mean) ** 2, 0) / (values.length - 1));
  return { mean, std };
}

/** A mean paired difference with its 95% confidence interval (Student t on the n paired values). */
export interface PairedDifference {
  mean: number;
  low: number;
  high: number;
  n: number;
}

/** `a[i] - b[i]` over paired runs (same seed), with a 95% t interval; the interval is unbounded for one pair. */
export function pairedDifference(a: readonly number[], b: readonly number[]): PairedDifference {
  if (a.length !== b.length || a.length === 0) throw new Error(`paired runs differ in number (${a.length} vs ${b.length})`);
  const { mean, std } = meanStd(a.map((v, i) => v - b[i]!));
  const n = a.length;
  const half = n < 2 ? Number.POSITIVE_INFINITY : (T975[n - 2] ?? 1.96) * (std / Math.sqrt(n));
  return { mean, low: mean - half, high: mean + half, n };
}
