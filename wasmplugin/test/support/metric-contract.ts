// The metric names agreed between the aggregator, these alerts/dashboards and the e2e tests
// (DESIGN.md "Metric families").
export const COUNTERS = [
  "meshlat_requests_total",
  "meshlat_aggregator_batches_total",
  "meshlat_aggregator_batch_errors_total",
  "meshlat_aggregator_series_folded_total",
  "meshlat_aggregator_series_expired_total",
  "meshlat_aggregator_series_points_total",
  "meshlat_filter_requests_total",
  "meshlat_filter_folded_requests_total",
  "meshlat_filter_dropped_batches_total",
  "meshlat_filter_failed_flushes_total",
];
export const GAUGES = ["meshlat_aggregator_series", "meshlat_aggregator_series_limit", "meshlat_filter_vms"];
export const HISTOGRAMS = [
  "meshlat_request_duration_milliseconds",
  "meshlat_upstream_duration_milliseconds",
  "meshlat_proxy_duration_milliseconds",
  "meshlat_app_duration_milliseconds",
  "meshlat_network_duration_milliseconds",
  "meshlat_aggregator_ingest_duration_seconds",
];

/** The traffic histograms, which Prometheus stores as native histograms when it scrapes protobuf. */
export const NATIVE_HISTOGRAMS = HISTOGRAMS.filter((h) => h.endsWith("_duration_milliseconds"));

/** Every series name a query may select, with the family it belongs to. */
export function seriesNames(): Map<string, string> {
  const m = new Map<string, string>();
  for (const n of [...COUNTERS, ...GAUGES]) m.set(n, n);
  for (const h of HISTOGRAMS) for (const suffix of ["_bucket", "_sum", "_count"]) m.set(h + suffix, h);
  for (const h of NATIVE_HISTOGRAMS) m.set(h, h);
  return m;
}
