// Robust summaries for noisy timings: medians and quartiles, never means (one preempted round on
// a shared 2-core machine would drag a mean; it barely moves a median).

export interface Summary {
  n: number;
  median: number;
  q1: number;
  q3: number;
  min: number;
  max: number;
}

/** Linear-interpolated quantile (type 7, as R and NumPy default) of already sorted values. */
export function quantileSorted(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) throw new RangeError("quantile of an empty sample");
  if (!(q >= 0 && q <= 1)) throw new RangeError(`quantile out of range: ${q}`);
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo);
}

export function summarize(values: readonly number[]): Summary {
  if (values.length === 0) throw new RangeError("summary of an empty sample");
  for (const v of values) if (!Number.isFinite(v)) throw new RangeError(`non-finite sample: ${v}`);
  const s = [...values].sort((a, b) => a - b);
  return {
    n: s.length,
    median: quantileSorted(s, 0.5),
    q1: quantileSorted(s, 0.25),
    q3: quantileSorted(s, 0.75),
    min: s[0],
    max: s[s.length - 1],
  };
}

/**
 * Ratios of paired samples (round i of a over round i of b). Pairing cancels the machine's
 * slow drifts (another build starting, CPU frequency): both sides of a pair ran back to back.
 */
export function pairedRatios(a: readonly number[], b: readonly number[]): number[] {
  if (a.length !== b.length) throw new RangeError(`unpaired samples: ${a.length} vs ${b.length}`);
  return a.map((x, i) => {
    if (!(b[i] > 0)) throw new RangeError(`ratio denominator must be > 0, got ${b[i]}`);
    return x / b[i];
  });
}

/** Relative spread (IQR / median): how far to trust a median; > ~0.1 means a noisy run. */
export function relativeIqr(s: Summary): number {
  return s.median === 0 ? 0 : (s.q3 - s.q1) / s.median;
}
