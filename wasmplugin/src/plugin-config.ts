// The WasmPlugin/TrafficExtension `pluginConfig`: exactly the filter's configuration contract
// (DESIGN.md "Plugin configuration"), its type and the defaults the manifests ship. Every field
// is written out so operators see the values in effect; `aggregator_authority` is left to its
// default (the cluster's FQDN).

export interface PluginConfig {
  aggregator_cluster: string;
  aggregator_path: string;
  flush_interval_ms: number;
  tier_header: string;
  tiers: string[];
  region_default: string;
  app_timing_metric: string;
  max_series: number;
  max_buffered_batches: number;
  /** Exemplars only from traces their sender sampled (`traceparent` flag, `x-b3-sampled`). */
  exemplars_sampled_only: boolean;
}

/** Everything but the cluster, which follows from where the aggregator is deployed. */
export type PluginSettings = Omit<PluginConfig, "aggregator_cluster">;

export const PLUGIN_DEFAULTS: Readonly<PluginSettings> = Object.freeze({
  aggregator_path: "/v1/batches",
  flush_interval_ms: 1000,
  tier_header: "x-user-tier",
  tiers: ["free", "standard", "premium", "enterprise"],
  region_default: "unknown",
  app_timing_metric: "app",
  max_series: 1024,
  max_buffered_batches: 16,
  exemplars_sampled_only: true,
});

export function pluginConfig(p: Readonly<PluginSettings>, aggregatorCluster: string): PluginConfig {
  return {
    aggregator_cluster: aggregatorCluster,
    aggregator_path: p.aggregator_path,
    flush_interval_ms: p.flush_interval_ms,
    tier_header: p.tier_header,
    tiers: [...p.tiers],
    region_default: p.region_default,
    app_timing_metric: p.app_timing_metric,
    max_series: p.max_series,
    max_buffered_batches: p.max_buffered_batches,
    exemplars_sampled_only: p.exemplars_sampled_only,
  };
}
