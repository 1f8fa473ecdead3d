// Histogram accumulation on the filters' bucket bounds, re-bucketing between bound sets, and
// Prometheus-style quantile interpolation.
import type { Timing } from "../wire/types.ts";

/** An interned set of bucket bounds (interning lets renderers cache per set by identity). */
export interface Bounds {
  readonly us: readonly number[];
  readonly key: string;
  /** Upper bounds in ms, then +Infinity. */
  readonly ms: readonly number[];
}

const interned = new Map<string, Bounds>();
const MAX_INTERNED = 1024; // distinct bound sets are a handful in practice; cap against hostile churn

export function internBounds(us: readonly number[]): Bounds {
  const key = us.join(",");
  let b = interned.get(key);
  if (b) return b;
  const ms = us.map((x) => x / 1000);
  b = Object.freeze({ us: Object.freeze([...us]), key, ms: Object.freeze([...ms, Infinity]) });
  if (interned.size < MAX_INTERNED) interned.set(key, b);
  return b;
}

const maps = new WeakMap<Bounds, Map<string, Int32Array>>();

/**
 * For each bucket of `from`, the bucket of `to` it is counted in: the first whose upper bound
 * is ≥ the source bucket's upper bound. Cumulative counts stay correct at every `le` of `to`
 * that is also ≥ the values' real upper bound; values are never counted below where they may be.
 */
export function mapping(from: Bounds, to: Bounds): Int32Array {
  let m = maps.get(from);
  if (!m) { m = new Map(); maps.set(from, m); }
  let a = m.get(to.key);
  if (!a) {
    a = new Int32Array(from.us.length + 1);
    for (let i = 0; i <= from.us.length; i++) {
      if (i === from.us.length) { a[i] = to.us.length; continue; }
      let j = 0;
      while (j < to.us.length && to.us[j]! < from.us[i]!) j++;
      a[i] = j;
    }
    m.set(to.key, a);
  }
  return a;
}

export class Hist {
  n = 0;
  sumUs = 0;
  readonly counts: Float64Array;
  constructor(readonly bounds: Bounds) {
    this.counts = new Float64Array(bounds.us.length + 1);
  }

  /** Adds a validated wire timing observed against `from` bounds. */
  addWire(t: Timing, from: Bounds): void {
    this.n += t.n;
    this.sumUs += t.sumUs;
    const b = t.buckets;
    if (from === this.bounds) {
      for (let i = 0; i < b.length; i += 2) this.counts[b[i]!]! += b[i + 1]!;
    } else {
      const m = mapping(from, this.bounds);
      for (let i = 0; i < b.length; i += 2) this.counts[m[b[i]!]!]! += b[i + 1]!;
    }
  }

  /** Adds `n`, `sumUs` and dense non-cumulative counts stored at `counts[off..]` against `from`. */
  addDense(n: number, sumUs: number, counts: Float32Array | Float64Array, off: number, from: Bounds): void {
    this.n += n;
    this.sumUs += sumUs;
    const len = from.us.length + 1;
    if (from === this.bounds) {
      for (let i = 0; i < len; i++) this.counts[i]! += counts[off + i]!;
    } else {
      const m = mapping(from, this.bounds);
      for (let i = 0; i < len; i++) this.counts[m[i]!]! += counts[off + i]!;
    }
  }

  addHist(h: Hist): void {
    this.n += h.n;
    this.sumUs += h.sumUs;
    if (h.bounds === this.bounds) {
      for (let i = 0; i < h.counts.length; i++) this.counts[i]! += h.counts[i]!;
    } else {
      const m = mapping(h.bounds, this.bounds);
      for (let i = 0; i < h.counts.length; i++) this.counts[m[i]!]! += h.counts[i]!;
    }
  }

  meanMs(): number | null {
    return this.n > 0 ? this.sumUs / this.n / 1000 : null;
  }

  /** Like PromQL histogram_quantile: linear interpolation inside the bucket; +Inf → last finite bound. */
  quantileMs(q: number): number | null {
    let total = 0;
    for (let i = 0; i < this.counts.length; i++) total += this.counts[i]!;
    if (total === 0) return null;
    const rank = q * total;
    let cum = 0;
    for (let i = 0; i < this.counts.length; i++) {
      const c = this.counts[i]!;
      if (cum + c >= rank && c > 0) {
        const ms = this.bounds.ms;
        if (i === ms.length - 1) return ms.length >= 2 ? ms[ms.length - 2]! : null;
        const upper = ms[i]!;
        const lower = i === 0 ? (upper > 0 ? 0 : upper) : ms[i - 1]!;
        return lower + ((upper - lower) * (rank - cum)) / c;
      }
      cum += c;
    }
    return null;
  }
}
