// The aggregator's own metrics and the filters' self-reported counters, held in a prom-client
// Registry. Gauges and counters that mirror state are synced in `collect`, at scrape time.
import { Counter, Gauge, Histogram, Registry } from "prom-client";
import { BATCH_ERROR_REASONS } from "../errors.ts";
import type { BatchErrorReason } from "../errors.ts";
import type { AggregatorState } from "../store/state.ts";
import { EVICT_REASONS } from "../store/vms.ts";
import { COUNTER_KEYS } from "../wire/types.ts";

export type BatchResult = "accepted" | "duplicate" | "rejected" | "shed";
const RESULTS: readonly BatchResult[] = ["accepted", "duplicate", "rejected", "shed"];
const FILTER_VMS_RECENT_MS = 5 * 60_000;

const COUNTER_NOTES: Partial<Record<(typeof COUNTER_KEYS)[number], string>> = {
  // The filter counts a batch as dropped when it gave up on it; if this aggregator merged it but
  // the answer was lost (timeout, reset), the batch is in the data and in this count.
  dropped_batches: " An upper bound: a batch merged here whose answer was lost also counts as dropped.",
};

export interface SelfMetrics {
  readonly registry: Registry;
  batch(result: BatchResult, reason?: BatchErrorReason): void;
  ingestSeconds(s: number): void;
}

/** Makes a counter show totals the state owns (monotonic there): reset, then add each from 0. */
function showTotals(c: Counter<string>, rows: Iterable<readonly [Record<string, string>, number]>): void {
  c.reset();
  for (const [labels, v] of rows) c.inc(labels, v);
}

export function createSelfMetrics(state: AggregatorState): SelfMetrics {
  const registry = new Registry();
  const registers = [registry];
  // meshlat_aggregator_batches_total{result}
  const batches = new Counter({ name: "meshlat_aggregator_batches_total", help: "Batches received, by result (accepted, duplicate, rejected, shed).", labelNames: ["result"], registers });
  // meshlat_aggregator_batch_errors_total{reason}
  const errors = new Counter({ name: "meshlat_aggregator_batch_errors_total", help: "Batches refused, by reason.", labelNames: ["reason"], registers });
  for (const r of RESULTS) batches.inc({ result: r }, 0);
  for (const r of BATCH_ERROR_REASONS) errors.inc({ reason: r }, 0);
  new Gauge({ name: "meshlat_aggregator_series", help: "Label sets currently stored (the overflow series included).", registers, collect() { this.set(state.store.series.size); } });
  // A restart shows as a change of this value: the views then sum that replica's counters per
  // life of the process (query/promql.ts), even when they came back above their old values.
  new Gauge({ name: "meshlat_aggregator_start_time_seconds", help: "When this aggregator started (Unix seconds): its counters begin here.", registers }).set(Date.now() / 1000);
  new Gauge({ name: "meshlat_aggregator_series_limit", help: "Configured cap on stored label sets (max_series).", registers, collect() { this.set(state.config.max_series); } });
  new Counter({ name: "meshlat_aggregator_series_folded_total", help: "Series points (label sets in batches) folded into the overflow series because max_series was reached.", registers, collect() { showTotals(this, [[{}, state.store.folded]]); } });
  new Counter({ name: "meshlat_aggregator_series_expired_total", help: "Series removed after series_ttl_s without updates.", registers, collect() { showTotals(this, [[{}, state.store.expired]]); } });
  new Counter({ name: "meshlat_aggregator_series_points_total", help: "Series points merged from accepted batches.", registers, collect() { showTotals(this, [[{}, state.store.points]]); } });
  new Counter({ name: "meshlat_aggregator_series_quota_folded_total", help: "New label sets folded into the overflow series by a per-namespace quota (max_series_per_namespace) or the rendered-bytes budget (max_exposition_bytes); also counted in meshlat_aggregator_series_folded_total.", labelNames: ["limit"], registers, collect() { showTotals(this, [[{ limit: "namespace_quota" }, state.store.foldedByQuota], [{ limit: "exposition_budget" }, state.store.foldedByBudget]]); } });
  new Counter({ name: "meshlat_aggregator_vms_evicted_total", help: "VM de-duplication states evicted, by reason (idle, namespace_quota, capacity); a retried batch of an evicted VM at or below its last seq is still a duplicate while its tombstone lasts.", labelNames: ["reason"], registers, collect() { showTotals(this, EVICT_REASONS.map((r) => [{ reason: r }, state.vms.evicted[r]] as const)); } });
  new Counter({ name: "meshlat_aggregator_filter_vms_folded_total", help: "VMs whose filter counters are shown under workload/namespace overflow because max_filter_workloads pairs were already shown.", registers, collect() { showTotals(this, [[{}, state.vms.foldedVms]]); } });
  new Gauge({ name: "meshlat_aggregator_window_entries", help: "Per-series deltas held for the 1m/5m/15m/1h windows of the APIs (their memory is proportional to this; none with prometheus_url, where the views come from Prometheus).", registers, collect() { this.set(state.windows.size); } });
  const ingest = new Histogram({ name: "meshlat_aggregator_ingest_duration_seconds", help: "Time to decode, validate and merge one batch.", buckets: [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1], registers });

  // meshlat_filter_<key>_total{workload,namespace}: sums over VMs of each VM's max cumulative value.
  for (const key of COUNTER_KEYS) {
    new Counter({
      name: `meshlat_filter_${key}_total`,
      help: `Filter self-metric '${key}', summed over the VMs of each workload (cumulative; never decreases).${COUNTER_NOTES[key] ?? ""}`,
      labelNames: ["workload", "namespace"],
      registers,
      collect() {
        showTotals(this, state.vms.byWorkload(0).map((w) => [{ workload: w.workload, namespace: w.namespace }, w.counters[key]] as const));
      },
    });
  }
  new Gauge({
    name: "meshlat_filter_vms",
    help: "Filter VMs that reported in the last 5 minutes.",
    labelNames: ["workload", "namespace"],
    registers,
    collect() {
      this.reset();
      for (const w of state.vms.byWorkload(state.now() - FILTER_VMS_RECENT_MS)) this.set({ workload: w.workload, namespace: w.namespace }, w.recentVms);
    },
  });

  return {
    registry,
    batch(result, reason) {
      batches.inc({ result });
      if (reason) errors.inc({ reason });
    },
    ingestSeconds(s) { ingest.observe(s); },
  };
}
