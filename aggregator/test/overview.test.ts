// GET /api/v1/overview: the page's one call per refresh agrees with the graph and latency APIs
// it stands for, and reports the filters' health.
import { test } from "node:test";
import assert from "node:assert/strict";
import { buildBatch, requests } from "../../test/support/batch-builder.ts";
import type { SeriesInput } from "../../test/support/batch-builder.ts";
import { testApp, windowAt } from "./helpers.ts";

const dst = (s: SeriesInput): SeriesInput => ({ ...s, labels: { reporter: "destination", connection_security_policy: "mutual_tls", ...s.labels } });
const CHECKOUT = "checkout.shop.svc.cluster.local";
const PAYMENT = "payment.shop.svc.cluster.local";
const proxy = (workload: string, ip: string) => ({ id: `sidecar~${ip}~${workload}-1.shop~shop.svc.cluster.local`, workload, namespace: "shop" });

test("overview: graph and every service's latency match their own APIs, in one response", async () => {
  const a = testApp({ min_samples: 5 });
  try {
    const w = windowAt(a.clock.now);
    const r1 = await a.post(buildBatch({ proxy: proxy("frontend", "10.0.0.1"), vm: "00000000000000a1", window: w, series: [
      requests(40, { requestMs: 50, upstreamMs: 45 }, { destination_service: CHECKOUT, user_tier: "free" }),
      requests(10, { requestMs: 60, upstreamMs: 55 }, { destination_service: CHECKOUT, user_tier: "premium", response_code: "503" }),
    ], counters: { requests: 50, dropped_batches: 2 } }));
    const r2 = await a.post(buildBatch({ proxy: proxy("checkout", "10.0.0.2"), vm: "00000000000000b1", window: w, series: [
      dst(requests(50, { requestMs: 40, upstreamMs: 38 }, { source_workload: "frontend", destination_service: CHECKOUT })),
      requests(50, { requestMs: 30, upstreamMs: 29 }, { source_workload: "checkout", destination_service: PAYMENT }),
    ], counters: { requests: 100, folded_requests: 3 } }));
    // a second VM of the same proxy (Envoy --concurrency 2)
    const r3 = await a.post(buildBatch({ proxy: proxy("checkout", "10.0.0.2"), vm: "00000000000000b2", window: w, series: [], counters: { failed_flushes: 1 } }));
    assert.deepEqual([r1.statusCode, r2.statusCode, r3.statusCode], [204, 204, 204]);

    for (const by of ["", "user_tier", "user_tier,region"]) {
      const r = await a.get(`/api/v1/overview?window=1m&by=${by}`);
      assert.equal(r.statusCode, 200, r.body);
      const o = r.json();
      const g = (await a.get("/api/v1/graph?window=1m")).json();
      assert.deepEqual(o.graph, { nodes: g.nodes, edges: g.edges });
      assert.equal(o.span_seconds, g.span_seconds);
      assert.deepEqual(o.services.map((s: any) => s.destination_service), [CHECKOUT, PAYMENT]);
      for (const s of o.services) {
        const l = (await a.get(`/api/v1/latency?window=1m&destination_service=${s.destination_service}${by ? `&by=${by}` : ""}`)).json();
        assert.deepEqual(s.groups, l.groups, `${s.destination_service} by=${by}`);
      }
      assert.deepEqual(o.by, by ? by.split(",") : []);
    }

    const f = (await a.get("/api/v1/overview")).json().filters;
    assert.deepEqual(f.workloads, [
      { workload: "checkout", namespace: "shop", proxies: 1, vms: 2, requests: 100, folded_requests: 3, dropped_batches: 0, failed_flushes: 1 },
      { workload: "frontend", namespace: "shop", proxies: 1, vms: 1, requests: 50, folded_requests: 0, dropped_batches: 2, failed_flushes: 0 },
    ]);
    assert.deepEqual(f.batches, { accepted: 3, duplicate: 0, rejected: 0, shed: 0 });
    assert.equal(f.series, 4);
    assert.equal(f.series_folded, 0);

    // VMs silent for longer than the reporting period no longer count as reporting.
    a.clock.now += 6 * 60_000;
    const later = (await a.get("/api/v1/overview")).json().filters.workloads;
    assert.deepEqual(later.map((x: any) => [x.workload, x.vms, x.proxies, x.requests]), [["checkout", 0, 0, 100], ["frontend", 0, 0, 50]]);
  } finally { await a.fastify.close(); }
});

test("overview: namespace keeps the graph API's edges and only their services", async () => {
  const a = testApp({ min_samples: 1 });
  try {
    await a.post(buildBatch({ window: windowAt(a.clock.now), series: [
      requests(5, { requestMs: 5 }, { destination_service: CHECKOUT }),
      requests(5, { requestMs: 5 }, { source_workload: "cron", source_namespace: "batch", destination_service: "ledger.billing.svc.cluster.local" }),
    ] }));
    const o = (await a.get("/api/v1/overview?namespace=billing")).json();
    assert.deepEqual(o.graph.edges.map((e: any) => e.destination), ["ledger.billing.svc.cluster.local"]);
    assert.deepEqual(o.services.map((s: any) => s.destination_service), ["ledger.billing.svc.cluster.local"]);
    assert.equal(o.namespace, "billing");
  } finally { await a.fastify.close(); }
});

test("overview: an empty aggregator answers an empty mesh, not an error", async () => {
  const a = testApp();
  try {
    const r = await a.get("/api/v1/overview");
    assert.equal(r.statusCode, 200, r.body);
    const o = r.json();
    assert.deepEqual([o.window, o.graph, o.services, o.filters.workloads], ["5m", { nodes: [], edges: [] }, [], []]);
  } finally { await a.fastify.close(); }
});

for (const [query, path] of [["window=2h", "window"], ["by=tier", "by"], ["by=user_tier&by=region", "by"]] as const) {
  test(`overview: ${query} is a 400 AGG_ERR_BAD_QUERY naming ${path}`, async () => {
    const a = testApp();
    try {
      const r = await a.get(`/api/v1/overview?${query}`);
      assert.equal(r.statusCode, 400, r.body);
      assert.equal(r.json().code, "AGG_ERR_BAD_QUERY");
      assert.equal(r.json().path, path, r.body);
    } finally { await a.fastify.close(); }
  });
}
