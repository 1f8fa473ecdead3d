// Base-2 exponential histograms in the Prometheus native-histogram convention: at scale
// (schema) s, bucket i holds values v (ms) with 2^((i-1)/2^s) < v ≤ 2^(i/2^s); a zero bucket
// holds the exact zeros. Windows and VMs merge at their lowest common scale, and a bucket cap
// lowers the scale (two buckets become one) instead of growing without bound. The scale never
// goes below 0, so every power of two in ms stays a bucket boundary and the classic `le` set
// (CLASSIC_LE_MS) is read off exactly at any scale kept.

import { FIT_CAP, MAX_SCALE, MAX_US, MIN_SCALE, downIndex, indexOfMs } from "../wire/exp-buckets.ts";
import { quantileOf } from "./exp-quantile.ts";
import type { Interpolation } from "./exp-quantile.ts";

export { FIT_CAP, MAX_INDEX_0, MAX_SCALE, MIN_CAP, MIN_INDEX_0, MIN_SCALE, downIndex, indexOfMs, upperMs } from "../wire/exp-buckets.ts";

/** Classic `le` bounds (ms): powers of two from 2^-5 ms (31.25 µs) to 2^16 ms (65.5 s), then +Inf. */
export const CLASSIC_LE_EXP: readonly number[] = Object.freeze(Array.from({ length: 22 }, (_, k) => k - 5));
export const CLASSIC_LE_MS: readonly number[] = Object.freeze(CLASSIC_LE_EXP.map((k) => 2 ** k));

const EMPTY: number[] = Object.freeze([]) as unknown as number[];

export class ExpHist {
  n = 0;
  sumUs = 0;
  zero = 0;
  scale: number;
  /** Index of counts[0]; buckets offset..offset+len-1 are held densely. */
  offset = 0;
  len = 0;
  /**
   * A plain array, sized to the occupied range: V8 keeps small integers in it at 4 bytes each
   * (and switches it to doubles, exact to 2^53, once a count outgrows them), on its own heap —
   * a typed array costs two more objects and a separate backing store per histogram, which at
   * a few dozen buckets weigh more than the counts.
   */
  counts: number[];

  constructor(readonly cap: number, scale = MAX_SCALE) {
    if (cap < FIT_CAP) throw new RangeError(`bucket cap ${cap} is below ${FIT_CAP}`);
    this.scale = scale;
    this.counts = EMPTY;
  }

  /** Occupied-window upper index (offset + len - 1), meaningful when len > 0. */
  get top(): number { return this.offset + this.len - 1; }

  /** Lowers the scale by d, folding pairs of buckets together. */
  downscale(d: number): void {
    if (d <= 0) return;
    if (this.scale - d < MIN_SCALE) throw new RangeError(`scale ${this.scale - d} is below ${MIN_SCALE}`);
    this.scale -= d;
    if (this.len === 0) return;
    const c = this.counts;
    const off = downIndex(this.offset, d);
    const top = downIndex(this.top, d);
    // Targets never pass their sources (j' ≤ j), so folding in place front to back is safe.
    for (let j = 0; j < this.len; j++) {
      const v = c[j]!;
      c[j] = 0;
      c[downIndex(this.offset + j, d) - off]! += v;
    }
    this.offset = off;
    this.len = top - off + 1;
  }

  /**
   * Makes room for buckets lo..hi given at scale s: lowers this histogram's scale to s if it is
   * finer, then further while the union would exceed the cap. Returns the shift (s - scale) to
   * apply to incoming indices.
   */
  private prepare(s: number, lo: number, hi: number): number {
    if (s === this.scale && this.len !== 0 && lo >= this.offset && hi <= this.offset + this.len - 1) return 0;
    if (s < this.scale) this.downscale(this.scale - s);
    for (;;) {
      const d = s - this.scale;
      const l = downIndex(lo, d), h = downIndex(hi, d);
      const newLo = this.len ? Math.min(this.offset, l) : l;
      const newHi = this.len ? Math.max(this.top, h) : h;
      if (newHi - newLo + 1 <= this.cap) { this.extend(newLo, newHi); return d; }
      this.downscale(1);
    }
  }

  private extend(lo: number, hi: number): void {
    const len = hi - lo + 1;
    if (len > this.counts.length) {
      // Exactly the range: a histogram's range settles after its first few merges.
      const grown = new Array<number>(len).fill(0);
      const at = this.len ? this.offset - lo : 0;
      for (let j = 0; j < this.len; j++) grown[at + j] = this.counts[j]!;
      this.counts = grown;
    } else if (this.len && lo < this.offset) {
      const shift = this.offset - lo;
      this.counts.copyWithin(shift, 0, this.len);
      this.counts.fill(0, 0, shift);
    } else if (!this.len) this.counts.fill(0, 0, len);
    this.offset = lo;
    this.len = len;
  }

  /** Adds n observations summing to sumUs whose buckets follow (call addCounts / addZero). */
  addTotals(n: number, sumUs: number): void {
    this.n += n;
    this.sumUs += sumUs;
  }

  addZero(c: number): void { this.zero += c; }

  /** Adds consecutive bucket counts `counts[from..to)` for buckets offset.. at scale s. */
  addCounts(s: number, offset: number, counts: ArrayLike<number>, from = 0, to = counts.length): void {
    if (to <= from) return;
    const d = this.prepare(s, offset, offset + (to - from) - 1);
    const c = this.counts;
    if (d === 0) {
      const base = offset - this.offset - from;
      for (let j = from; j < to; j++) c[base + j]! += counts[j]!;
    } else {
      for (let j = from; j < to; j++) {
        const v = counts[j]!;
        if (v) c[downIndex(offset + j - from, d) - this.offset]! += v;
      }
    }
  }

  /**
   * Adds occupied buckets only — absolute indices `idx[b0..b1)` at scale s with counts
   * `cnt[b0..b1)` — of a timing whose range is lo..hi: the same as addCounts() of its dense
   * counts (the range, not the occupied buckets, decides the scale), without walking its empty
   * buckets. The common case — same scale, within the held range — is one plain loop.
   */
  addSparse(s: number, lo: number, hi: number, idx: Int32Array, cnt: Float64Array, b0: number, b1: number): void {
    const d = s === this.scale && this.len !== 0 && lo >= this.offset && hi < this.offset + this.len ? 0 : this.prepare(s, lo, hi);
    const c = this.counts, off = this.offset;
    if (d === 0) for (let b = b0; b < b1; b++) c[idx[b]! - off]! += cnt[b]!;
    else for (let b = b0; b < b1; b++) c[downIndex(idx[b]!, d) - off]! += cnt[b]!;
  }

  /** Adds one bucket count at scale s. */
  addBucket(s: number, i: number, count: number): void {
    const d = this.prepare(s, i, i);
    this.counts[downIndex(i, d) - this.offset]! += count;
  }

  merge(o: ExpHist): void {
    this.addTotals(o.n, o.sumUs);
    this.zero += o.zero;
    this.addCounts(o.scale, o.offset, o.counts, 0, o.len);
  }

  /** Total of the bucket counts, zero bucket included (equals n for consistent input). */
  total(): number {
    let t = this.zero;
    for (let j = 0; j < this.len; j++) t += this.counts[j]!;
    return t;
  }

  meanMs(): number | null {
    return this.n > 0 ? this.sumUs / this.n / 1000 : null;
  }

  /** Count of observations ≤ 2^k ms: exact, since 2^k is a boundary at every scale ≥ 0. */
  cumulativeAtPow2(k: number): number {
    const last = k * 2 ** this.scale; // bucket whose upper bound is 2^k
    let t = this.zero;
    const stop = Math.min(this.len, last - this.offset + 1);
    for (let j = 0; j < stop; j++) t += this.counts[j]!;
    return t;
  }

  /** Cumulative counts at each CLASSIC_LE_MS bound, then +Inf. */
  classic(out: Float64Array = new Float64Array(CLASSIC_LE_EXP.length + 1)): Float64Array {
    const per = 2 ** this.scale;
    let t = this.zero;
    let j = 0;
    for (let b = 0; b < CLASSIC_LE_EXP.length; b++) {
      const stop = Math.min(this.len, CLASSIC_LE_EXP[b]! * per - this.offset + 1);
      for (; j < stop; j++) t += this.counts[j]!;
      out[b] = t;
    }
    for (; j < this.len; j++) t += this.counts[j]!;
    out[CLASSIC_LE_EXP.length] = t;
    return out;
  }

  /** The q-quantile in ms (exp-quantile.ts): the latency API's interpolation unless told otherwise. */
  quantileMs(q: number, interpolation: Interpolation = "cubic"): number | null {
    return quantileOf(this, q, interpolation);
  }

  /** Non-empty buckets as [index, count] pairs at the current scale (for encoders). */
  *buckets(): Generator<[number, number]> {
    for (let j = 0; j < this.len; j++) if (this.counts[j]) yield [this.offset + j, this.counts[j]!];
  }
}

/** Records one value (µs, integer) at the histogram's current scale: the reference the filter follows. */
export function observeUs(h: ExpHist, us: number): void {
  if (us > MAX_US) us = MAX_US;
  h.addTotals(1, us);
  if (us === 0) h.addZero(1);
  else h.addBucket(h.scale, indexOfMs(us / 1000, h.scale), 1);
}
