// The "Latest results" table of the README's Performance section, generated from a run so
// that the prose never drifts from the numbers.
import { fmt } from "./guard.ts";
import { targetVerdict } from "./report.ts";
import type { Results, RunInfo } from "./results.ts";

const ROWS: readonly (readonly [string, string])[] = [
  ["filter.typical.ratio_vs_noop_sdk", "typical request: meshlat / SDK no-op (paired rounds)"],
  ["filter.typical.ratio_vs_v1", "… meshlat / the filter before wire v2, same rounds (issue 13: ≤ 1.1)"],
  ["filter.typical.ns_per_request", "typical request through the host, meshlat"],
  ["filter.noop_sdk.ns_per_request", "… SDK no-op"],
  ["filter.noop_raw.ns_per_request", "… raw-ABI no-op (the host's floor)"],
  ["filter.typical.host_calls_per_request", "host calls per typical request"],
  ["filter.inbound.host_calls_per_request", "host calls per inbound request"],
  ["filter.typical.allocs_per_request", "heap allocations per request after warm-up"],
  ["filter.allocs_per_flush", "heap allocations per flush after warm-up"],
  ["filter.typical.memory_growth_bytes", "linear-memory growth after warm-up (~300k requests)"],
  ["filter.wasm_bytes", "optimized meshlat.wasm"],
  ["flush.tick_100_series.us", "one flush of 100 series (encode + proxy_http_call)"],
  ["flush.tick_1000_series.us", "one flush of 1,000 series"],
  ["wire.filter.typical.bytes_per_request", "wire bytes per request, 1,000 req/s, 1 s flushes, typical mix"],
  ["wire.filter.realistic.bytes_per_request", "… realistic mix (errors, missing tier)"],
  ["wire.filter.realistic_2_workers.bytes_per_request", "… realistic mix over 2 worker VMs"],
  ["wire.access_log_bytes_per_request", "one Envoy default access-log line per request, for comparison"],
  ["wire.json_bytes_per_request", "one JSON record per request, for comparison"],
  ["aggregator.ingest.points_per_cpu_s", "aggregator ingest over HTTP, series-points per CPU-second"],
  ["aggregator.ingest.http_floor_points_per_cpu_s", "… a no-op route of the same server, same bodies (the HTTP floor)"],
  ["aggregator.ingest.cpu_vs_http_floor", "… ingest CPU per batch / the floor's (paired rounds)"],
  ["aggregator.pipeline.points_per_cpu_s", "… the same pipeline without HTTP (read + merge)"],
  ["aggregator.decode.typical.json_over_msgpack", "JSON.parse / msgpackr decode, same batch"],
  ["aggregator.metrics_render.10k.cpu_ms", "/metrics at 10k label sets: aggregator CPU per scrape"],
  ["aggregator.metrics_render.10k.block_ms", "/metrics at 10k label sets: longest event-loop block"],
  ["aggregator.metrics_render.10k.gzip_bytes", "/metrics at 10k label sets: gzip bytes"],
  ["aggregator.metrics_render.50k.cpu_ms", "/metrics at 50k label sets: aggregator CPU per scrape"],
  ["aggregator.metrics_render.50k.block_ms", "/metrics at 50k label sets: longest event-loop block"],
  ["aggregator.memory_per_series_bytes", "aggregator memory per label set, scraped (store + window rings + the protobuf render's kept encodings)"],
  ["aggregator.memory_per_series_unscraped_bytes", "… the same before any scrape (store + window rings)"],
  ["aggregator.memory_per_active_series_bytes", "aggregator memory per label set active in every window slot for an hour (full window rings)"],
  ["aggregator.memory_per_active_series_prometheus_bytes", "… the same with prometheus_url set, as the manifests set it (no windows kept)"],
  ["histograms.series_per_label_set.native", "Prometheus series per label set, native histograms (protobuf)"],
  ["histograms.series_per_label_set.classic", "… classic buckets (text / OpenMetrics)"],
  ["aggregator.metrics_render_native.10k.cpu_ms", "/metrics at 10k label sets, native (protobuf): aggregator CPU per scrape"],
  ["aggregator.metrics_render_native.10k.changed_cpu_ms", "… the same when every label set merged a point since the previous scrape"],
  ["aggregator.metrics_render_native.10k.gzip_bytes", "/metrics at 10k label sets, native (protobuf): gzip bytes"],
  ["histograms.native_render.10k.cpu_ms", "native (protobuf) traffic families at 10k label sets, in process, every label set changed: CPU of render + gzip"],
  ["histograms.native_render.10k.unchanged_cpu_ms", "… the same with no label set changed (kept encodings)"],
  ["histograms.native_render.10k.vs_plain_protobufjs", "… the changed render's CPU / protobufjs encoding fresh objects of the same data (paired rounds)"],
  ["histograms.native_render.10k.gzip_bytes", "… their gzip bytes (every histogram different)"],
  ["histograms.quantile_error.lognormal.p50.api", "p50 relative error, lognormal, latency API"],
  ["histograms.quantile_error.lognormal.p90.api", "p90 … lognormal, latency API"],
  ["histograms.quantile_error.lognormal.p99.api", "p99 … lognormal, latency API"],
  ["histograms.quantile_error.lognormal.p50.prometheus", "p50 … lognormal, Prometheus 2.42 (linear in a bucket)"],
  ["histograms.quantile_error.lognormal.p90.prometheus", "p90 … lognormal, Prometheus 2.42 (linear in a bucket)"],
  ["histograms.quantile_error.lognormal.p99.prometheus", "p99 … lognormal, Prometheus 2.42 (linear in a bucket)"],
  ["histograms.quantile_error.lognormal.p99.prometheus_exp", "p99 … lognormal, current Prometheus (exponential in a bucket)"],
  ["histograms.quantile_error.bimodal.p50.api", "p50 … bimodal, latency API"],
  ["histograms.quantile_error.bimodal.p90.api", "p90 … bimodal, latency API"],
  ["histograms.quantile_error.bimodal.p99.api", "p99 … bimodal, latency API"],
  ["histograms.quantile_error.bimodal.p50.prometheus", "p50 … bimodal, Prometheus 2.42 (linear in a bucket)"],
  ["histograms.quantile_error.bimodal.p90.prometheus", "p90 … bimodal, Prometheus 2.42 (linear in a bucket)"],
  ["histograms.quantile_error.bimodal.p99.prometheus", "p99 … bimodal, Prometheus 2.42 (linear in a bucket)"],
  ["histograms.quantile_error.bimodal.p99.prometheus_exp", "p99 … bimodal, current Prometheus (exponential in a bucket)"],
  ["histograms.quantile_error.uniform.p50.api", "p50 … uniform, latency API"],
  ["histograms.quantile_error.uniform.p90.api", "p90 … uniform, latency API"],
  ["histograms.quantile_error.uniform.p99.api", "p99 … uniform, latency API"],
  ["histograms.quantile_error.uniform.p50.prometheus", "p50 … uniform, Prometheus 2.42 (linear in a bucket)"],
  ["histograms.quantile_error.uniform.p90.prometheus", "p90 … uniform, Prometheus 2.42 (linear in a bucket)"],
  ["histograms.quantile_error.uniform.p99.prometheus", "p99 … uniform, Prometheus 2.42 (linear in a bucket)"],
  ["histograms.quantile_error.uniform.p99.prometheus_exp", "p99 … uniform, current Prometheus (exponential in a bucket)"],
];

/** Runs that refreshed only the metrics under a prefix (bench --update-only): prefix → its run. */
export function partialRuns(res: Results): Record<string, RunInfo> {
  return ((res.details as { partialRuns?: Record<string, RunInfo> }).partialRuns) ?? {};
}

const when = (r: RunInfo) => `${r.startedAt.slice(0, 16).replace("T", " ")} UTC`;

export function resultsMarkdown(res: Results): string {
  const partial = Object.entries(partialRuns(res));
  const lines = [
    `Measured ${when(res.run)} on ${res.run.cpus} × ${res.run.cpuModel.trim()}, node ${res.run.node}, ` +
      `load average ${res.run.loadavg1m.toFixed(1)} (a shared machine), commit ${res.run.gitCommit}` +
      partial.map(([p, r]) => `; the rows of \`${p}*\` ${when(r)}, load average ${r.loadavg1m.toFixed(1)}, commit ${r.gitCommit}`).join("") +
      ". Full table: `npm run bench`.",
    "",
    "| measure | value | target | |",
    "|---|---|---|---|",
  ];
  for (const [id, name] of ROWS) {
    const m = res.metrics[id];
    if (!m) continue;
    const spread = m.spread ? ` (${fmt(m.spread.q1)}–${fmt(m.spread.q3)})` : "";
    const verdict = targetVerdict(m);
    lines.push(`| ${name} | ${fmt(m.value)} ${m.unit}${spread} | ${m.target ? `${m.target.op} ${fmt(m.target.value)}` : ""} | ${verdict === "FAIL" ? "**FAIL**" : verdict} |`);
  }
  return lines.join("\n");
}

/** Replaces the text between the bench-results markers. */
export function spliceResults(doc: string, table: string): string {
  const begin = "<!-- bench-results:begin -->", end = "<!-- bench-results:end -->";
  const i = doc.indexOf(begin), j = doc.indexOf(end);
  if (i < 0 || j < i) throw new Error("bench: bench-results markers not found");
  return doc.slice(0, i + begin.length) + "\n" + table + "\n" + doc.slice(j);
}
