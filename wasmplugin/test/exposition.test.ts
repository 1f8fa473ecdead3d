// The queries fit what the aggregator really exposes: the real aggregator (aggregator/src,
// built in-process) ingests a batch and is scraped; every metric a query selects must appear
// in that exposition, and every label a query matches on or groups by must be a label of the
// metrics that query uses (or one Prometheus adds to every target).
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { parse } from "yaml";
import { build } from "../../aggregator/src/app.ts";
import { makeConfig } from "../../aggregator/src/config.ts";
import { buildBatch, requests } from "../../test/support/batch-builder.ts";
import { DEPLOY_DIR } from "../generate.ts";
import { EXTERNAL_METRICS } from "../src/alerts.ts";
import { metricNames } from "./support/promql-names.ts";
import { decodeFamilies } from "../../aggregator/src/metrics/protobuf.ts";

/** Labels Prometheus attaches to every scraped series (ServiceMonitor target labels). */
const TARGET_LABELS = ["instance", "job", "pod", "namespace", "service", "endpoint", "container"];

let exposition = new Map<string, Set<string>>();
const app = build(makeConfig({ log_level: "silent", caller_identity: "off" }));

before(async () => {
  await app.fastify.ready();
  const series = [
    requests(5, { requestMs: 12, upstreamMs: 9, appMs: 6 }),
    requests(2, { requestMs: 30, upstreamMs: 25, appMs: 20 }, { reporter: "destination", connection_security_policy: "none", response_flags: "UF,URX", response_code: "503" }),
  ];
  const ingest = await app.fastify.inject({
    method: "POST", url: "/v1/batches", headers: { "content-type": "application/msgpack" },
    payload: Buffer.from(buildBatch({ series, counters: { requests: 7, folded_requests: 1, dropped_batches: 1, failed_flushes: 1 } })),
  });
  assert.equal(ingest.statusCode, 204, ingest.body);
  const res = await app.fastify.inject({ method: "GET", url: "/metrics" });
  assert.equal(res.statusCode, 200);
  exposition = parseExposition(res.body);
  // What a Prometheus with native histograms scrapes: each timing as one native series.
  const proto = await app.fastify.inject({ method: "GET", url: "/metrics", headers: { accept: "application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited" } });
  assert.equal(proto.statusCode, 200);
  for (const f of decodeFamilies(proto.rawPayload) as { name: string; type: string; metric: { label?: { name: string }[]; histogram?: { schema?: number } }[] }[]) {
    if (f.type !== "HISTOGRAM" || f.metric[0]?.histogram?.schema === undefined) continue;
    exposition.set(f.name, new Set(f.metric.flatMap((m) => (m.label ?? []).map((l) => l.name))));
  }
});
after(() => app.fastify.close());

function parseExposition(text: string): Map<string, Set<string>> {
  const m = new Map<string, Set<string>>();
  for (const line of text.split("\n")) {
    const hit = /^([a-zA-Z_:][\w:]*)(\{([^}]*)\})?\s/.exec(line);
    if (!hit) continue;
    const labels = m.get(hit[1]!) ?? new Set<string>();
    for (const l of (hit[3] ?? "").matchAll(/([a-zA-Z_]\w*)="/g)) labels.add(l[1]!);
    m.set(hit[1]!, labels);
  }
  return m;
}

function queries(): { title: string; expr: string }[] {
  const rules = parse(readFileSync(join(DEPLOY_DIR, "monitoring", "meshlat.rules.yaml"), "utf8")).groups[0].rules as { alert: string; expr: string }[];
  const dash = JSON.parse(readFileSync(join(DEPLOY_DIR, "grafana", "meshlat-dashboard.json"), "utf8"));
  return [
    ...rules.map((r) => ({ title: r.alert, expr: r.expr })),
    ...dash.panels.flatMap((p: any) => p.targets.map((t: any) => ({ title: `${p.title} ${t.refId}`, expr: String(t.expr) }))),
  ];
}

/** Label names a query matches on (`{l="…"}`) or groups by (`by (…)`, `on (…)`). */
function labelsUsed(expr: string): string[] {
  const s = expr.replace(/"(?:[^"\\]|\\.)*"/g, '""');
  const out = new Set<string>();
  for (const m of s.matchAll(/\{([^}]*)\}/g)) for (const l of m[1]!.matchAll(/([a-zA-Z_]\w*)\s*(=~|!~|!=|=)/g)) out.add(l[1]!);
  for (const m of s.matchAll(/\b(?:by|on|without|ignoring)\s*\(([^)]*)\)/g)) for (const l of m[1]!.split(",")) if (l.trim()) out.add(l.trim());
  return [...out];
}

describe("queries against the real aggregator's /metrics", () => {
  it("the exposition has the traffic and self-metric families", () => {
    for (const n of ["meshlat_requests_total", "meshlat_proxy_duration_milliseconds_bucket", "meshlat_aggregator_batches_total", "meshlat_filter_dropped_batches_total", "meshlat_filter_vms"]) {
      assert.ok(exposition.has(n), `${n} missing from /metrics`);
    }
  });
  for (const q of queries()) it(q.title, () => assert.deepEqual(problems(q.expr), []));
  const bad: [string, string][] = [
    ["a label the traffic families do not have", `sum by (tier) (rate(meshlat_requests_total[5m]))`],
    ["a matcher on a label of another family", `rate(meshlat_aggregator_batches_total{reason="decode"}[5m])`],
    ["a metric the aggregator does not export", `rate(meshlat_requests_count[5m])`],
  ];
  for (const [name, expr] of bad) it(`catches ${name}`, () => assert.notDeepEqual(problems(expr), []));
});

function problems(expr: string): string[] {
  const all = metricNames(expr);
  const names = all.filter((n) => !(n in EXTERNAL_METRICS));
  const missing = names.filter((n) => !exposition.has(n)).map((n) => `${n} is not in the aggregator's /metrics`);
  if (missing.length || all.length !== names.length) return missing; // Envoy/Prometheus series: see alerts.test.ts
  const known = new Set([...TARGET_LABELS, "verdict", ...names.flatMap((n) => [...exposition.get(n)!])]);
  return labelsUsed(expr).filter((l) => !known.has(l)).map((l) => `label ${l} is not on ${names.join(", ")}`);
}
