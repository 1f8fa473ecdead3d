// Alerting rules, as one Prometheus rule group. Emitted twice from this source: inside the
// PrometheusRule (Prometheus Operator) and as a plain rule file that `promtool check rules`
// validates in wasmplugin/test/promql.test.ts.
//
// Aggregating across aggregator replicas: every batch lands on exactly one replica, so the
// traffic families are summed over replicas (`sum by (...)` dropping instance/pod). The
// meshlat_filter_* counters are per-VM cumulative totals, and a VM whose batches reach several
// replicas is counted by each of them, so those are combined with `max by (workload, namespace)`
// (a lower bound; exact when a VM's batches stick to one replica).
import { meanOf, quantileOf, rateCount } from "./histogram-promql.ts";
import { promFailedRequests } from "../../aggregator/src/query/request-error.ts";
import type { Settings } from "./settings.ts";

export interface AlertRule {
  alert: string;
  expr: string;
  for: string;
  labels: { severity: "critical" | "warning" | "info" };
  annotations: { summary: string; description: string };
}

const W = "5m";

export function alertRules(s: Settings): AlertRule[] {
  const a = s.alerts;
  const pct = (x: number) => `${Math.round(x * 100)}%`;
  return [
    {
      // meshlat's own data carries retries only as the final `URX` flag (retry limit exceeded),
      // not every retry, so the retry *rate* comes from Envoy's per-cluster counters
      // (upstream_rq_retry / upstream_rq_total, Envoy cluster statistics). Istio does not keep
      // them by default: enable them with ProxyConfig proxyStatsMatcher (deploy guide).
      alert: "MeshlatRetryRateHigh",
      expr: [
        `(`,
        `  sum by (cluster_name) (rate(envoy_cluster_upstream_rq_retry{cluster_name=~"outbound\\\\|.*"}[${W}]))`,
        `/`,
        `  sum by (cluster_name) (rate(envoy_cluster_upstream_rq_total{cluster_name=~"outbound\\\\|.*"}[${W}]))`,
        `) > ${a.retryRatio}`,
        `and on (cluster_name)`,
        `  sum by (cluster_name) (rate(envoy_cluster_upstream_rq_total{cluster_name=~"outbound\\\\|.*"}[${W}])) > 1`,
      ].join("\n"),
      for: "10m",
      labels: { severity: "warning" },
      annotations: {
        summary: "Retries above " + pct(a.retryRatio) + " of requests to {{ $labels.cluster_name }}",
        description: "{{ $value | humanizePercentage }} of requests to {{ $labels.cluster_name }} were retried (Envoy upstream_rq_retry / upstream_rq_total, all sidecars).",
      },
    },
    {
      alert: "MeshlatRetriesExhausted",
      expr: [
        `sum by (destination_service) (rate(meshlat_requests_total{reporter="source", response_flags=~"(.*,)?URX(,.*)?"}[${W}]))`,
        `/`,
        `sum by (destination_service) (rate(meshlat_requests_total{reporter="source"}[${W}]))`,
        `> 0.01`,
      ].join("\n"),
      for: "10m",
      labels: { severity: "warning" },
      annotations: {
        summary: "Retry limit exceeded (URX) for {{ $labels.destination_service }}",
        description: "{{ $value | humanizePercentage }} of client requests to {{ $labels.destination_service }} failed after exhausting retries.",
      },
    },
    {
      // Client-side view of each edge, with the product's one definition of a failed request
      // (aggregator/src/query/request-error.ts: 5xx, no response, or a failure flag), the
      // same as the graph API's error_rate and the dashboard's edge table.
      alert: "MeshlatEdgeErrorRateHigh",
      expr: [
        `(`,
        `  sum by (source_namespace, source_workload, destination_service) (${promFailedRequests('reporter="source"', (s) => `rate(meshlat_requests_total{${s}}[${W}])`)})`,
        `/`,
        `  sum by (source_namespace, source_workload, destination_service) (rate(meshlat_requests_total{reporter="source"}[${W}]))`,
        `) > ${a.errorRatio}`,
        `and on (source_namespace, source_workload, destination_service)`,
        `  sum by (source_namespace, source_workload, destination_service) (rate(meshlat_requests_total{reporter="source"}[${W}])) > 1`,
      ].join("\n"),
      for: "10m",
      labels: { severity: "warning" },
      annotations: {
        summary: `More than ${pct(a.errorRatio)} of requests from {{ $labels.source_workload }} to {{ $labels.destination_service }} fail`,
        description: "{{ $value | humanizePercentage }} of client requests failed (5xx, no response, or an Envoy failure flag such as UH, UF, UT, URX, NR).",
      },
    },
    {
      // Server-side reporter only: Istio (and meshlat) report `unknown` on the client side.
      alert: "MeshlatPlaintextTraffic",
      expr: `sum by (destination_service, source_workload, source_namespace) (rate(meshlat_requests_total{reporter="destination", connection_security_policy="none"}[${W}])) > 0`,
      for: "10m",
      labels: { severity: "critical" },
      annotations: {
        summary: "Plaintext requests to {{ $labels.destination_service }}",
        description: "{{ $labels.source_namespace }}/{{ $labels.source_workload }} sends requests without mutual TLS to {{ $labels.destination_service }} ({{ $value | humanize }} req/s) where STRICT mTLS is expected.",
      },
    },
    {
      alert: "MeshlatProxyLatencyOverBudget",
      expr: [
        `${quantileOf(0.99, "meshlat_proxy_duration_milliseconds", "", W, ["destination_service", "reporter"])} > ${a.proxyP99BudgetMs}`,
        `and on (destination_service, reporter)`,
        `${rateCount("meshlat_proxy_duration_milliseconds", "", W, ["destination_service", "reporter"])} > 1`,
      ].join("\n"),
      for: "15m",
      labels: { severity: "warning" },
      annotations: {
        summary: `Sidecar p99 above ${a.proxyP99BudgetMs} ms for {{ $labels.destination_service }}`,
        description: "p99 of the time spent in and around the proxy ({{ $labels.reporter }} side) is {{ $value | humanize }} ms.",
      },
    },
    {
      // Mean network time over mean total time, from the requests that carry Server-Timing
      // (network exists only for them); means add up, quantiles do not (DESIGN.md).
      alert: "MeshlatNetworkBound",
      expr: [
        `(`,
        `  ${meanOf("meshlat_network_duration_milliseconds", 'reporter="source"', "10m", ["destination_service"])}`,
        `)`,
        `/`,
        `(`,
        `  ${meanOf("meshlat_request_duration_milliseconds", 'reporter="source"', "10m", ["destination_service"])}`,
        `)`,
        `> ${a.networkShare}`,
      ].join("\n"),
      for: "15m",
      labels: { severity: "info" },
      annotations: {
        summary: "{{ $labels.destination_service }} is network-bound",
        description: "The network takes {{ $value | humanizePercentage }} of the mean client-side request time to {{ $labels.destination_service }}.",
      },
    },
    {
      alert: "MeshlatFilterDroppedBatches",
      expr: `max by (workload, namespace) (increase(meshlat_filter_dropped_batches_total[15m])) > 0`,
      for: "0m",
      labels: { severity: "warning" },
      annotations: {
        summary: "meshlat filters in {{ $labels.namespace }}/{{ $labels.workload }} dropped telemetry",
        description: "{{ $value | humanize }} batches were dropped after the retry buffer filled (aggregator unreachable or rejecting). Metrics for this workload undercount.",
      },
    },
    {
      alert: "MeshlatFilterFlushFailures",
      expr: `max by (workload, namespace) (rate(meshlat_filter_failed_flushes_total[${W}])) > 0`,
      for: "15m",
      labels: { severity: "warning" },
      annotations: {
        summary: "meshlat filters in {{ $labels.namespace }}/{{ $labels.workload }} cannot deliver batches",
        description: "Flushes keep failing ({{ $value | humanize }}/s): check the aggregator Service, the sidecar's egress scope (Sidecar resource) and the AuthorizationPolicy.",
      },
    },
    {
      alert: "MeshlatFilterFoldingSeries",
      expr: [
        `max by (workload, namespace) (rate(meshlat_filter_folded_requests_total[15m]))`,
        `/`,
        `max by (workload, namespace) (rate(meshlat_filter_requests_total[15m]))`,
        `> 0.01`,
      ].join("\n"),
      for: "15m",
      labels: { severity: "info" },
      annotations: {
        summary: "meshlat series table full in {{ $labels.namespace }}/{{ $labels.workload }}",
        description: "{{ $value | humanizePercentage }} of requests fold into the overflow series; raise max_series in pluginConfig.",
      },
    },
    {
      alert: "MeshlatAggregatorRejectingBatches",
      expr: `sum by (reason) (rate(meshlat_aggregator_batch_errors_total{reason!="shed"}[${W}])) > 0`,
      for: "10m",
      labels: { severity: "warning" },
      annotations: {
        summary: "meshlat aggregator rejects batches ({{ $labels.reason }})",
        description: "{{ $value | humanize }} batches/s refused for reason {{ $labels.reason }}: a filter/aggregator version mismatch or a misconfigured client.",
      },
    },
    {
      alert: "MeshlatAggregatorShedding",
      expr: [
        `sum(rate(meshlat_aggregator_batches_total{result="shed"}[${W}]))`,
        `/`,
        `sum(rate(meshlat_aggregator_batches_total[${W}]))`,
        `> 0.01`,
      ].join("\n"),
      for: "10m",
      labels: { severity: "warning" },
      annotations: {
        summary: "meshlat aggregator sheds load",
        description: "{{ $value | humanizePercentage }} of batches get 429; the filters retry, then drop. Add replicas (HPA maxReplicas) or CPU.",
      },
    },
    {
      alert: "MeshlatAggregatorSeriesFolding",
      expr: [
        `sum(rate(meshlat_aggregator_series_folded_total[${W}])) > 0`,
        `or`,
        `max(meshlat_aggregator_series / meshlat_aggregator_series_limit) > 0.9`,
      ].join("\n"),
      for: "15m",
      labels: { severity: "warning" },
      annotations: {
        summary: "meshlat aggregator at its series limit",
        description: "Label sets fold into the overflow series or the store is above 90% of its limit.",
      },
    },
    {
      alert: "MeshlatAggregatorDown",
      expr: `up{job="${s.aggregatorName}"} == 0 or absent(up{job="${s.aggregatorName}"})`,
      for: "5m",
      labels: { severity: "critical" },
      annotations: {
        summary: "meshlat aggregator is not scraped",
        description: "Prometheus cannot scrape {{ $labels.instance }}; check the pod, the ServiceMonitor TLS settings and the AuthorizationPolicy.",
      },
    },
    {
      alert: "MeshlatNoFilterReports",
      expr: `sum(meshlat_filter_vms) == 0`,
      for: "15m",
      labels: { severity: "warning" },
      annotations: {
        summary: "No meshlat filter reports",
        description: "No filter VM reported in the last 5 minutes: is the WasmPlugin/TrafficExtension applied and its module pulled (istio-agent logs)?",
      },
    },
  ];
}

export function ruleGroups(s: Settings) {
  return { groups: [{ name: "meshlat", rules: alertRules(s) }] };
}

/** Metrics the alerts may use that the aggregator does not export, with where they come from. */
export const EXTERNAL_METRICS: Record<string, string> = {
  envoy_cluster_upstream_rq_retry: "Envoy cluster stats, exposed by the sidecars' /stats/prometheus",
  envoy_cluster_upstream_rq_total: "Envoy cluster stats, exposed by the sidecars' /stats/prometheus",
  up: "Prometheus' own per-target series",
};
