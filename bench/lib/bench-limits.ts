// The aggregator's per-sender bounds (identity check, per-namespace quotas, exposition budget)
// and its busy-time shedding lifted for the benches: they feed one synthetic namespace from one unauthenticated client and
// measure throughput and cost, not the bounds.
export const BENCH_LIMITS = {
  caller_identity: "off",
  shed_ingest_busy_percent: 0,
  max_series_per_namespace: 2_000_000,
  max_vms_per_namespace: 1_000_000,
  max_exposition_bytes: 64 * 1024 ** 3,
} as const;
