// Prometheus Operator resources (monitoring.coreos.com/v1).
import { ruleGroups } from "./alerts.ts";
import { selectorLabels } from "./aggregator.ts";
import type { Settings } from "./settings.ts";

/** Scrapes every aggregator replica over Istio mTLS. The aggregator's port is STRICT, so
 *  Prometheus must present a mesh certificate: run it with an Istio sidecar that writes its
 *  certificates to a shared volume (istio.io/latest/docs/ops/integrations/prometheus/#tls-settings)
 *  mounted at /etc/prom-certs. `insecureSkipVerify`: SPIFFE certs carry no DNS SAN to check,
 *  the CA in caFile still authenticates the server. honorLabels keeps the filter metrics'
 *  own `namespace` label (the workload's) instead of renaming it to exported_namespace. */
export function serviceMonitor(s: Settings) {
  return {
    apiVersion: "monitoring.coreos.com/v1",
    kind: "ServiceMonitor",
    metadata: { name: s.aggregatorName, namespace: s.namespace, labels: { ...selectorLabels } },
    spec: {
      selector: { matchLabels: selectorLabels },
      endpoints: [
        {
          port: "http-meshlat",
          path: "/metrics",
          interval: "15s",
          scrapeTimeout: "10s",
          honorLabels: true,
          scheme: "https",
          tlsConfig: {
            caFile: "/etc/prom-certs/root-cert.pem",
            certFile: "/etc/prom-certs/cert-chain.pem",
            keyFile: "/etc/prom-certs/key.pem",
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
