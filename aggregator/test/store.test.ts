import { test } from "node:test";
import assert from "node:assert/strict";
import { buildBatch, requests } from "../../test/support/batch-builder.ts";
import { parseExposition, sample, testApp, windowAt } from "./helpers.ts";
import { ExpHist, indexOfMs } from "../src/store/exp-histogram.ts";
import { addV1Timing, internBounds } from "../src/store/v1-buckets.ts";

const OVERFLOW = Object.fromEntries(["reporter", "source_workload", "source_namespace", "destination_service", "response_code", "response_flags", "connection_security_policy", "user_tier", "region", "peer_region"].map((k) => [k, "overflow"]));

test("series cap: new label sets beyond max_series fold into the overflow series, totals exact", async () => {
  const a = testApp({ max_series: 3 });
  try {
    const series = Array.from({ length: 5 }, (_, i) => requests(i + 1, { requestMs: 2 }, { destination_service: `s${i}` }));
    assert.equal((await a.post(buildBatch({ series }))).statusCode, 204);
    // An existing label set keeps merging into its own series after the cap is reached.
    assert.equal((await a.post(buildBatch({ series: [requests(10, { requestMs: 2 }, { destination_service: "s0" })] }))).statusCode, 204);
    const p = parseExposition(await a.scrape());
    assert.equal(sample(p, "meshlat_aggregator_series"), 4);
    assert.equal(sample(p, "meshlat_aggregator_series_limit"), 3);
    assert.equal(sample(p, "meshlat_aggregator_series_folded_total"), 2);
    assert.equal(sample(p, "meshlat_requests_total", OVERFLOW), 4 + 5);
    assert.equal(sample(p, "meshlat_request_duration_milliseconds_count", OVERFLOW), 9);
    let total = 0;
    for (const [id, v] of p.samples) if (id.startsWith("meshlat_requests_total{")) total += v;
    assert.equal(total, 1 + 2 + 3 + 4 + 5 + 10);
  } finally { await a.fastify.close(); }
});

test("idle expiry is driven by the injected clock: the series disappears and restarts from 0", async () => {
  const a = testApp({ series_ttl_s: 60 });
  try {
    const lbl = { destination_service: "idle.svc" };
    await a.post(buildBatch({ series: [requests(3, { requestMs: 1 }, lbl)] }));
    await a.post(buildBatch({ series: [requests(1, { requestMs: 1 }, { destination_service: "busy.svc" })] }));
    const has = (p: ReturnType<typeof parseExposition>, svc: string) => [...p.samples.keys()].find((k) => k.startsWith("meshlat_requests_total{") && k.includes(`"${svc}"`));
    a.clock.now += 59_000;
    await a.post(buildBatch({ series: [requests(1, { requestMs: 1 }, { destination_service: "busy.svc" })] }));
    let p = parseExposition(await a.scrape());
    assert.ok(has(p, "idle.svc"), "not yet expired at 59 s");
    a.clock.now += 2_000;
    p = parseExposition(await a.scrape());
    assert.equal(has(p, "idle.svc"), undefined, "expired after 61 s idle");
    assert.ok(has(p, "busy.svc"));
    assert.equal(sample(p, "meshlat_aggregator_series_expired_total"), 1);
    await a.post(buildBatch({ series: [requests(2, { requestMs: 1 }, lbl)] }));
    p = parseExposition(await a.scrape());
    assert.equal(p.samples.get(has(p, "idle.svc")!), 2);
  } finally { await a.fastify.close(); }
});

test("series_ttl defaults to 10 minutes, as statsd_exporter's ttl: a label set idle for longer leaves /metrics", async () => {
  const a = testApp({});
  try {
    await a.post(buildBatch({ series: [requests(3, { requestMs: 1 }, { destination_service: "stopped.svc" })] }));
    const has = async () => [...parseExposition(await a.scrape()).samples.keys()].some((k) => k.startsWith("meshlat_requests_total{") && k.includes('"stopped.svc"'));
    a.clock.now += 599_000;
    assert.ok(await has(), "kept at 9 min 59 s");
    a.clock.now += 2_000;
    assert.equal(await has(), false, "gone after 10 min idle");
    assert.equal(sample(parseExposition(await a.scrape()), "meshlat_aggregator_series_expired_total"), 1);
  } finally { await a.fastify.close(); }
});

test("windows: deltas land at the batch window end when plausible, else at receive time", async () => {
  const a = testApp({ max_clock_skew_s: 120 });
  try {
    const svc = "w.svc";
    const q = async (w: string) => (await a.get(`/api/v1/latency?destination_service=${svc}&window=${w}`)).json().groups[0]?.requests ?? 0;
    // Plausible: 4 minutes ago is outside skew → receive time; 30 s ago is inside → 30 s ago.
    await a.post(buildBatch({ window: windowAt(a.clock.now - 30_000), series: [requests(5, { requestMs: 1 }, { destination_service: svc })] }));
    await a.post(buildBatch({ window: windowAt(a.clock.now - 240_000), series: [requests(7, { requestMs: 1 }, { destination_service: svc })] }));
    assert.equal(await q("1m"), 12);
    a.clock.now += 45_000; // the 30-s-old batch is now 75 s old
    assert.equal(await q("1m"), 7);
    assert.equal(await q("5m"), 12);
    a.clock.now += 6 * 60_000; // 6 min 45 s after the receive-time batch: past 5m and its extra slot
    assert.equal(await q("5m"), 0);
    assert.equal(await q("15m"), 12);
    a.clock.now += 15 * 60_000;
    assert.equal(await q("15m"), 0);
  } finally { await a.fastify.close(); }
});

test("v1 buckets count at the exponential bucket holding their upper bound; +Inf at the last bound; counts and sums exact", () => {
  const b = internBounds([1000, 2000, 4000]);
  const h = new ExpHist(160);
  addV1Timing(h, { n: 10, sumUs: 20000, buckets: [0, 2, 1, 6, 3, 2] }, b);
  assert.deepEqual([...h.buckets()], [[indexOfMs(1, h.scale), 2], [indexOfMs(2, h.scale), 6], [indexOfMs(4, h.scale), 2]]);
  assert.equal(h.n, 10);
  assert.equal(h.total(), 10);
  assert.equal(h.meanMs(), 2);
  // 1, 2 and 4 ms are powers of two: the classic le=1/2/4 counts are exact for these bounds.
  assert.equal(h.cumulativeAtPow2(0), 2);
  assert.equal(h.cumulativeAtPow2(1), 8);
  assert.equal(h.cumulativeAtPow2(2), 10);
  const zeroBound = internBounds([0, 5]);
  addV1Timing(h, { n: 1, sumUs: 0, buckets: [0, 1] }, zeroBound);
  assert.equal(h.zero, 1);
});

test("windows cover at least the named length at any clock phase, and rates divide by the span covered", async () => {
  const a = testApp({ max_clock_skew_s: 120, min_samples: 1 });
  try {
    const svc = "phase.svc";
    // Data older than every window, so spans are the windows' own (rate.test.ts: a young aggregator).
    await a.post(buildBatch({ window: windowAt(a.clock.now), series: [requests(1, { requestMs: 1 }, { destination_service: "old.svc" })] }));
    a.clock.now += 60 * 60_000 + 5_000; // mid-slot (10 s slots)
    const lat = async (w: string) => (await a.get(`/api/v1/latency?destination_service=${svc}&window=${w}`)).json();
    const graph = async (w: string) => (await a.get(`/api/v1/graph?window=${w}`)).json();
    await a.post(buildBatch({ window: windowAt(a.clock.now - 58_000), series: [requests(13, { requestMs: 1 }, { destination_service: svc })] }));
    let j = await lat("1m");
    assert.equal(j.groups[0]?.requests, 13, "58 s ago is inside the last minute");
    // The slots read span 65 s (6 whole 10-s slots and the current half slot).
    assert.equal(j.groups[0].rate_per_s, 13 / 65);
    assert.equal(j.span_seconds, 65);
    assert.equal((await graph("1m")).edges[0].rate_per_s, 13 / 65);
    a.clock.now += 30_000 + 4 * 60_000; // the batch is now 4 min 58 s old, 35 s into a minute
    j = await lat("5m");
    assert.equal(j.groups[0]?.requests, 13, "4 min 58 s ago is inside the last 5 minutes");
    assert.equal(j.groups[0].rate_per_s, 13 / 335);
    assert.equal((await graph("5m")).span_seconds, 335);
  } finally { await a.fastify.close(); }
});
