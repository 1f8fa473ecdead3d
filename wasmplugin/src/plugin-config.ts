// The WasmPlugin/TrafficExtension `pluginConfig`: exactly the filter's configuration contract
// (DESIGN.md "Plugin configuration"). Every field is written out so operators see the values
// in effect; `aggregator_authority` is left to its default (the cluster's FQDN).
import { aggregatorCluster, type Settings } from "./settings.ts";

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
}

export function pluginConfig(s: Settings): PluginConfig {
  const p = s.plugin;
  return {
    aggregator_cluster: aggregatorCluster(s),
    aggregator_path: p.aggregator_path,
    flush_interval_ms: p.flush_interval_ms,
    tier_header: p.tier_header,
    tiers: [...p.tiers],
    region_default: p.region_default,
    app_timing_metric: p.app_timing_metric,
    max_series: p.max_series,
    max_buffered_batches: p.max_buffered_batches,
  };
}
