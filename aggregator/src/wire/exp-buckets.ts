// The bucket convention of wire v2's exponential histograms (Prometheus native histograms): at
// scale (schema) s, bucket i holds values v (ms) with 2^((i-1)/2^s) < v ≤ 2^(i/2^s); a zero
// bucket holds the exact zeros. Shared by the validator and the store.

/** Finest scale kept (Prometheus accepts schemas -4..8). */
export const MAX_SCALE = 8;
/** Coarsest scale kept: at 0 every power of two (in ms) is still a boundary. */
export const MIN_SCALE = 0;
/**
 * Bucket indices that values of the wire's range can take, at scale 0: 1 µs = 2^-9.97 ms is in
 * bucket -9; 2^32 ms (~50 days) is the top. At scale s the range is [MIN_INDEX_0·2^s, MAX_INDEX_0·2^s].
 * The range spans FIT_CAP buckets at scale 0, so a cap of at least that fits every value at scale ≥ 0.
 */
export const MIN_INDEX_0 = -10;
export const MAX_INDEX_0 = 32;
/** Values above 2^MAX_INDEX_0 ms (~50 days) are recorded as that (µs). */
export const MAX_US = 2 ** MAX_INDEX_0 * 1000;
export const FIT_CAP = MAX_INDEX_0 - MIN_INDEX_0 + 1;
/** Smallest cap the aggregator is configured with. */
export const MIN_CAP = 64;

/** Bucket i at scale s maps to bucket ((i-1) >> d) + 1 at scale s-d (upper-inclusive buckets). */
export const downIndex = (i: number, d: number): number => ((i - 1) >> d) + 1;

/** FRAC[s][j] = 2^(j/2^s): the boundaries inside one octave at scale s. */
const FRAC: readonly Float64Array[] = Array.from({ length: MAX_SCALE + 1 }, (_, s) => Float64Array.from({ length: 2 ** s }, (_, j) => 2 ** (j / 2 ** s)));
/** P2[k + 64] = 2^k. */
const P2 = Float64Array.from({ length: 129 }, (_, k) => 2 ** (k - 64));

/** Upper bound (ms) of bucket i at scale s (0 ≤ s ≤ MAX_SCALE): a table lookup, exact at powers of two. */
export function upperMs(i: number, s: number): number {
  const k = (i >> s) + 64;
  return k >= 0 && k <= 128 ? P2[k]! * FRAC[s]![i & ((1 << s) - 1)]! : 2 ** (i / 2 ** s);
}

/**
 * UPPER_MS[s][i - lowestUpper(s)] = upperMs(i, s) for every bucket index the wire's range
 * allows at scale s, and the one below it (a bucket's lower bound): validation reads two bounds
 * per occupied bucket, and a lookup here gives the very same doubles as upperMs().
 */
export const UPPER_MS: readonly Float64Array[] = Array.from({ length: MAX_SCALE + 1 }, (_, s) =>
  Float64Array.from({ length: (MAX_INDEX_0 - MIN_INDEX_0) * 2 ** s + 2 }, (_, j) => upperMs(j + lowestUpper(s), s)));
/** A shift, not 2 ** s: V8 (Node 20) computes `2 ** s` of a variable s through a slow pow call. */
export function lowestUpper(s: number): number { return MIN_INDEX_0 * (1 << s) - 1; }

/** The bucket of a positive value (ms) at scale s; exact powers of two land on their own upper bound. */
export function indexOfMs(ms: number, s: number): number {
  let i = Math.ceil(Math.log2(ms) * 2 ** s) | 0; // | 0: no -0
  // log2 rounding can put a value one bucket off near a boundary; fix against the bounds themselves.
  while (upperMs(i - 1, s) >= ms) i--;
  while (upperMs(i, s) < ms) i++;
  return i;
}
