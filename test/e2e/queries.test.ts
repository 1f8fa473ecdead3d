// End to end through a real Prometheus: traffic through the sample mesh, the filter's batches
// through the aggregator, scraped every second; then the queries an SRE would run (the
// Istio dashboards' queries with meshlat's names), checked against what the load generator
// and the apps themselves counted.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { LoadGenerator, type LoadStats } from "../sidecar/load-generator.ts";
import { startStack, svc, type Stack } from "./stack.ts";

const N = 400;
const TIERS = { free: 4, standard: 3, premium: 2, enterprise: 1, "": 1, "VIP-gold": 1 };

describe("Prometheus queries over meshlat metrics", { timeout: 90_000 }, () => {
  let stack: Stack;
  let load: LoadStats;
  let frontend: string;

  before(async () => {
    stack = await startStack({
      mesh: {
        workers: 2, // two worker VMs per sidecar: the aggregator must sum them exactly
        services: [
          { name: "frontend", region: "us-east-1", delayMs: 1, calls: ["checkout"] },
          { name: "checkout", region: "us-east-1", delayMs: 2, calls: ["payment"] },
          { name: "payment", region: "eu-west-1", delayMs: 3, errorRate: 0.1 },
        ],
      },
    });
    frontend = svc(stack.mesh, "frontend");
    const lg = new LoadGenerator({ ...stack.mesh.entry(), concurrency: 4, rps: 120, tiers: TIERS, seed: 11 });
    try {
      load = await lg.runCount(N);
    } finally {
      lg.close();
    }
    // Everything flushed and scraped: the edge's destination reporter counted every request.
    await stack.prom.waitFor(`sum(meshlat_requests_total{reporter="destination",${frontend}})`, (v) => v === N, 20_000);
    // ... and so did every other reporter and the apps' own histograms (every request reaches payment).
    await stack.prom.waitFor(`count(sum by (reporter, destination_service) (meshlat_requests_total) == ${N})`, (v) => v === 5, 20_000);
    await stack.prom.waitFor(`sum(http_request_duration_seconds_count)`, (v) => v === 3 * N, 20_000);
  });
  after(() => stack?.stop());

  test("every scrape target is up", async () => {
    const up = await stack.prom.query("up");
    assert.equal(up.length, 4);
    for (const s of up) assert.equal(s.value, 1, `${s.metric.job} is down`);
  });

  test("no request failed for lack of telemetry, and the sidecars never bypassed the filter", () => {
    assert.equal(load.failed, 0);
    assert.equal(load.completed, N);
    assert.deepEqual(stack.mesh.filterErrors(), { frontend: 0, checkout: 0, payment: 0 });
  });

  test("request rate by source and code", async () => {
    const r = await stack.prom.query(`sum by (source_workload, response_code) (rate(meshlat_requests_total{reporter="source"}[1m]))`);
    const keys = new Set(r.map((s) => `${s.metric.source_workload}/${s.metric.response_code}`));
    for (const k of ["frontend/200", "frontend/502", "checkout/200", "checkout/500"]) assert.ok(keys.has(k), `missing ${k} in ${[...keys]}`);
    for (const s of r) assert.ok(s.value > 0);
  });

  test("exact counts per response code and per tier at the edge match the load generator", async () => {
    const byCode = await stack.prom.query(`sum by (response_code) (meshlat_requests_total{reporter="destination",${frontend}})`);
    const codes = Object.fromEntries(byCode.map((s) => [s.metric.response_code, s.value]));
    assert.deepEqual(codes, Object.fromEntries([...load.byStatus].map(([c, n]) => [String(c), n])));
    const byTier = await stack.prom.query(`sum by (user_tier) (meshlat_requests_total{reporter="destination",${frontend}})`);
    const tiers = Object.fromEntries(byTier.map((s) => [s.metric.user_tier, s.value]));
    const expected: Record<string, number> = {};
    for (const [t, n] of load.byTier) {
      const label = t === "" ? "unknown" : t === "VIP-gold" ? "other" : t;
      expected[label] = (expected[label] ?? 0) + n;
    }
    assert.deepEqual(tiers, expected);
  });

  test("p99 by source via histogram_quantile", async () => {
    const r = await stack.prom.query(
      `histogram_quantile(0.99, sum by (source_workload, le) (rate(meshlat_request_duration_milliseconds_bucket{reporter="source"}[1m])))`,
    );
    const p99 = Object.fromEntries(r.map((s) => [s.metric.source_workload, s.value]));
    assert.deepEqual(Object.keys(p99).sort(), ["checkout", "frontend"]);
    // frontend's outbound call covers checkout's and payment's work: it cannot be faster.
    for (const v of Object.values(p99)) assert.ok(Number.isFinite(v) && v > 0, `p99 ${v}`);
    assert.ok(p99.frontend >= p99.checkout * 0.8, `frontend p99 ${p99.frontend} vs checkout ${p99.checkout}`);
  });

  test("error ratio of payment equals the app's own error ratio", async () => {
    const pay = svc(stack.mesh, "payment");
    const mesh = await stack.prom.scalar(
      `sum(meshlat_requests_total{reporter="destination",${pay},response_code=~"5.."}) / sum(meshlat_requests_total{reporter="destination",${pay}})`,
    );
    const app = await stack.prom.scalar(
      `sum(http_request_duration_seconds_count{job="payment",status_code=~"5.."}) / sum(http_request_duration_seconds_count{job="payment"})`,
    );
    assert.ok(mesh > 0.03 && mesh < 0.2, `error ratio ${mesh}`);
    assert.equal(mesh, app);
    const rate = await stack.prom.scalar(
      `sum(rate(meshlat_requests_total{reporter="destination",${pay},response_code=~"5.."}[1m])) / sum(rate(meshlat_requests_total{reporter="destination",${pay}}[1m]))`,
    );
    assert.ok(Math.abs(rate - mesh) < 0.05, `rate-based ratio ${rate} vs ${mesh}`);
  });

  test("per-tier p99 at the edge", async () => {
    const r = await stack.prom.query(
      `histogram_quantile(0.99, sum by (user_tier, le) (rate(meshlat_request_duration_milliseconds_bucket{reporter="destination",${frontend}}[1m])))`,
    );
    assert.deepEqual(r.map((s) => s.metric.user_tier).sort(), ["enterprise", "free", "other", "premium", "standard", "unknown"]);
  });

  test("per-region breakdown: the checkout → payment hop crosses regions", async () => {
    const r = await stack.prom.query(`sum by (source_workload, region, peer_region) (meshlat_requests_total{reporter="source"})`);
    const hops = new Set(r.map((s) => `${s.metric.source_workload}:${s.metric.region}->${s.metric.peer_region}`));
    assert.deepEqual([...hops].sort(), ["checkout:us-east-1->eu-west-1", "frontend:us-east-1->us-east-1"]);
    const dest = await stack.prom.query(`sum by (destination_service, region) (meshlat_requests_total{reporter="destination"})`);
    const regions = Object.fromEntries(dest.map((s) => [s.metric.destination_service.split(".")[0], s.metric.region]));
    assert.deepEqual(regions, { frontend: "us-east-1", checkout: "us-east-1", payment: "eu-west-1" });
  });

  test("server side: the peer workload and mutual TLS between sidecars, none from outside the mesh", async () => {
    const r = await stack.prom.query(`sum by (destination_service, source_workload, connection_security_policy) (meshlat_requests_total{reporter="destination"})`);
    const seen = new Set(r.map((s) => `${s.metric.destination_service.split(".")[0]}<-${s.metric.source_workload}:${s.metric.connection_security_policy}`));
    assert.deepEqual([...seen].sort(), ["checkout<-frontend:mutual_tls", "frontend<-unknown:none", "payment<-checkout:mutual_tls"]);
  });

  test("the dependency graph API shows the observed edges with mTLS and errors", async () => {
    const res = await fetch(`${stack.aggregator.url}/api/v1/graph?namespace=shop&window=5m`);
    assert.equal(res.status, 200);
    const g = (await res.json()) as { edges: { source: string; destination: string; requests: number; error_rate: number; mtls_share: number | null }[] };
    const edges = Object.fromEntries(g.edges.map((e) => [`${e.source}->${e.destination.split(".")[0]}`, e]));
    assert.deepEqual(Object.keys(edges).sort(), ["checkout.shop->payment", "frontend.shop->checkout", "unknown.unknown->frontend"]);
    for (const k of ["checkout.shop->payment", "frontend.shop->checkout"]) {
      assert.equal(edges[k].requests, N);
      assert.equal(edges[k].mtls_share, 1);
    }
    assert.ok(edges["checkout.shop->payment"].error_rate > 0.03, JSON.stringify(edges["checkout.shop->payment"]));
  });

  test("aggregator and filter self-metrics are scraped", async () => {
    const accepted = await stack.prom.scalar(`sum(meshlat_aggregator_batches_total{result="accepted"})`);
    assert.ok(accepted > 0);
    const filterReq = await stack.prom.query(`sum by (workload) (meshlat_filter_requests_total)`);
    const byWl = Object.fromEntries(filterReq.map((s) => [s.metric.workload, s.value]));
    // frontend: N inbound + N outbound, summed over its VMs.
    assert.equal(byWl.frontend, 2 * N);
    // The load generator's 4 connections are spread over frontend's 2 worker VMs; the main
    // and canary VMs never see traffic, so never report.
    assert.equal(await stack.prom.scalar(`sum(meshlat_filter_vms{workload="frontend"})`), 2);
  });
});
