// The one source every generated manifest is built from. Change a default here and run
// `node --import tsx wasmplugin/generate.ts`; users who do not run the generator override the
// same values in a kustomize overlay (wasmplugin/deploy/overlays/*).
import { PLUGIN_DEFAULTS } from "./plugin-config.ts";
import type { PluginSettings } from "./plugin-config.ts";

export interface Settings {
  /** Namespace of the aggregator and of the plugin resource. Istio's root namespace makes the
   *  plugin apply to every sidecar in the mesh (a WasmPlugin/TrafficExtension without selector
   *  in the root namespace selects all workloads, istio/api extensions/v1alpha1/wasm.proto). */
  namespace: string;
  /** Aggregator Service name; the filter's cluster is `outbound|<port>||<name>.<ns>.svc.<domain>`. */
  aggregatorName: string;
  aggregatorPort: number;
  clusterDomain: string;
  aggregatorImage: string;
  /** OCI image of the filter (repository:tag) and its manifest digest (hex, no `sha256:`).
   *  For `oci://` URLs istio-agent compares `sha256` with the image *manifest* digest
   *  (istio/istio pkg/wasm/imagefetcher.go PrepareFetch: `img.Digest()`; cache.go). */
  filterImage: string;
  filterImageDigest: string;
  /** The filter's own configuration (DESIGN.md "Plugin configuration"), minus the cluster. */
  plugin: PluginSettings;
  /** Identity allowed to scrape /metrics (kube-prometheus default service account). */
  prometheusPrincipal: string;
  /** Prometheus that scrapes every aggregator replica: the views (/api/v1/*) are answered from
   *  it, summed across replicas (docs/scale.md). kube-prometheus' default Service. */
  prometheusUrl: string;
  /** Link from a slow request's trace id to the tracing backend, `{trace_id}` replaced (the
   *  aggregator's trace_url_template, and the Grafana data source's exemplar link). */
  traceUrlTemplate: string;
  /** SLO-ish thresholds the alerts use. */
  alerts: { proxyP99BudgetMs: number; retryRatio: number; networkShare: number; errorRatio: number };
}

// Placeholder digest: replace it with the digest `docker push` / `crane digest` prints for your
// image (deploy guide, "Pin the digest"). istio-agent refuses a module whose digest differs
// ("checksum ... does not match", pkg/wasm/cache.go); with FAIL_OPEN traffic then flows
// without the filter, so the guide's verification step checks that batches arrive.
const UNPINNED = "0".repeat(64);

export const defaults: Settings = Object.freeze({
  namespace: "istio-system",
  aggregatorName: "meshlat-aggregator",
  aggregatorPort: 9464,
  clusterDomain: "cluster.local",
  aggregatorImage: "ghcr.io/meshlat/meshlat-aggregator:0.1.0",
  filterImage: "ghcr.io/meshlat/meshlat-filter:0.1.0",
  filterImageDigest: UNPINNED,
  plugin: PLUGIN_DEFAULTS,
  prometheusPrincipal: "cluster.local/ns/monitoring/sa/prometheus-k8s",
  prometheusUrl: "http://prometheus-k8s.monitoring.svc:9090",
  // Istio's Jaeger addon as `istioctl dashboard jaeger` opens it: the query UI on port 16686
  // under base_path /jaeger (istio/istio samples/addons/jaeger.yaml). Zipkin:
  // http://<zipkin>:9411/zipkin/traces/{trace_id}; Tempo: a Grafana Explore URL.
  traceUrlTemplate: "http://localhost:16686/jaeger/trace/{trace_id}",
  alerts: Object.freeze({ proxyP99BudgetMs: 10, retryRatio: 0.05, networkShare: 0.5, errorRatio: 0.05 }),
}) as Settings;

/** FQDN of the aggregator Service. */
export function aggregatorFqdn(s: Settings): string {
  return `${s.aggregatorName}.${s.namespace}.svc.${s.clusterDomain}`;
}

/** Istio's outbound cluster name for the aggregator (istio/istio pilot/pkg/model/service.go
 *  BuildSubsetKey: `outbound|<port>|<subset>|<hostname>`). */
export function aggregatorCluster(s: Settings): string {
  return `outbound|${s.aggregatorPort}||${aggregatorFqdn(s)}`;
}
