// Prometheus Operator resources (monitoring.coreos.com/v1).
import { ruleGroups } from "./alerts.ts";
import { selectorLabels } from "./aggregator.ts";
import type { Settings } from "./settings.ts";

/** Scrapes every aggregator replica over Istio mTLS. The aggregator's port is STRICT, so
 *  Prometheus must present a mesh certificate: run it with an Istio sidecar that writes its
 *  certificates to a shared volume (istio/istio samples/addons/extras/prometheus-secure-metrics.yaml)
 *  mounted at /etc/istio-certs. `insecureSkipVerify`: SPIFFE certs carry no DNS SAN to check,
 *  the CA in caFile still authenticates the server. honorLabels keeps the filter metrics'
 *  own `namespace` label (the workload's) instead of renaming it to exported_namespace.
 *  Native histograms: the protobuf format first (scrapeProtocols, Prometheus ≥ 2.49), and
 *  scrapeNativeHistograms (Prometheus ≥ 3.8; 2.40–3.7 need the Prometheus resource's
 *  `enableFeatures: [native-histograms]` instead). The aggregator then serves each timing as one
 *  native histogram per label set; a Prometheus without them scrapes text with classic buckets,
 *  and the dashboard and alerts answer on either. */
export function serviceMonitor(s: Settings) {
  return {
    apiVersion: "monitoring.coreos.com/v1",
    kind: "ServiceMonitor",
    metadata: { name: s.aggregatorName, namespace: s.namespace, labels: { ...selectorLabels } },
    spec: {
      selector: { matchLabels: selectorLabels },
      scrapeProtocols: ["PrometheusProto", "OpenMetricsText1.0.0", "PrometheusText0.0.4"],
      scrapeNativeHistograms: true,
      endpoints: [
        {
          port: "http-meshlat",
          path: "/metrics",
          interval: "15s",
          scrapeTimeout: "10s",
          honorLabels: true,
          scheme: "https",
          tlsConfig: {
            caFile: "/etc/istio-certs/root-cert.pem",
            certFile: "/etc/istio-certs/cert-chain.pem",
            keyFile: "/etc/istio-certs/key.pem",
            insecureSkipVerify: true,
          },
        },
      ],
    },
  };
}

export function prometheusRule(s: Settings) {
  return {
    apiVersion: "monitoring.coreos.com/v1",
    kind: "PrometheusRule",
    metadata: { name: "meshlat", namespace: s.namespace, labels: { ...selectorLabels } },
    spec: ruleGroups(s),
  };
}

/** Optional: scrapes the sidecars' Envoy stats for the retry alert (envoy_cluster_upstream_rq_*).
 *  Istio keeps those stats only when ProxyConfig proxyStatsMatcher includes them (deploy guide).
 *  Keeps just the two series the alert needs: cluster stats are high-cardinality. Skip this if
 *  Prometheus already scrapes the sidecars (Istio's own integration, port 15090). */
export function envoyStatsPodMonitor(s: Settings) {
  return {
    apiVersion: "monitoring.coreos.com/v1",
    kind: "PodMonitor",
    metadata: { name: "meshlat-envoy-stats", namespace: s.namespace, labels: { "app.kubernetes.io/part-of": "meshlat" } },
    spec: {
      namespaceSelector: { any: true },
      selector: { matchExpressions: [{ key: "security.istio.io/tlsMode", operator: "Exists" }] },
      jobLabel: "envoy-stats",
      podMetricsEndpoints: [
        {
          // Port 15090 on the injected istio-proxy container (Istio's injection template).
          port: "http-envoy-prom",
          path: "/stats/prometheus",
          interval: "30s",
          metricRelabelings: [
            { sourceLabels: ["__name__"], regex: "envoy_cluster_upstream_rq_(retry|total)", action: "keep" },
            { sourceLabels: ["cluster_name"], regex: "outbound\\|.*", action: "keep" },
          ],
        },
      ],
    },
  };
}
