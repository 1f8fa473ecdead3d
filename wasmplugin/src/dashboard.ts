// Grafana dashboard: per service and tier, the latency split over time, the verdict, and the
// dependency edges with error rate. Every `expr` is checked by promtool and against the
// aggregator's metric names in wasmplugin/test/promql.test.ts.

import { promFailedRequests } from "../../aggregator/src/query/request-error.ts";
import { meanOf, quantileOf } from "./histogram-promql.ts";

const DS = { type: "prometheus", uid: "${datasource}" };
const SEL = `reporter="$reporter", destination_service=~"$service", user_tier=~"$tier", region=~"$region"`;
const RI = "$__rate_interval";
const TIMINGS = ["request", "upstream", "proxy", "app", "network"] as const;

// Classic or native histograms: see histogram-promql.ts.
const mean = (t: string, by: readonly string[] = []) => meanOf(`meshlat_${t}_duration_milliseconds`, SEL, RI, by);
const share = (t: string) => `(${mean(t, ["destination_service"])}) / (${mean("request", ["destination_service"])})`;

let nextId = 1;
function panel(title: string, type: string, grid: [number, number, number, number], targets: { expr: string; legendFormat?: string; instant?: boolean; format?: string; exemplar?: boolean }[], extra: Record<string, unknown> = {}) {
  const [x, y, w, h] = grid;
  return {
    id: nextId++,
    title,
    type,
    datasource: DS,
    gridPos: { x, y, w, h },
    targets: targets.map((t, i) => ({
      datasource: DS,
      refId: String.fromCharCode(65 + i),
      expr: t.expr,
      legendFormat: t.legendFormat ?? "",
      instant: t.instant ?? false,
      range: !(t.instant ?? false),
      format: t.format ?? "time_series",
      exemplar: t.exemplar ?? false,
    })),
    ...extra,
  };
}

function variable(name: string, label: string, query: string) {
  return {
    name,
    label,
    type: "query",
    datasource: DS,
    query: { query, refId: `${name}-var` },
    definition: query,
    includeAll: true,
    multi: true,
    allValue: ".*",
    current: { text: "All", value: "$__all" },
    refresh: 2,
    sort: 1,
  };
}

export function dashboard() {
  nextId = 1;
  const verdictExpr = [
    "topk by (destination_service) (1,",
    `  label_replace(${share("proxy")}, "verdict", "proxy", "", "")`,
    `  or label_replace(${share("network")}, "verdict", "network", "", "")`,
    `  or label_replace(${share("app")}, "verdict", "application", "", "")`,
    // Without Server-Timing there is no app/network split: say so instead of blaming the proxy.
    `  or label_replace((${share("upstream")}) unless on (destination_service) (${share("app")}), "verdict", "upstream (no Server-Timing)", "", "")`,
    ")",
  ].join("\n");
  const edgeSel = `reporter="source", source_namespace=~"$namespace"`;
  const edgeBy = "by (source_namespace, source_workload, destination_service)";
  const panels = [
    panel("Requests/s by tier", "timeseries", [0, 0, 12, 8], [
      { expr: `sum by (user_tier) (rate(meshlat_requests_total{${SEL}}[${RI}]))`, legendFormat: "{{user_tier}}" },
    ], { fieldConfig: { defaults: { unit: "reqps" }, overrides: [] } }),
    panel("Verdict (largest share of the mean)", "stat", [12, 0, 12, 8], [
      { expr: verdictExpr, legendFormat: "{{destination_service}}: {{verdict}}", instant: true },
    ], { options: { textMode: "name", colorMode: "background", reduceOptions: { calcs: ["lastNotNull"], values: false } }, fieldConfig: { defaults: { unit: "percentunit" }, overrides: [] } }),
    panel("Mean latency split (ms)", "timeseries", [0, 8, 12, 9], TIMINGS.map((t) => ({ expr: mean(t), legendFormat: t })),
      { fieldConfig: { defaults: { unit: "ms" }, overrides: [] } }),
    panel("p99 by timing (ms)", "timeseries", [12, 8, 12, 9], TIMINGS.map((t) => ({
      expr: quantileOf(0.99, `meshlat_${t}_duration_milliseconds`, SEL, RI),
      legendFormat: `p99 ${t}`,
      // The aggregator puts each series' slowest traced request on the request histogram
      // (docs/wire-format.md, "v2: a series' exemplar"); the data source links its trace_id
      // (grafana/meshlat-datasource.yaml, exemplarTraceIdDestinations).
      exemplar: t === "request",
    })), { fieldConfig: { defaults: { unit: "ms" }, overrides: [] } }),
    panel("Mean request time by tier (ms)", "timeseries", [0, 17, 12, 8], [
      { expr: mean("request", ["user_tier"]), legendFormat: "{{user_tier}}" },
    ], { fieldConfig: { defaults: { unit: "ms" }, overrides: [] } }),
    panel("Mean proxy / network / app by tier (ms)", "timeseries", [0, 25, 24, 8], (["proxy", "network", "app"] as const).map((t) => ({
      expr: mean(t, ["user_tier"]), legendFormat: `{{user_tier}} ${t}`,
    })), { fieldConfig: { defaults: { unit: "ms" }, overrides: [] } }),
    panel("Share of mean request time", "bargauge", [12, 17, 12, 8], (["proxy", "network", "app"] as const).map((t) => ({
      expr: share(t), legendFormat: `{{destination_service}} ${t}`, instant: true,
    })), { fieldConfig: { defaults: { unit: "percentunit", min: 0, max: 1 }, overrides: [] } }),
    panel("Dependency edges (client side)", "table", [0, 33, 24, 10], [
      { expr: `sum ${edgeBy} (rate(meshlat_requests_total{${edgeSel}}[${RI}]))`, instant: true, format: "table" },
      // The product's one definition of a failed request (aggregator/src/query/request-error.ts).
      { expr: `sum ${edgeBy} (${promFailedRequests(edgeSel, (s) => `rate(meshlat_requests_total{${s}}[${RI}])`)}) / sum ${edgeBy} (rate(meshlat_requests_total{${edgeSel}}[${RI}]))`, instant: true, format: "table" },
      { expr: quantileOf(0.99, "meshlat_request_duration_milliseconds", edgeSel, RI, ["source_namespace", "source_workload", "destination_service"]), instant: true, format: "table" },
    ], {
      transformations: [
        { id: "merge", options: {} },
        { id: "organize", options: { excludeByName: { Time: true }, renameByName: { "Value #A": "req/s", "Value #B": "error rate", "Value #C": "p99 ms" } } },
      ],
    }),
  ];
  return {
    title: "meshlat — where does the time go",
    uid: "meshlat-latency",
    tags: ["meshlat", "istio"],
    timezone: "browser",
    schemaVersion: 39,
    version: 1,
    editable: true,
    refresh: "30s",
    time: { from: "now-1h", to: "now" },
    templating: {
      list: [
        { name: "datasource", label: "Data source", type: "datasource", query: "prometheus", current: {} },
        { name: "reporter", label: "Reporter", type: "custom", query: "source,destination", current: { text: "source", value: "source" }, options: [] },
        variable("service", "Service", "label_values(meshlat_requests_total, destination_service)"),
        variable("tier", "User tier", "label_values(meshlat_requests_total, user_tier)"),
        variable("region", "Region", "label_values(meshlat_requests_total, region)"),
        variable("namespace", "Client namespace", "label_values(meshlat_requests_total, source_namespace)"),
      ],
    },
    annotations: { list: [] },
    panels,
  };
}
