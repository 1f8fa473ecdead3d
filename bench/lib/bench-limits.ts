// The aggregator's per-sender bounds (identity check, per-namespace quotas, exposition budget)
// lifted for the benches: they feed one synthetic namespace from one unauthenticated client and
// measure throughput and cost, not the bounds.
export const BENCH_LIMITS = {
  caller_identity: "off",
  max_series_per_namespace: 2_000_000,
  max_vms_per_namespace: 1_000_000,
  max_exposition_bytes: 64 * 1024 ** 3,
} as const;
