// Wire v1 timings (classic buckets on the filter's bounds) into exponential histograms. A v1
// bucket (bounds[i-1], bounds[i]] µs is counted in the exponential bucket holding its upper
// bound, so a value is never counted below where it may be; v1's +Inf bucket is counted at its
// last finite bound. Counts and sums stay exact; bucket placement is as coarse as v1's bounds.
import { MAX_SCALE, indexOfMs } from "./exp-histogram.ts";
import type { ExpHist } from "./exp-histogram.ts";
import type { Timing } from "../wire/types.ts";

/** An interned v1 bound set with, per v1 bucket, its exponential bucket at MAX_SCALE (null: zero bucket). */
export interface Bounds {
  readonly us: readonly number[];
  readonly key: string;
  readonly index: readonly (number | null)[];
}

const interned = new Map<string, Bounds>();
const MAX_INTERNED = 1024; // distinct bound sets are a handful in practice; cap against hostile churn

export function internBounds(us: readonly number[]): Bounds {
  const key = us.join(",");
  let b = interned.get(key);
  if (b) return b;
  const index = [...us, us[us.length - 1]!].map((upper) => (upper > 0 ? indexOfMs(upper / 1000, MAX_SCALE) : null));
  b = Object.freeze({ us: Object.freeze([...us]), key, index: Object.freeze(index) });
  if (interned.size < MAX_INTERNED) interned.set(key, b);
  return b;
}

export function addV1Timing(h: ExpHist, t: Timing, from: Bounds): void {
  h.addTotals(t.n, t.sumUs);
  const b = t.buckets;
  for (let i = 0; i < b.length; i += 2) {
    const idx = from.index[b[i]!]!;
    if (idx === null) h.addZero(b[i + 1]!);
    else h.addBucket(MAX_SCALE, idx, b[i + 1]!);
  }
}
