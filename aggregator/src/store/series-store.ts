// Cumulative series per label set: deltas from batches are merged in, counters only go up.
// Bounded by `maxSeries`, by a per-namespace quota (the reporting proxy's namespace, so one bad
// sender folds only its own new series) and by a budget on the /metrics text the series render
// (a few long labels must not make every scrape huge): new label sets beyond any of them fold
// into the all-`overflow` series. Idle expiry removes series (an expired series disappears from
// /metrics; if its label set returns it restarts from 0, a counter reset to Prometheus).
// Series are keyed by their label ids (label-ids.ts). A batch merges from either form the
// reader gives: a flat batch (the filter's shape, read in one pass) or a general-path Batch;
// both take the same steps (test/read-v2.test.ts compares their effect).
import { CLASSIC_LE_MS, ExpHist } from "./exp-histogram.ts";
import { internBounds } from "./v1-buckets.ts";
import type { Bounds } from "./v1-buckets.ts";
import { addFlatTimings, addWireTiming } from "./wire-timing.ts";
import { slowest } from "./exemplars.ts";
import type { Exemplar } from "./exemplars.ts";
import { LabelIds, idAt, keyOf } from "./label-ids.ts";
import { SeriesIndex } from "./series-index.ts";
import type { WindowEntry, WindowRing } from "./windows.ts";
import { LABEL_NAMES, TIMING_NAMES } from "../wire/types.ts";
import type { Batch, WireSeries } from "../wire/types.ts";
import { NL, smallInt } from "../wire/flat-batch.ts";
import type { FlatBatch } from "../wire/flat-batch.ts";

export const OVERFLOW_LABELS: readonly string[] = Object.freeze(LABEL_NAMES.map(() => "overflow"));

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
  /** The windows' fine-slot entry this series last wrote, and that slot (windows.ts: a cache, checked before use). */
  winEntry: WindowEntry | null = null;
  winSlot: object | null = null;
  winNo = -1;
  /** Bumped by every change of count, timings or exemplars (the protobuf render re-encodes on change). */
  version = 0;
  constructor(readonly key: string, readonly labels: readonly string[], public lastSeen: number, private readonly cap: number) {}

  /** Merges a series point; `from` is the v1 batch's bounds (null for v2). */
  add(w: WireSeries, from: Bounds | null): void {
    this.version++;
    this.count += w.count;
    for (let t = 0; t < w.timings.length; t++) {
      const wt = w.timings[t];
      if (!wt) continue;
      let h = this.timings[t];
      if (!h) h = this.timings[t] = new ExpHist(this.cap);
      addWireTiming(h, wt, from);
    }
  }

  /** Merges series `i` of a flat batch, and its timings into the window entries `entries[0..n)` too (their count and exemplar are theirs to add). */
  addFlat(fb: FlatBatch, i: number, entries: readonly WindowEntry[], n: number): void {
    this.version++;
    this.count += smallInt(fb.count[i]!);
    addFlatTimings(this.timings, entries, n, this.cap, fb, i);
  }

  /** Offers timing `t`'s exemplar of a window; kept when slower, or when the kept one is older than `spanMs`. */
  offerExemplar(t: number, e: Exemplar, nowMs: number, spanMs: number): void {
    this.version++;
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
  /** How long a key may still name window entries after its series is gone (the windows' horizon, label-ids.ts). */
  readonly keyRetainMs: number;
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
  private readonly ids: LabelIds;
  /** The same series by label ids (flat batches look series up there). */
  private readonly index = new SeriesIndex<StoredSeries>();
  private readonly overflowKey: string;
  private readonly overflowIds: Int32Array;
  /** Scratch: one series' label ids (general path), or per string-table entry its id (flat batches). */
  private readonly lids = new Int32Array(NL);
  private tableIds = new Int32Array(0);
  private readonly keyIds = new Int32Array(NL);
  constructor(readonly opts: StoreOptions) {
    this.ids = new LabelIds(opts.keyRetainMs);
    const o = this.ids.id("overflow");
    this.ids.ref(o); // the overflow series' key stays valid for good
    this.overflowIds = new Int32Array(NL).fill(o);
    this.overflowKey = keyOf(this.overflowIds, 0);
  }

  /** Why a new label set from `namespace` must fold into overflow, or null. */
  private foldReason(namespace: string, cost: number): "cap" | "quota" | "budget" | null {
    if (this.size >= this.opts.maxSeries) return "cap";
    if ((this.perNamespace.get(namespace) ?? 0) >= (this.opts.maxSeriesPerNamespace ?? Infinity)) return "quota";
    if (this.renderBytes + cost > (this.opts.maxExpositionBytes ?? Infinity)) return "budget";
    return null;
  }

  /** Stored series count, not counting the overflow series (which the cap does not include). */
  get size(): number {
    return this.series.size - (this.series.has(this.overflowKey) ? 1 : 0);
  }

  /** Distinct label values held for keys (bounded: label-ids.ts). */
  get labelValues(): number { return this.ids.size; }

  /**
   * The series a label set not stored yet lands in: a new series (its label ids in `ids` at
   * `at`), or the overflow series when the cap, the namespace's quota or the render budget
   * says fold.
   */
  private create(key: string, labels: readonly string[], ids: Int32Array, at: number, ns: string, now: number): StoredSeries {
    const cap = this.opts.histogramBuckets;
    const cost = renderedBytes(labels);
    const fold = key === this.overflowKey ? null : this.foldReason(ns, cost);
    if (fold) {
      this.folded++;
      if (fold === "quota") this.foldedByQuota++;
      if (fold === "budget") this.foldedByBudget++;
      let s = this.series.get(this.overflowKey);
      if (!s) {
        s = new StoredSeries(this.overflowKey, OVERFLOW_LABELS, now, cap);
        this.series.set(this.overflowKey, s);
        this.index.add(s, this.overflowIds, 0);
        for (let i = 0; i < NL; i++) this.ids.ref(this.overflowIds[i]!);
      }
      return s;
    }
    const s = new StoredSeries(key, labels, now, cap);
    s.owner = ns;
    s.cost = cost;
    this.series.set(key, s);
    this.index.add(s, ids, at);
    for (let i = 0; i < NL; i++) this.ids.ref(ids[at + i]!);
    this.renderBytes += cost;
    if (key !== this.overflowKey) this.perNamespace.set(ns, (this.perNamespace.get(ns) ?? 0) + 1);
    return s;
  }

  /**
   * Merges a validated batch. `onSeries` sees every merged point with the series it landed in
   * (the overflow series when folded), for the sliding windows.
   */
  merge(batch: Batch, now: number, onSeries?: (s: StoredSeries, w: WireSeries, from: Bounds | null) => void): void {
    this.ids.sweep(now);
    const from = batch.v === 1 ? internBounds(batch.boundsUs) : null;
    const ns = batch.proxy.namespace;
    const ids = this.lids;
    for (const w of batch.series) {
      for (let i = 0; i < NL; i++) ids[i] = this.ids.id(w.labels[i]!);
      const key = keyOf(ids, 0);
      const s = this.series.get(key) ?? this.create(key, w.labels, ids, 0, ns, now);
      s.lastSeen = now;
      s.add(w, from);
      if (w.exemplar) s.offerExemplar(0, { traceId: w.exemplar.traceId, valueMs: w.exemplar.valueUs / 1000, timeMs: w.exemplar.timeMs }, now, this.opts.exemplarSpanMs);
      this.points++;
      onSeries?.(s, w, from);
    }
  }

  /**
   * Merges a flat batch (wire/flat-batch.ts) with the same effect as merge() of the same batch
   * read by the general path, and each point into the window entries `windows` gives for it at
   * time `t` (the timings of a series and of its entries are merged in one pass).
   */
  mergeFlat(fb: FlatBatch, now: number, windows: WindowRing, t: number): void {
    this.ids.sweep(now);
    const nStrings = fb.nStrings;
    if (this.tableIds.length < nStrings) this.tableIds = new Int32Array(Math.max(nStrings, 2 * this.tableIds.length));
    const tids = this.tableIds;
    for (let i = 0; i < nStrings; i++) tids[i] = this.ids.idOfBytes(fb.body, fb.strStart[i]!, fb.strEnd[i]!);
    const ns = fb.proxy.namespace;
    const lab = fb.lab, kids = this.keyIds;
    for (let i = 0; i < fb.n; i++) {
      const at = i * NL;
      for (let j = 0; j < NL; j++) kids[j] = tids[lab[at + j]!]!;
      let s = this.index.get(kids, 0);
      if (!s) {
        const labels = new Array<string>(NL);
        for (let j = 0; j < NL; j++) labels[j] = this.ids.value(kids[j]!);
        s = this.create(keyOf(kids, 0), labels, kids, 0, ns, now);
      }
      s.lastSeen = now;
      const entries = windows.hit;
      const n = windows.entriesFor(t, s);
      s.addFlat(fb, i, entries, n);
      for (let j = 0; j < n; j++) entries[j]!.addFlatPoint(fb, i);
      const trace = fb.exTrace[i];
      if (trace != null) s.offerExemplar(0, { traceId: trace, valueMs: fb.exValue[i]! / 1000, timeMs: fb.exTime[i]! }, now, this.opts.exemplarSpanMs);
      this.points++;
    }
  }

  private forget(s: StoredSeries, now: number): void {
    this.renderBytes -= s.cost;
    for (let i = 0; i < NL; i++) this.ids.unref(idAt(s.key, i), now);
    if (s.key === this.overflowKey) return;
    const left = (this.perNamespace.get(s.owner) ?? 1) - 1;
    if (left > 0) this.perNamespace.set(s.owner, left); else this.perNamespace.delete(s.owner);
  }

  /** Removes series idle for longer than the timeout; returns how many. */
  expire(now: number): number {
    const cutoff = now - this.opts.idleTimeoutMs;
    let n = 0;
    for (const [k, s] of this.series) {
      if (s.lastSeen < cutoff) { this.series.delete(k); this.forget(s, now); n++; }
    }
    this.expired += n;
    if (n > 0) this.index.rebuild(this.series.values());
    return n;
  }
}
