import { test } from "node:test";
import assert from "node:assert/strict";
import { envoyAccessLogLine, jsonRecord } from "./lib/access-log.ts";
import { USER_AGENT, prng, requestCase } from "./lib/traffic.ts";
import { foldWindow, labelsOf, modelBatch, runWireModel } from "./wire.ts";
import { decodeMsgpack } from "../aggregator/src/wire/decode.ts";
import { validateBatch } from "../aggregator/src/wire/validate.ts";
import { isExpTiming } from "../aggregator/src/wire/types.ts";

const START = Date.UTC(2026, 10, 27, 4, 0, 0, 123);

test("access-log line follows Envoy's default format field by field", () => {
  const c = requestCase(prng(1), { status: 200, path: "/api/v1/items/7", requestId: "11111111-2222-4333-a444-555555555555", upstreamMs: 12.4, responseMs: 0.3, responseBytes: 1234 });
  const line = envoyAccessLogLine(c, START, "curl/8.5.0");
  assert.equal(line,
    '[2026-11-27T04:00:00.123Z] "GET /api/v1/items/7 HTTP/1.1" 200 - 0 1234 13 12 "-" "curl/8.5.0" ' +
    '"11111111-2222-4333-a444-555555555555" "' + c.destination.split(".")[0] + ':8080" "10.1.7.23:8080"\n');
});

test("a JSON record carries the labels and only the timings that exist", () => {
  const cases = [
    { name: "with Server-Timing", appMs: 5 as number | undefined, keys: ["app_ms", "network_ms"] as string[] },
    { name: "without Server-Timing", appMs: undefined, keys: [] },
  ];
  for (const k of cases) {
    const c = requestCase(prng(2), { appMs: k.appMs, tier: undefined });
    const r = JSON.parse(jsonRecord(c, START, labelsOf(c)));
    assert.equal(r.user_tier, "unknown", k.name);
    for (const key of ["app_ms", "network_ms"]) assert.equal(key in r, k.keys.includes(key), `${k.name}: ${key}`);
  }
});

test("folding a window keeps every request and one series per label tuple", () => {
  const rand = prng(3);
  const cases = Array.from({ length: 500 }, () => requestCase(rand));
  const series = foldWindow(cases);
  assert.equal(series.reduce((n, s) => n + (s.count ?? 0), 0), 500);
  const keys = new Set(series.map((s) => JSON.stringify(s.labels)));
  assert.equal(keys.size, series.length);
});

test("the wire model is deterministic and far below one record per request", () => {
  const a = runWireModel(7), b = runWireModel(7);
  assert.deepEqual(a.metrics, b.metrics);
  const perReq = a.metrics["wire.model.bytes_per_request"].value;
  assert.ok(perReq > 0 && perReq * 50 < a.metrics["wire.access_log_bytes_per_request"].value);
  assert.ok(USER_AGENT.length > 50);
});

test("a model window is a wire v2 batch the aggregator accepts, holding every request in exponential histograms", () => {
  const rand = prng(4);
  const cases = Array.from({ length: 1000 }, () => requestCase(rand));
  const b = validateBatch(decodeMsgpack(modelBatch(foldWindow(cases), 0, START)), { maxSeries: 1000, maxStrings: 10_000, maxBounds: 128, maxLabelLength: 1024, maxTimingBuckets: 160 });
  assert.equal(b.v, 2);
  assert.equal(b.series.reduce((n, s) => n + s.count, 0), cases.length);
  for (const s of b.series) {
    const req = s.timings[0]!;
    assert.ok(isExpTiming(req), "the request timing is an exponential histogram");
    assert.equal(req.zero + req.counts.reduce((n, c) => n + c, 0), s.count);
  }
});
