// Everything the aggregator holds, and the one entry point that changes it: ingest() of a fully
// validated batch. Time comes from an injected clock (tests drive it; no timers here).
import { SeriesStore } from "./series-store.ts";
import { VmRegistry } from "./vms.ts";
import { WindowRing } from "./windows.ts";
import type { Batch, BatchHead } from "../wire/types.ts";
import { FlatBatch } from "../wire/flat-batch.ts";
import type { Config } from "../config.ts";

export type Clock = () => number;
export type IngestResult = "accepted" | "duplicate";

/** On ingest, housekeeping (expiry) runs at most this often; scrapes always run it (cheap, rare). */
const SWEEP_EVERY_MS = 10_000;
/** Shortest span a rate divides by: a first batch with an empty window must not give an infinite rate. */
const MIN_SPAN_MS = 1_000;

export class AggregatorState {
  readonly store: SeriesStore;
  readonly vms: VmRegistry;
  readonly windows: WindowRing;
  private lastSweep = -Infinity;
  /**
   * Start of the earliest batch window received: the data the aggregator holds covers no time
   * before it, so rates must not count that time as idle (Infinity: no batch yet).
   */
  private dataSince = Infinity;

  constructor(readonly config: Config, readonly now: Clock) {
    const idleTimeoutMs = config.series_ttl_s * 1000;
    // With prometheus_url the views are answered from Prometheus: the local windows would only cost.
    this.windows = new WindowRing(config.window_slot_s * 1000, config.histogram_buckets, config.prometheus_url === "");
    this.store = new SeriesStore({
      maxSeries: config.max_series, idleTimeoutMs, histogramBuckets: config.histogram_buckets, exemplarSpanMs: config.exemplar_span_s * 1000,
      keyRetainMs: this.windows.horizonMs,
      maxSeriesPerNamespace: config.max_series_per_namespace, maxExpositionBytes: config.max_exposition_bytes,
    });
    this.vms = new VmRegistry({
      maxVms: config.max_vms, dedupeWindow: config.dedupe_window, idleTimeoutMs,
      maxVmsPerNamespace: config.max_vms_per_namespace, maxFilterWorkloads: config.max_filter_workloads,
    });
  }

  /** Where a batch's deltas go in the windows: its window end when plausible, else receive time. */
  placeTime(b: BatchHead, now: number): number {
    const end = b.window[1];
    return Math.abs(end - now) <= this.config.max_clock_skew_s * 1000 ? Math.min(end, now) : now;
  }

  /** Merges a validated batch: a flat one (read-v2.ts) or one of the general path, with the same effect. */
  ingest(b: Batch | FlatBatch): IngestResult {
    const now = this.now();
    this.housekeep(now);
    if (!this.vms.admit(b, now)) return "duplicate";
    const t = this.placeTime(b, now);
    this.dataSince = Math.min(this.dataSince, t - Math.max(0, b.window[1] - b.window[0]));
    const w = this.windows;
    if (b instanceof FlatBatch) this.store.mergeFlat(b, now, w, t);
    else this.store.merge(b, now, (s, ws, from) => w.add(t, s, ws, from));
    return "accepted";
  }

  /**
   * What a window's rates divide by: the time its slots cover (WindowRing.coveredMs), but no more
   * than the time since the first batch's window began — as Prometheus' rate() extrapolates
   * only over the range its samples cover, a young aggregator's counts are not spread over a
   * window it has no data for.
   */
  spanMs(now: number, windowMs: number): number {
    const covered = this.windows.coveredMs(now, windowMs);
    if (this.dataSince === Infinity) return covered;
    return Math.max(MIN_SPAN_MS, Math.min(covered, now - this.dataSince));
  }

  /** Idle expiry, at most once per SWEEP_EVERY_MS (ingest calls it on every batch). */
  private housekeep(now: number): void {
    if (now - this.lastSweep < SWEEP_EVERY_MS) return;
    this.expireIdle(now);
  }

  /** Removes idle series and VMs now (scrapes call it so they never show an expired series). */
  expireIdle(now = this.now()): void {
    this.lastSweep = now;
    this.store.expire(now);
    this.vms.expire(now);
  }
}
