// Grafana data source provisioning (apiVersion 1) for the dashboard: a Prometheus data source
// whose exemplars link their `trace_id` label to the tracing backend. Grafana configures exemplar
// links per data source (jsonData.exemplarTraceIdDestinations), not per panel; the dashboard's
// latency panel asks for exemplars (dashboard.ts) and any data source set up like this one
// shows them as links. Shipped as a ConfigMap with the label Grafana's datasource sidecar
// (kube-prometheus-stack's grafana chart) provisions from; the provisioning file is its data.
import { stringify } from "yaml";
import type { Settings } from "./settings.ts";

export function grafanaDatasource(s: Settings) {
  const destinations = s.traceUrlTemplate
    // Grafana interpolates the exemplar label's value as ${__value.raw}.
    ? [{ name: "trace_id", url: s.traceUrlTemplate.replaceAll("{trace_id}", "${__value.raw}"), urlDisplayLabel: "Open trace" }]
    : [];
  return {
    apiVersion: 1,
    datasources: [{
      name: "meshlat-prometheus",
      uid: "meshlat-prometheus",
      type: "prometheus",
      access: "proxy",
      url: s.prometheusUrl,
      jsonData: { httpMethod: "POST", exemplarTraceIdDestinations: destinations },
    }],
  };
}

/** The provisioning file in a ConfigMap labelled for Grafana's datasource sidecar. */
export function grafanaDatasourceConfigMap(s: Settings) {
  return {
    apiVersion: "v1",
    kind: "ConfigMap",
    metadata: { name: "meshlat-grafana-datasource", namespace: "monitoring", labels: { grafana_datasource: "1" } },
    data: { "meshlat-datasource.yaml": stringify(grafanaDatasource(s)) },
  };
}
