/**
 * Order statistics of a handful of timings. The machine is shared and noisy, so the bench
 * reports medians and spreads, never means.
 */

/** Median, extremes and 90th percentile of a sample, in the sample's unit. */
export interface Summary {
  n: number;
  median: number;
  min: number;
  p90: number;
  max: number;
}

/** Summarises a non-empty sample (nearest-rank percentiles, median of the two middle values). */
export function summarize(samples: readonly number[]): Summary {
  if (samples.length === 0) throw new RangeError('summarize() needs at least one sample');
  const sorted = [...samples].sort((a, b) => a - b);
  const at = (i: number): number => sorted[Math.min(Math.max(i, 0), sorted.length - 1)] as number;
  const mid = sorted.length / 2;
  const median = sorted.length % 2 === 1 ? at(Math.floor(mid)) : (at(mid - 1) + at(mid)) / 2;
  return {
    n: sorted.length,
    median,
    min: at(0),
    p90: percentile(sorted, 90),
    max: at(sorted.length - 1),
  };
}

/** The nearest-rank `p`th percentile of a non-empty sample (p95 of 20 samples: the 19th smallest). */
export function percentile(samples: readonly number[], p: number): number {
  if (samples.length === 0) throw new RangeError('percentile() needs at least one sample');
  const sorted = [...samples].sort((a, b) => a - b);
  return sorted[Math.min(Math.max(Math.ceil((sorted.length * p) / 100) - 1, 0), sorted.length - 1)] as number;
}

/** A single measurement as a Summary (n = 1). */
export function single(value: number): Summary {
  return { n: 1, median: value, min: value, p90: value, max: value };
}
