// One definition of a failed request: on the same data, the graph API's error_rate and the
// Grafana dashboard's edge error-rate expression (evaluated by the real Prometheus on its
// scrape of the aggregator) give the same number for every edge. The traffic mixes app 500s,
// 503 UH (no healthy upstream), 404 NR (no route, a failure flag on a non-5xx code) and
// successes. The dashboard's expression is taken from the generated dashboard itself, with
// each rate(counter[$__rate_interval]) replaced by the counter: everything was sent inside
// the API's window, so the counters' totals are exactly what the window holds.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { LoadGenerator } from "../sidecar/load-generator.ts";
import { dashboard } from "../../wasmplugin/src/dashboard.ts";
import { startStack, type Stack } from "./stack.ts";

const PHASE = 60;

function edgeErrorExpr(): string {
  const panels = dashboard().panels as { title: string; targets: { expr: string }[] }[];
  const edges = panels.find((p) => p.title.startsWith("Dependency edges"));
  assert.ok(edges, "the dashboard has its edge table");
  const expr = edges.targets[1]!.expr; // "error rate" (Value #B)
  const counters = expr
    .replaceAll('source_namespace=~"$namespace"', 'source_namespace=~".*"')
    .replace(/rate\((meshlat_requests_total\{[^}]*\})\[\$__rate_interval\]\)/g, "$1");
  assert.ok(!counters.includes("$"), counters);
  return counters;
}

describe("the graph API and the dashboard count the same requests as failed", { timeout: 120_000 }, () => {
  let stack: Stack;
  before(async () => {
    stack = await startStack({
      mesh: {
        services: [
          { name: "frontend", region: "us-east-1", calls: ["checkout"] },
          { name: "checkout", region: "us-east-1", calls: ["payment", "ghost"] }, // ghost: no route (404 NR)
          { name: "payment", region: "eu-west-1", errorRate: 0.25 },
        ],
      },
    });
    const lg = new LoadGenerator({ ...stack.mesh.entry(), concurrency: 2, seed: 9 });
    await lg.runCount(PHASE);
    stack.mesh.setHealthy("payment", false); // 503 UH from checkout's sidecar
    await lg.runCount(PHASE / 2);
    stack.mesh.setHealthy("payment", true);
    lg.close();
    const sent = PHASE + PHASE / 2;
    // frontend → checkout, checkout → payment, checkout → ghost: each client side saw every request.
    await stack.prom.waitFor(`sum(meshlat_requests_total{reporter="source"})`, (v) => v === 3 * sent, 20_000);
  });
  after(() => stack?.stop());

  test("every edge: API error_rate == the dashboard's expression on the same data", async (t) => {
    const res = await fetch(`${stack.aggregator.url}/api/v1/graph?namespace=${stack.mesh.namespace}&window=5m`);
    assert.equal(res.status, 200);
    const g = (await res.json()) as { edges: { source: string; destination: string; reporter: string; error_rate: number }[] };
    const api = new Map(g.edges.filter((e) => e.reporter === "source").map((e) => [`${e.source} -> ${e.destination}`, e.error_rate]));
    const prom = new Map(
      (await stack.prom.query(edgeErrorExpr())).map((s) => [`${s.metric.source_workload}.${s.metric.source_namespace} -> ${s.metric.destination_service}`, s.value]),
    );
    t.diagnostic(JSON.stringify(Object.fromEntries(api)));
    assert.deepEqual([...prom.keys()].sort(), [...api.keys()].sort());
    for (const [edge, rate] of api) assert.ok(Math.abs(prom.get(edge)! - rate) < 1e-9, `${edge}: API ${rate}, dashboard ${prom.get(edge)}`);
    const rates = [...api.values()];
    assert.ok(rates.some((r) => r > 0 && r < 1), "some edge fails partly (app 500s, UH)");
    assert.ok(rates.some((r) => r === 1), "the no-route edge fails always (404 with NR)");
  });
});
