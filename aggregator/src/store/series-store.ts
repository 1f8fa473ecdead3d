// Cumulative series per label set: deltas from batches are merged in, counters only go up.
// Bounded by `maxSeries` (new label sets beyond it fold into the all-`overflow` series) and by
// idle expiry (an expired series disappears from /metrics; if its label set returns it restarts
// from 0, which Prometheus treats as a counter reset).
import { ExpHist } from "./exp-histogram.ts";
import { internBounds } from "./v1-buckets.ts";
import type { Bounds } from "./v1-buckets.ts";
import { addWireTiming } from "./wire-timing.ts";
import { slowest } from "./exemplars.ts";
import type { Exemplar } from "./exemplars.ts";
import { LABEL_NAMES, TIMING_NAMES } from "../wire/types.ts";
import type { Batch, WireSeries } from "../wire/types.ts";

export const OVERFLOW_LABELS: readonly string[] = Object.freeze(LABEL_NAMES.map(() => "overflow"));
const OVERFLOW_KEY = OVERFLOW_LABELS.join("\u0000");

export class StoredSeries {
  count = 0;
  readonly timings: (ExpHist | null)[] = TIMING_NAMES.map(() => null);
  /** Per timing, the slowest recent traced request (exemplars.ts). */
  readonly exemplars: (Exemplar | null)[] = TIMING_NAMES.map(() => null);
  constructor(readonly key: string, readonly labels: readonly string[], public lastSeen: number, private readonly cap: number) {}

  /** Merges a series point; `from` is the v1 batch's bounds (null for v2). */
  add(w: WireSeries, from: Bounds | null): void {
    this.count += w.count;
    for (let t = 0; t < w.timings.length; t++) {
      const wt = w.timings[t];
      if (!wt) continue;
      let h = this.timings[t];
      if (!h) h = this.timings[t] = new ExpHist(this.cap);
      addWireTiming(h, wt, from);
    }
  }

  /** Offers timing `t`'s exemplar of a window; kept when slower, or when the kept one is older than `spanMs`. */
  offerExemplar(t: number, e: Exemplar, nowMs: number, spanMs: number): void {
    this.exemplars[t] = slowest(this.exemplars[t]!, e, nowMs, spanMs);
  }
}

export interface StoreOptions {
  readonly maxSeries: number;
  readonly idleTimeoutMs: number;
  /** Bucket cap of each stored exponential histogram. */
  readonly histogramBuckets: number;
  /** How long a series' exemplar stands against faster ones (exemplars.ts). */
  readonly exemplarSpanMs: number;
}

export class SeriesStore {
  readonly series = new Map<string, StoredSeries>();
  /** Series points (label sets in batches) merged into the overflow series because of the cap. */
  folded = 0;
  expired = 0;
  points = 0;
  constructor(readonly opts: StoreOptions) {}

  /** Stored series count, not counting the overflow series (which the cap does not include). */
  get size(): number {
    return this.series.size - (this.series.has(OVERFLOW_KEY) ? 1 : 0);
  }

  /**
   * Merges a validated batch. `onSeries` sees every merged point with the series it landed in
   * (the overflow series when folded), for the sliding windows.
   */
  merge(batch: Batch, now: number, onSeries?: (s: StoredSeries, w: WireSeries, from: Bounds | null) => void): void {
    const from = batch.v === 1 ? internBounds(batch.boundsUs) : null;
    const cap = this.opts.histogramBuckets;
    for (const w of batch.series) {
      const key = w.labels.join("\u0000");
      let s = this.series.get(key);
      if (!s) {
        if (key !== OVERFLOW_KEY && this.size >= this.opts.maxSeries) {
          this.folded++;
          s = this.series.get(OVERFLOW_KEY);
          if (!s) { s = new StoredSeries(OVERFLOW_KEY, OVERFLOW_LABELS, now, cap); this.series.set(OVERFLOW_KEY, s); }
        } else {
          s = new StoredSeries(key, w.labels, now, cap);
          this.series.set(key, s);
        }
      }
      s.lastSeen = now;
      s.add(w, from);
      if (w.exemplar) s.offerExemplar(0, { traceId: w.exemplar.traceId, valueMs: w.exemplar.valueUs / 1000, timeMs: w.exemplar.timeMs }, now, this.opts.exemplarSpanMs);
      this.points++;
      onSeries?.(s, w, from);
    }
  }

  /** Removes series idle for longer than the timeout; returns how many. */
  expire(now: number): number {
    const cutoff = now - this.opts.idleTimeoutMs;
    let n = 0;
    for (const [k, s] of this.series) {
      if (s.lastSeen < cutoff) { this.series.delete(k); n++; }
    }
    this.expired += n;
    return n;
  }
}
