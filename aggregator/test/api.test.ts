import { test } from "node:test";
import assert from "node:assert/strict";
import { buildBatch, requests } from "../../test/support/batch-builder.ts";
import type { SeriesInput } from "../../test/support/batch-builder.ts";
import { testApp, windowAt } from "./helpers.ts";

const SVC = "checkout.shop.svc.cluster.local";
const dst = (s: SeriesInput): SeriesInput => ({ ...s, labels: { reporter: "destination", connection_security_policy: "mutual_tls", ...s.labels } });

const verdictCases: [string, SeriesInput[], string, string, string | null][] = [
  // [name, series, source, verdict, by]
  ["application-bound (Server-Timing)", [requests(100, { requestMs: 100, upstreamMs: 95, appMs: 85 })], "server_timing", "application", null],
  ["network-bound (Server-Timing)", [requests(100, { requestMs: 100, upstreamMs: 95, appMs: 10 })], "server_timing", "network", null],
  ["proxy-bound (Server-Timing)", [requests(100, { requestMs: 100, upstreamMs: 20, appMs: 15 })], "server_timing", "proxy", null],
  ["paired reporters without Server-Timing: network-bound", [requests(100, { requestMs: 100, upstreamMs: 95 }), dst(requests(100, { requestMs: 22, upstreamMs: 20 }))], "paired_reporters", "network", null],
  ["paired reporters without Server-Timing: application-bound", [requests(100, { requestMs: 100, upstreamMs: 95 }), dst(requests(100, { requestMs: 90, upstreamMs: 85 }))], "paired_reporters", "application", null],
  ["paired reporters: server sidecar makes it proxy-bound", [requests(100, { requestMs: 100, upstreamMs: 90 }), dst(requests(100, { requestMs: 85, upstreamMs: 20 }))], "paired_reporters", "proxy", null],
  // With Server-Timing the client's network timing (upstream - app) still holds the server sidecar's
  // time; the paired destination reporter moves it to proxy (here 70 - 12 = 58 of the 85 ms).
  ["Server-Timing and a slow server sidecar: proxy, not network", [requests(100, { requestMs: 100, upstreamMs: 95, appMs: 10 }), dst(requests(100, { requestMs: 70, upstreamMs: 12, appMs: 10 }))], "server_timing", "proxy", null],
  ["Server-Timing and a fast server sidecar: still network", [requests(100, { requestMs: 100, upstreamMs: 95, appMs: 10 }), dst(requests(100, { requestMs: 13, upstreamMs: 12, appMs: 10 }))], "server_timing", "network", null],
  ["proxy only, proxy dominates", [requests(100, { requestMs: 100, upstreamMs: 10 })], "proxy_only", "proxy", null],
  ["proxy only, upstream dominates: cannot split", [requests(100, { requestMs: 100, upstreamMs: 90 })], "proxy_only", "insufficient_data", null],
  ["too few samples", [requests(5, { requestMs: 100, upstreamMs: 95, appMs: 85 })], "server_timing", "insufficient_data", null],
];

for (const [name, series, source, verdict] of verdictCases) {
  test(`latency verdict: ${name}`, async () => {
    const a = testApp({ min_samples: 20 });
    try {
      assert.equal((await a.post(buildBatch({ window: windowAt(a.clock.now), series }))).statusCode, 204);
      const r = await a.get(`/api/v1/latency?destination_service=${SVC}&window=1m`);
      assert.equal(r.statusCode, 200, r.body);
      const j = r.json();
      assert.equal(j.groups.length, 1, r.body);
      const g = j.groups[0];
      assert.equal(g.reporter, "source");
      assert.equal(g.source, source, r.body);
      assert.equal(g.verdict, verdict, r.body);
      assert.equal(g.rate_per_s, g.requests / 1, "one batch covering 1 s: the rate is over that second");
      if (g.split.network) {
        const sum = g.split.proxy.share + g.split.network.share + g.split.app.share;
        assert.ok(Math.abs(sum - 1) < 1e-9, `shares add up to ${sum}`);
      }
    } finally { await a.fastify.close(); }
  });
}

/** A scale-3 bucket's relative width: the filter's windows (and the reference encoder's) start at scale 3. */
const BUCKET = 2 ** (1 / 8) - 1;

/** Within `rel` of `want` (quantiles from exponential buckets). */
function near(got: number, want: number, rel: number): void {
  assert.ok(Math.abs(got - want) <= rel * want, `${got} is not within ${rel * 100}% of ${want}`);
}

test("latency numbers: means, shares and quantiles from the buckets", async () => {
  const a = testApp();
  try {
    await a.post(buildBatch({ v: 2, series: [requests(40, { requestMs: 20, upstreamMs: 16, appMs: 12 })] }));
    const g = (await a.get(`/api/v1/latency?destination_service=${SVC}`)).json().groups[0];
    assert.equal(g.requests, 40);
    assert.equal(g.timings.request.mean_ms, 20);
    assert.equal(g.timings.proxy.mean_ms, 4);
    assert.equal(g.timings.proxy.share, 0.2);
    assert.equal(g.timings.app.share, 0.6);
    assert.equal(g.timings.network.mean_ms, 4);
    // all 40 in the scale-3 bucket holding 20 ms, 9% wide
    near(g.timings.request.p50_ms, 20, BUCKET);
    near(g.timings.request.p99_ms, 20, BUCKET);
    assert.deepEqual(g.split.app, { mean_ms: 12, share: 0.6 });
  } finally { await a.fastify.close(); }
});

test("latency by user_tier and region, and reporter selection", async () => {
  const a = testApp({ min_samples: 1 });
  try {
    await a.post(buildBatch({ series: [
      requests(10, { requestMs: 10, upstreamMs: 9, appMs: 8 }, { user_tier: "free", region: "eu" }),
      requests(20, { requestMs: 30, upstreamMs: 29, appMs: 1 }, { user_tier: "premium", region: "eu" }),
      requests(30, { requestMs: 40, upstreamMs: 39, appMs: 1 }, { user_tier: "premium", region: "us" }),
      dst(requests(60, { requestMs: 5, upstreamMs: 4 }, { user_tier: "premium", region: "us" })),
      requests(5, { requestMs: 5 }, { destination_service: "other.svc" }),
    ] }));
    let j = (await a.get(`/api/v1/latency?destination_service=${SVC}&by=user_tier,region`)).json();
    assert.deepEqual(j.groups.map((g: any) => [g.user_tier, g.region, g.requests, g.reporter]), [["free", "eu", 10, "source"], ["premium", "eu", 20, "source"], ["premium", "us", 30, "source"]]);
    j = (await a.get(`/api/v1/latency?destination_service=${SVC}&by=user_tier`)).json();
    assert.deepEqual(j.groups.map((g: any) => [g.user_tier, g.requests, g.verdict]), [["free", 10, "application"], ["premium", 50, "network"]]);
    j = (await a.get(`/api/v1/latency?destination_service=${SVC}&reporter=destination`)).json();
    assert.deepEqual(j.groups.map((g: any) => [g.reporter, g.requests, g.source]), [["destination", 60, "proxy_only"]]);
    j = (await a.get(`/api/v1/latency?destination_service=nothing.svc`)).json();
    assert.deepEqual(j.groups, []);
  } finally { await a.fastify.close(); }
});

const badQueries: [string, string][] = [
  ["/api/v1/latency", "destination_service"],
  [`/api/v1/latency?destination_service=${SVC}&window=2h`, "window"],
  [`/api/v1/latency?destination_service=${SVC}&by=pod`, "by"],
  [`/api/v1/latency?destination_service=${SVC}&reporter=client`, "reporter"],
  [`/api/v1/latency?destination_service=a&destination_service=b`, "destination_service"],
  ["/api/v1/graph?window=7m", "window"],
];
test("API query errors are 400 AGG_ERR_BAD_QUERY naming the parameter", async () => {
  const a = testApp();
  try {
    for (const [url, path] of badQueries) {
      const r = await a.get(url);
      assert.equal(r.statusCode, 400, url);
      assert.deepEqual([r.json().code, r.json().path], ["AGG_ERR_BAD_QUERY", path], url);
    }
  } finally { await a.fastify.close(); }
});

test("graph: edges with rate, error rate, p99 and mTLS share; namespace filter", async () => {
  const a = testApp();
  try {
    await a.post(buildBatch({ v: 2, series: [
      requests(90, { requestMs: 8 }),
      requests(6, { requestMs: 8 }, { response_code: "503" }),
      requests(4, { requestMs: 8 }, { response_code: "0", response_flags: "UF,URX" }),
      // an injected delay or a cache hit is a successful response, not an error
      requests(3, { requestMs: 8 }, { response_flags: "DI" }),
      requests(2, { requestMs: 8 }, { response_flags: "RFCF" }),
      dst(requests(75, { requestMs: 6 })),
      dst(requests(25, { requestMs: 6 }, { connection_security_policy: "none" })),
      dst(requests(12, { requestMs: 3 }, { source_workload: "cron", source_namespace: "batch", destination_service: "ledger.billing.svc.cluster.local" })),
      requests(1, { requestMs: 1 }, { source_workload: "x", source_namespace: "other", destination_service: "y.other.svc.cluster.local" }),
    ] }));
    const g = (await a.get("/api/v1/graph?window=5m")).json();
    assert.equal(g.edges.length, 3);
    const e = g.edges.find((x: any) => x.source === "frontend.shop");
    assert.equal(e.destination, "checkout.shop.svc.cluster.local");
    assert.equal(e.reporter, "source");
    assert.equal(e.requests, 105);
    assert.equal(g.span_seconds, 1, "the only batch covers 1 s");
    assert.equal(e.rate_per_s, 105 / 1);
    assert.equal(e.error_rate, 10 / 105);
    assert.equal(e.mtls_share, 0.75);
    near(e.p99_ms, 8, BUCKET); // 8 ms is a power of two: the top of its bucket
    const c = g.edges.find((x: any) => x.source === "cron.batch");
    assert.deepEqual([c.reporter, c.requests, c.mtls_share], ["destination", 12, 1]);
    assert.ok(g.nodes.some((n: any) => n.id === "ledger.billing.svc.cluster.local" && n.kind === "service" && n.namespace === "billing"));
    const billing = (await a.get("/api/v1/graph?namespace=billing")).json();
    assert.deepEqual(billing.edges.map((x: any) => x.source), ["cron.batch"]);
    const batch = (await a.get("/api/v1/graph?namespace=batch")).json();
    assert.deepEqual(batch.edges.map((x: any) => x.destination), ["ledger.billing.svc.cluster.local"]);
  } finally { await a.fastify.close(); }
});

test("healthz always; readyz only while listening and not closing", async () => {
  const a = testApp();
  try {
    assert.equal((await a.get("/healthz")).statusCode, 200);
    assert.equal((await a.get("/readyz")).statusCode, 503);
    await a.fastify.listen({ host: "127.0.0.1", port: 0 });
    assert.equal((await a.get("/readyz")).statusCode, 200);
    assert.equal((await a.get("/nope")).json().code, "AGG_ERR_NOT_FOUND");
  } finally { await a.fastify.close(); }
});

test("GET / serves the HTML page fed by the overview API (ui.test.ts: its assets; test/web: in a browser)", async () => {
  const a = testApp();
  try {
    const r = await a.get("/");
    assert.equal(r.statusCode, 200);
    assert.match(String(r.headers["content-type"]), /^text\/html/);
    assert.match(r.body, /api\/v1\/overview/);
  } finally { await a.fastify.close(); }
});

test("Server-Timing split takes the server sidecar's time out of network when the destination reporter is there", async () => {
  const a = testApp();
  try {
    await a.post(buildBatch({ series: [requests(50, { requestMs: 100, upstreamMs: 95, appMs: 10 }), dst(requests(50, { requestMs: 70, upstreamMs: 12, appMs: 10 }))] }));
    const g = (await a.get(`/api/v1/latency?destination_service=${SVC}`)).json().groups[0];
    assert.equal(g.source, "server_timing");
    assert.deepEqual(g.split.app, { mean_ms: 10, share: 0.1 });
    assert.deepEqual(g.split.network, { mean_ms: 27, share: 0.27 });
    assert.deepEqual(g.split.proxy, { mean_ms: 63, share: 0.63 });
    assert.equal(g.timings.network.mean_ms, 85, "the network timing itself stays the filter's upstream - app");
  } finally { await a.fastify.close(); }
});

test("paired reporters split the client's upstream into network, server proxy and app", async () => {
  const a = testApp();
  try {
    await a.post(buildBatch({ series: [requests(50, { requestMs: 100, upstreamMs: 95 }), dst(requests(50, { requestMs: 22, upstreamMs: 20 }))] }));
    const g = (await a.get(`/api/v1/latency?destination_service=${SVC}`)).json().groups[0];
    assert.equal(g.source, "paired_reporters");
    assert.deepEqual(g.split.app, { mean_ms: 20, share: 0.2 });
    assert.deepEqual(g.split.network, { mean_ms: 73, share: 0.73 });
    assert.deepEqual(g.split.proxy, { mean_ms: 7, share: 0.07 });
    assert.equal(g.timings.app, null);
  } finally { await a.fastify.close(); }
});

test("graph and latency answer for every valid batch: a client series of 0 requests beside server data, or alone", async () => {
  const a = testApp();
  try {
    await a.post(buildBatch({ v: 2, series: [{ count: 0 }, dst(requests(3, { requestMs: 2 }))] }));
    await a.post(buildBatch({ v: 2, series: [{ count: 0, labels: { destination_service: "idle.svc" } }] }));
    const r = await a.get("/api/v1/graph?window=1m");
    assert.equal(r.statusCode, 200, r.body);
    const edges = r.json().edges.map((e: any) => [e.destination, e.reporter, e.requests, e.error_rate, e.p99_ms]);
    near(edges[0][4], 2, BUCKET);
    assert.deepEqual(edges.map((e: unknown[]) => e.slice(0, 4)), [["checkout.shop.svc.cluster.local", "destination", 3, 0], ["idle.svc", "source", 0, 0]]);
    assert.equal(edges[1][4], null);
    for (const svc of [SVC, "idle.svc"]) assert.equal((await a.get(`/api/v1/latency?destination_service=${svc}&window=1m`)).statusCode, 200, svc);
  } finally { await a.fastify.close(); }
});

test("response schemas serialize every field the queries compute (nothing dropped or renamed)", async () => {
  const { latency } = await import("../src/query/latency.ts");
  const { graph } = await import("../src/query/graph.ts");
  const a = testApp({ min_samples: 1 });
  try {
    await a.post(buildBatch({ series: [
      requests(30, { requestMs: 40, upstreamMs: 30, appMs: 20 }, { user_tier: "premium", region: "eu" }),
      requests(5, { requestMs: 8 }, { response_code: "503" }),
      dst(requests(20, { requestMs: 25, upstreamMs: 18 }, { user_tier: "premium", region: "us" })),
    ] }));
    const now = a.clock.now;
    const covered = a.state.spanMs(now, 300_000); // what the routes divide rates by
    const entries = () => a.state.windows.entries(now, 300_000);
    const groups = latency(entries(), { destinationService: SVC, windowMs: covered, by: ["user_tier", "region"], minSamples: 1, traceUrlTemplate: "" });
    const l = (await a.get(`/api/v1/latency?destination_service=${SVC}&by=user_tier,region`)).json();
    assert.deepEqual(l.groups, JSON.parse(JSON.stringify(groups)));
    assert.deepEqual(Object.keys(l).sort(), ["by", "destination_service", "groups", "min_samples", "span_seconds", "window", "window_seconds"]);
    const g = (await a.get("/api/v1/graph")).json();
    assert.deepEqual({ nodes: g.nodes, edges: g.edges }, JSON.parse(JSON.stringify(graph(entries(), { windowMs: covered }))));
    assert.equal(g.namespace, null);
  } finally { await a.fastify.close(); }
});

test("an API error is not counted as a refused batch (ingest accounting stays with ingest)", async () => {
  const a = testApp();
  try {
    assert.equal((await a.get("/api/v1/latency")).statusCode, 400);
    assert.equal((await a.get("/nope")).statusCode, 404);
    const m = await a.scrape();
    assert.match(m, /meshlat_aggregator_batches_total\{result="rejected"\} 0\n/);
  } finally { await a.fastify.close(); }
});

test("prometheus_timeout_ms: a Prometheus that never answers fails the view with 502 AGG_ERR_PROMETHEUS after that time", { timeout: 5_000 }, async () => {
  const { createServer } = await import("node:http");
  const held: import("node:http").ServerResponse[] = [];
  const hang = createServer((_req, res) => { held.push(res); });
  await new Promise<void>((r) => hang.listen(0, "127.0.0.1", r));
  const url = `http://127.0.0.1:${(hang.address() as import("node:net").AddressInfo).port}`;
  const a = testApp({ prometheus_url: url, prometheus_timeout_ms: 300 });
  try {
    const t0 = performance.now();
    const r = await a.get("/api/v1/graph?window=5m");
    assert.equal(r.statusCode, 502, r.body);
    assert.equal(r.json().code, "AGG_ERR_PROMETHEUS");
    assert.ok(performance.now() - t0 < 3_000, "failed after prometheus_timeout_ms, not the default 10 s");
  } finally {
    for (const res of held) res.destroy();
    await new Promise((r) => hang.close(r));
    await a.fastify.close();
  }
});

test("with prometheus_url the local windows are not kept (the views come from Prometheus): ingest merges into the store only", async () => {
  for (const [url, kept] of [["", true], ["http://127.0.0.1:9", false]] as const) {
    const a = testApp({ prometheus_url: url });
    try {
      for (let k = 0; k < 3; k++) {
        assert.equal((await a.post(buildBatch({ seq: k + 1, window: windowAt(a.clock.now), series: [requests(4, { requestMs: 5 })] }))).statusCode, 204);
        a.clock.now += 10_000;
      }
      assert.equal(a.state.store.points, 3);
      assert.equal(a.state.windows.size > 0, kept, url || "no prometheus_url");
      assert.match(await a.scrape(), kept ? /^meshlat_aggregator_window_entries [1-9]/m : /^meshlat_aggregator_window_entries 0$/m);
    } finally { await a.fastify.close(); }
  }
});
