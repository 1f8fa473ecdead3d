// Quantiles of an exponential histogram. The latency API interpolates the cumulative count
// between bucket boundaries with a monotone cubic (Fritsch–Carlson, as PCHIP), in log space
// where every bucket has the same width, so the estimate follows the density's trend across
// neighbouring buckets instead of assuming a flat one inside each bucket; beyond the occupied
// buckets the count is flat (nothing was observed there), which keeps the top bucket's values
// near the density they continue rather than spread to its upper edge. The curve passes through
// the exact count at every boundary. The two PromQL interpolations are kept to measure what
// Prometheus answers from the same buckets (promql/quantile.go HistogramQuantile): "exponential"
// (current Prometheus) and "linear" (Prometheus 2.42, the version the end-to-end tests run).
import { upperMs } from "../wire/exp-buckets.ts";

export type Interpolation = "cubic" | "exponential" | "linear";

/** The buckets a quantile is read from: the zero bucket, then counts of buckets offset.. at scale. */
export interface QuantileSource {
  readonly zero: number;
  readonly scale: number;
  readonly offset: number;
  readonly len: number;
  readonly counts: ArrayLike<number>;
}

/** Fritsch–Butland slope at a knot between two equally wide intervals of these densities. */
function knotSlope(a: number, b: number): number {
  return a > 0 && b > 0 ? (2 * a * b) / (a + b) : 0;
}

/**
 * t in [0, 1] where the cubic Hermite from 0 to 1 with end slopes s0, s1 (relative to the
 * secant, each in [0, 2]: monotone) reaches f. Bisection: the curve is monotone, 48 halvings
 * reach double precision on [0, 1] (the ends exactly: where a slope is 0 the curve is flat there).
 */
function hermiteInverse(f: number, s0: number, s1: number): number {
  if (f <= 0) return 0;
  if (f >= 1) return 1;
  let lo = 0, hi = 1;
  for (let k = 0; k < 48; k++) {
    const t = (lo + hi) / 2, t2 = t * t, t3 = t2 * t;
    const g = 3 * t2 - 2 * t3 + s0 * (t3 - 2 * t2 + t) + s1 * (t3 - t2);
    if (g < f) lo = t; else hi = t;
  }
  return (lo + hi) / 2;
}

/**
 * The q-quantile (ms), or null for an empty histogram. The zero bucket holds exact zeros; a
 * rank inside it is 0 (PromQL interpolates over [0, zero threshold], which is 2^-128 here).
 */
export function quantileOf(h: QuantileSource, q: number, interpolation: Interpolation = "cubic"): number | null {
  let total = h.zero;
  for (let j = 0; j < h.len; j++) total += h.counts[j]!;
  if (total === 0) return null;
  const rank = q * total;
  let cum = h.zero;
  if (cum >= rank && h.zero > 0) return 0;
  let last = -1;
  for (let j = 0; j < h.len; j++) {
    const c = h.counts[j]!;
    if (c === 0) continue;
    last = j;
    if (cum + c >= rank) {
      const i = h.offset + j;
      const lower = upperMs(i - 1, h.scale), upper = upperMs(i, h.scale);
      const f = (rank - cum) / c;
      if (interpolation === "linear") return lower + (upper - lower) * f;
      if (interpolation === "exponential") return lower * (upper / lower) ** f;
      // Densities per bucket width; a bucket outside the held range is empty.
      const below = j > 0 ? h.counts[j - 1]! : 0;
      const above = j + 1 < h.len ? h.counts[j + 1]! : 0;
      const t = hermiteInverse(f, knotSlope(below, c) / c, knotSlope(c, above) / c);
      return lower * (upper / lower) ** t;
    }
    cum += c;
  }
  return last >= 0 ? upperMs(h.offset + last, h.scale) : 0;
}
