// Cumulative series per label set: deltas from batches are merged in, counters only go up.
// Bounded by `maxSeries`, by a per-namespace quota (the reporting proxy's namespace, so one bad
// sender folds only its own new series) and by a budget on the /metrics text the series render
// (a few long labels must not make every scrape huge): new label sets beyond any of them fold
// into the all-`overflow` series. Idle expiry removes series (an expired series disappears from
// /metrics; if its label set returns it restarts from 0, a counter reset to Prometheus).
import { CLASSIC_LE_MS, ExpHist } from "./exp-histogram.ts";
import { internBounds } from "./v1-buckets.ts";
import type { Bounds } from "./v1-buckets.ts";
import { addWireTiming } from "./wire-timing.ts";
import { slowest } from "./exemplars.ts";
import type { Exemplar } from "./exemplars.ts";
import { LABEL_NAMES, TIMING_NAMES } from "../wire/types.ts";
import type { Batch, WireSeries } from "../wire/types.ts";

export const OVERFLOW_LABELS: readonly string[] = Object.freeze(LABEL_NAMES.map(() => "overflow"));
const OVERFLOW_KEY = OVERFLOW_LABELS.join("\u0000");

/** Lines one series renders in the text formats: its request counter, then per timing every classic bucket, +Inf, _sum and _count. */
const LINES_PER_SERIES = 1 + TIMING_NAMES.length * (CLASSIC_LE_MS.length + 3);
/** Per line beyond the label values: metric and label names, quotes, le, value (an upper estimate). */
const LINE_OVERHEAD = 300;

/** Upper estimate of the /metrics text bytes a label set renders per scrape (text format, uncompressed). */
export function renderedBytes(labels: readonly string[]): number {
  let len = 0;
  for (const l of labels) len += l.length * 3; // UTF-16 units → at most 3 UTF-8 bytes each (escapes included)
  return LINES_PER_SERIES * (len + LINE_OVERHEAD);
}

export class StoredSeries {
  count = 0;
  readonly timings: (ExpHist | null)[] = TIMING_NAMES.map(() => null);
  /** Per timing, the slowest recent traced request (exemplars.ts). */
  readonly exemplars: (Exemplar | null)[] = TIMING_NAMES.map(() => null);
  /** The namespace of the proxy that created it (whose quota it counts against) and its render cost. */
  owner = "";
  cost = 0;
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
  /** Series one reporting namespace may create (Infinity: no quota). */
  readonly maxSeriesPerNamespace?: number;
  /** Budget of renderedBytes() over all stored series (Infinity: none). */
  readonly maxExpositionBytes?: number;
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
  /** Of those, folded because of the reporting namespace's quota or the rendered-bytes budget. */
  foldedByQuota = 0;
  foldedByBudget = 0;
  expired = 0;
  points = 0;
  /** renderedBytes() summed over stored series. */
  renderBytes = 0;
  private readonly perNamespace = new Map<string, number>();
  constructor(readonly opts: StoreOptions) {}

  /** Why a new label set from `namespace` must fold into overflow, or null. */
  private foldReason(namespace: string, cost: number): "cap" | "quota" | "budget" | null {
    if (this.size >= this.opts.maxSeries) return "cap";
    if ((this.perNamespace.get(namespace) ?? 0) >= (this.opts.maxSeriesPerNamespace ?? Infinity)) return "quota";
    if (this.renderBytes + cost > (this.opts.maxExpositionBytes ?? Infinity)) return "budget";
    return null;
  }

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
    const ns = batch.proxy.namespace;
    for (const w of batch.series) {
      const key = w.labels.join("\u0000");
      let s = this.series.get(key);
      if (!s) {
        const cost = renderedBytes(w.labels);
        const fold = key === OVERFLOW_KEY ? null : this.foldReason(ns, cost);
        if (fold) {
          this.folded++;
          if (fold === "quota") this.foldedByQuota++;
          if (fold === "budget") this.foldedByBudget++;
          s = this.series.get(OVERFLOW_KEY);
          if (!s) { s = new StoredSeries(OVERFLOW_KEY, OVERFLOW_LABELS, now, cap); this.series.set(OVERFLOW_KEY, s); }
        } else {
          s = new StoredSeries(key, w.labels, now, cap);
          s.owner = ns;
          s.cost = cost;
          this.series.set(key, s);
          this.renderBytes += cost;
          if (key !== OVERFLOW_KEY) this.perNamespace.set(ns, (this.perNamespace.get(ns) ?? 0) + 1);
        }
      }
      s.lastSeen = now;
      s.add(w, from);
      if (w.exemplar) s.offerExemplar(0, { traceId: w.exemplar.traceId, valueMs: w.exemplar.valueUs / 1000, timeMs: w.exemplar.timeMs }, now, this.opts.exemplarSpanMs);
      this.points++;
      onSeries?.(s, w, from);
    }
  }

  private forget(s: StoredSeries): void {
    this.renderBytes -= s.cost;
    if (s.key === OVERFLOW_KEY) return;
    const left = (this.perNamespace.get(s.owner) ?? 1) - 1;
    if (left > 0) this.perNamespace.set(s.owner, left); else this.perNamespace.delete(s.owner);
  }

  /** Removes series idle for longer than the timeout; returns how many. */
  expire(now: number): number {
    const cutoff = now - this.opts.idleTimeoutMs;
    let n = 0;
    for (const [k, s] of this.series) {
      if (s.lastSeen < cutoff) { this.series.delete(k); this.forget(s); n++; }
    }
    this.expired += n;
    return n;
  }
}
