import { test } from "node:test";
import assert from "node:assert/strict";
import { gunzipSync } from "node:zlib";
import { buildBatch, requests } from "../../test/support/batch-builder.ts";
import { parseExposition, promtoolCheck, sample, testApp } from "./helpers.ts";
import { wantsOpenMetrics } from "../src/metrics/negotiate.ts";
import { canonicalFloat } from "../src/metrics/exposition.ts";

const tricky = { source_workload: 'we"ird\\name', destination_service: "line\nbreak.svc", user_tier: "premium" };

async function loaded() {
  const a = testApp();
  await a.post(buildBatch({
    v: 2,
    series: [
      requests(3, { requestMs: 5, upstreamMs: 4, appMs: 2 }),
      requests(2, { requestMs: 50, upstreamMs: 45 }, tricky),
      { labels: { response_code: "0", response_flags: "DC" }, count: 1, timings: { request: [0.3], proxy: [0.3] } },
    ],
    counters: { requests: 6, failed_flushes: 2 },
  }));
  await a.post(Uint8Array.from([0xc1])); // one rejection, so the error counters move
  return a;
}

test("text exposition passes promtool check metrics and parses back series by series", async () => {
  const a = await loaded();
  try {
    const text = await a.scrape();
    promtoolCheck(text); // throws with promtool's output on any problem
    const p = parseExposition(text);
    const full = { reporter: "source", source_workload: 'we"ird\\name', source_namespace: "shop", destination_service: "line\nbreak.svc", response_code: "200", response_flags: "-", connection_security_policy: "unknown", user_tier: "premium", region: "eu-west-1", peer_region: "eu-west-1" };
    assert.equal(sample(p, "meshlat_requests_total", full), 2);
    assert.equal(sample(p, "meshlat_upstream_duration_milliseconds_sum", full), 90);
    assert.equal(sample(p, "meshlat_upstream_duration_milliseconds_bucket", { ...full, le: "32" }), 0);
    assert.equal(sample(p, "meshlat_upstream_duration_milliseconds_bucket", { ...full, le: "64" }), 2);
    assert.equal(sample(p, "meshlat_app_duration_milliseconds_count", full), undefined, "no app timing → no app histogram");
    const types = Object.fromEntries([...p.families].map(([k, v]) => [k, v.type]));
    for (const t of ["request", "upstream", "proxy", "app", "network"]) assert.equal(types[`meshlat_${t}_duration_milliseconds`], "histogram");
    assert.equal(types.meshlat_requests_total, "counter");
    assert.equal(types.meshlat_aggregator_batches_total, "counter");
    assert.equal(types.meshlat_aggregator_batch_errors_total, "counter");
    assert.equal(types.meshlat_aggregator_series, "gauge");
    assert.equal(types.meshlat_aggregator_series_limit, "gauge");
    assert.equal(types.meshlat_aggregator_series_folded_total, "counter");
    assert.equal(types.meshlat_aggregator_series_expired_total, "counter");
    assert.equal(types.meshlat_aggregator_ingest_duration_seconds, "histogram");
    assert.equal(types.meshlat_aggregator_series_points_total, "counter");
    for (const k of ["requests", "folded_requests", "dropped_batches", "failed_flushes"]) assert.equal(types[`meshlat_filter_${k}_total`], "counter");
    assert.equal(types.meshlat_filter_vms, "gauge");
    for (const r of ["accepted", "duplicate", "rejected", "shed"]) assert.notEqual(sample(p, "meshlat_aggregator_batches_total", { result: r }), undefined, r);
    for (const r of ["decode", "schema", "version", "too_large", "content_type", "shed"]) assert.notEqual(sample(p, "meshlat_aggregator_batch_errors_total", { reason: r }), undefined, r);
    assert.equal(sample(p, "meshlat_aggregator_batch_errors_total", { reason: "schema" }), 1);
    assert.equal(sample(p, "meshlat_filter_failed_flushes_total", { workload: "frontend", namespace: "shop" }), 2);
  } finally { await a.fastify.close(); }
});

test("OpenMetrics when Accept asks for it; text otherwise; counters keep their names across formats", async () => {
  const a = await loaded();
  try {
    const om = await a.fastify.inject({ method: "GET", url: "/metrics", headers: { accept: "application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5,*/*;q=0.1" } });
    assert.match(String(om.headers["content-type"]), /^application\/openmetrics-text; version=1.0.0/);
    const p = parseExposition(om.body, true);
    assert.equal(p.families.get("meshlat_requests")?.type, "counter");
    assert.equal(p.families.get("meshlat_aggregator_batches")?.type, "counter");
    assert.equal(sample(p, "meshlat_aggregator_batches_total", { result: "accepted" }), 1);
    // OpenMetrics `le` values are canonical numbers (Go %g, ".0" appended): 0.03125 … 1.0 … 65536.0.
    const full = { reporter: "source", source_workload: "frontend", source_namespace: "shop", destination_service: "checkout.shop.svc.cluster.local", response_code: "200", response_flags: "-", connection_security_policy: "unknown", user_tier: "free", region: "eu-west-1", peer_region: "eu-west-1" };
    for (const le of ["0.03125", "1.0", "4.0", "8.0", "65536.0", "+Inf"]) assert.equal(sample(p, "meshlat_request_duration_milliseconds_bucket", { ...full, le }), le === "0.03125" || le === "1.0" || le === "4.0" ? 0 : 3, le);
    assert.equal(sample(p, "meshlat_aggregator_ingest_duration_seconds_bucket", { le: "1.0" }), 1);
    assert.equal(sample(p, "meshlat_aggregator_ingest_duration_seconds_bucket", { le: "0.0001" }) !== undefined, true);
    assert.deepEqual([1e-5, 0.0001, 0.1, 1, 1.7, 100000, 1e6, 1.5e6, 1e10, 0, 60000].map(canonicalFloat), ["1e-05", "0.0001", "0.1", "1.0", "1.7", "100000.0", "1e+06", "1.5e+06", "1e+10", "0.0", "60000.0"]);
    const txt = await a.fastify.inject({ method: "GET", url: "/metrics" });
    assert.match(String(txt.headers["content-type"]), /^text\/plain; version=0.0.4/);
    const t = parseExposition(txt.body);
    assert.equal(sample(t, "meshlat_request_duration_milliseconds_bucket", { ...full, le: "8" }), 3);
    assert.equal(sample(t, "meshlat_request_duration_milliseconds_bucket", { ...full, le: "4" }), 0);
    assert.equal(t.families.get("meshlat_aggregator_batches_total")?.type, "counter");
    promtoolCheck(txt.body);
  } finally { await a.fastify.close(); }
});

test("Accept negotiation table", () => {
  const cases: [string | undefined, boolean][] = [
    [undefined, false],
    ["text/plain", false],
    ["application/openmetrics-text", true],
    ["application/openmetrics-text; version=1.0.0; q=0", false],
    // The most preferred acceptable format wins, as client_golang's expfmt.NegotiateIncludingOpenMetrics
    // walks the Accept entries by descending q; wildcards fall back to text.
    ["text/plain;q=1, application/openmetrics-text;q=0.2", false],
    ["application/openmetrics-text;q=0.2, text/plain;q=0.1", true],
    ["text/plain;version=0.0.4;q=0.5, application/openmetrics-text;version=1.0.0", true],
    ["*/*;q=1, application/openmetrics-text;q=0.5", true],
    ["application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1", true], // Prometheus 2.x
    ["text/plain;version=0.0.4, application/openmetrics-text", false],
    ["*/*", false],
  ];
  for (const [accept, om] of cases) assert.equal(wantsOpenMetrics(accept), om, String(accept));
});

test("gzip when the scraper accepts it", async () => {
  const a = await loaded();
  try {
    const r = await a.fastify.inject({ method: "GET", url: "/metrics", headers: { "accept-encoding": "gzip" } });
    assert.equal(r.headers["content-encoding"], "gzip");
    const text = gunzipSync(r.rawPayload).toString("utf8");
    assert.equal(sample(parseExposition(text), "meshlat_aggregator_batches_total", { result: "accepted" }), 1);
    for (const [ae, gz] of [["gzip", true], ["deflate, gzip;q=0.5", true], ["GZIP", true], ["gzip;q=0", false], ["gzip; q=0.000, identity", false], ["identity", false], ["x-gzip2", false]] as const) {
      const x = await a.fastify.inject({ method: "GET", url: "/metrics", headers: { "accept-encoding": ae } });
      assert.equal(x.headers["content-encoding"], gz ? "gzip" : undefined, ae);
    }
  } finally { await a.fastify.close(); }
});
