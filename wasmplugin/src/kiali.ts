// Kiali: meshlat's split as a Kiali custom dashboard (Kiali's MonitoringDashboard type), shown
// in the Application and Workload details of every app that has meshlat data.
//
// Kiali queries a custom dashboard's metrics filtered by the viewed app's labels,
// `{namespace="<ns>", app="<app>"}` (the namespace label is Kiali's
// external_services.custom_dashboards.namespace_label, default `namespace`; kiali/kiali.io
// content/en/docs/Configuration/custom-dashboard.md), and builds histogram queries as
// `sum(rate(M_sum{labels}[i])) / sum(rate(M_count{labels}[i]))` and
// `histogram_quantile(q, sum(rate(M_bucket{labels}[i])) by (le))` (kiali/kiali
// prometheus/metrics.go buildHistogramQueries). meshlat's series carry the service in
// `destination_service` instead, so recording rules copy the client-side (reporter="source")
// series of the split's timings one to one — counters stay per series, so rate() over the
// copies is exact — adding `app` and `namespace` from the service's FQDN
// (`<app>.<namespace>.svc.<domain>`, Istio's convention that a service is named after its app).
//
// Since Kiali 1.35 custom dashboards live in the Kiali CR's spec.custom_dashboards (the
// MonitoringDashboard CRD was removed: kiali/kiali#4057, kiali/kiali-operator 1eb4b086).
import type { Settings } from "./settings.ts";

const TIMINGS = ["request", "proxy", "network", "app"] as const;
const SUFFIXES = ["bucket", "sum", "count"] as const;
/** Name of the recorded copy of a meshlat histogram; Kiali appends _bucket/_sum/_count. */
export const kialiMetric = (timing: (typeof TIMINGS)[number]) => `meshlat:kiali_${timing}_duration_milliseconds`;

export function kialiRuleGroups(): { groups: { name: string; rules: { record: string; expr: string }[] }[] } {
  const rules = TIMINGS.flatMap((t) => SUFFIXES.map((sfx) => ({
    record: `${kialiMetric(t)}_${sfx}`,
    expr: `label_replace(label_replace(meshlat_${t}_duration_milliseconds_${sfx}{reporter="source"}, "app", "$1", "destination_service", "([^.]+)\\\\..+"), "namespace", "$1", "destination_service", "[^.]+\\\\.([^.]+).*")`,
  })));
  return { groups: [{ name: "meshlat-kiali", rules }] };
}

const AGGREGATIONS = [
  { label: "user_tier", displayName: "User tier" },
  { label: "region", displayName: "Caller region" },
  { label: "peer_region", displayName: "Server region" },
  { label: "source_workload", displayName: "Caller" },
];
const ms = { unit: "seconds", unitScale: 0.001 };

/** The dashboard, as one item of spec.custom_dashboards (Kiali's MonitoringDashboard). */
export function kialiDashboard() {
  return {
    name: "meshlat",
    title: "meshlat latency split",
    // Discovered for every app that has the recorded series; no pod annotation needed.
    discoverOn: `${kialiMetric("request")}_count`,
    items: [
      {
        chart: {
          name: "Where the time goes: proxy / network / app",
          ...ms,
          spans: 12,
          chartType: "line",
          dataType: "histogram",
          metrics: [
            { metricName: kialiMetric("proxy"), displayName: "proxy" },
            { metricName: kialiMetric("network"), displayName: "network" },
            { metricName: kialiMetric("app"), displayName: "app" },
          ],
          aggregations: AGGREGATIONS,
        },
      },
      { chart: { name: "Request duration (total, client side)", ...ms, spans: 6, dataType: "histogram", metrics: [{ metricName: kialiMetric("request"), displayName: "total" }], aggregations: AGGREGATIONS } },
      { chart: { name: "Requests", unit: "ops", spans: 6, dataType: "rate", metrics: [{ metricName: `${kialiMetric("request")}_count`, displayName: "requests/s" }], aggregations: AGGREGATIONS } },
    ],
  };
}

/** What to merge into the Kiali CR (Kiali >= 1.35); kind and name are the usual install's. */
export function kialiCustomDashboards() {
  return {
    apiVersion: "kiali.io/v1alpha1",
    kind: "Kiali",
    metadata: { name: "kiali", namespace: "istio-system" },
    spec: { custom_dashboards: [kialiDashboard()] },
  };
}

export function kialiPrometheusRule(s: Settings) {
  return {
    apiVersion: "monitoring.coreos.com/v1",
    kind: "PrometheusRule",
    metadata: { name: "meshlat-kiali", namespace: s.namespace, labels: { "app.kubernetes.io/part-of": "meshlat" } },
    spec: kialiRuleGroups(),
  };
}
