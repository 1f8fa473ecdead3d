import { test } from "node:test";
import assert from "node:assert/strict";
import { decodeMsgpack } from "../src/wire/decode.ts";
import { validateBatch } from "../src/wire/validate.ts";
import { AggError } from "../src/errors.ts";
import { FILTER_BUCKETS, FILTER_FIRST_SCALE, batchValue, buildBatch, encodeBatch, expTimingOf, packTimings, requests } from "../../test/support/batch-builder.ts";
import type { RawExpTiming } from "../../test/support/batch-builder.ts";
import { parseExposition, sample, testApp } from "./helpers.ts";
import { upperMs } from "../src/wire/exp-buckets.ts";

const limits = { maxSeries: 100, maxStrings: 1000, maxBounds: 64, maxLabelLength: 256, maxTimingBuckets: 160 };
const base = () => batchValue({
  v: 2, vm: "0123456789abcdef", seq: 7, window: [1000, 2000],
  series: [
    requests(4, { requestMs: 3, upstreamMs: 2, appMs: 1 }),
    requests(2, { requestMs: 40 }, { response_code: "503", response_flags: "UH" }),
  ],
  counters: { requests: 6 },
});

test("v2: label tuples are changes against the previous series; absent timings are left out", () => {
  const v = base();
  const series = v.series as any[];
  assert.deepEqual(series[0][0][0], 1023, "the first series carries all 10 labels");
  assert.deepEqual(series[1][0].slice(0, 1), [(1 << 4) | (1 << 5)], "then only response_code and response_flags changed");
  assert.equal(series[1][0].length, 3);
  assert.equal(series[1][2][0], 1, "only the request timing is present (the mask, first byte of the timings bin)");
  const b = validateBatch(decodeMsgpack(encodeBatch(v)), limits);
  assert.equal(b.v, 2);
  assert.deepEqual(b.boundsUs, []);
  assert.deepEqual(b.series[1]!.labels.slice(3, 6), ["checkout.shop.svc.cluster.local", "503", "UH"]);
  assert.deepEqual(b.series[1]!.timings.map((t) => t !== null), [true, false, false, false, false]);
  const t = b.series[0]!.timings[0] as any;
  assert.equal(t.n, 4);
  assert.equal(t.sumUs, 12000);
  assert.equal(t.zero, 0);
  assert.deepEqual(t.counts, [4]);
  assert.ok(upperMs(t.offset - 1, t.scale) < 3 && 3 <= upperMs(t.offset, t.scale));
});

test("expTimingOf records like the filter: zeros apart, counts trimmed, downscaled to fit the window", () => {
  const t = expTimingOf([0, 0, 1, 10000]);
  assert.equal(t.zero, 2);
  assert.equal(t.n, 4);
  assert.ok(t.counts.length <= FILTER_BUCKETS);
  assert.ok(t.counts[0]! > 0 && t.counts[t.counts.length - 1]! > 0);
  assert.equal(expTimingOf([1, 1000]).scale, FILTER_FIRST_SCALE, "1 ms .. 1 s fits 86 buckets at scale 3");
  assert.ok(t.scale < FILTER_FIRST_SCALE, "1 ms .. 10 s does not");
});

type Mut = (b: any) => void;
const first = (b: any) => b.series[0];
/** The first series' timings rebuilt from base()'s with `f` applied to the request timing. */
const withRequest = (f: (t: RawExpTiming) => RawExpTiming): Mut => (b) => {
  const up = expTimingOf([2, 2, 2, 2]);
  first(b)[2] = packTimings([f(expTimingOf([3, 3, 3, 3])), up, expTimingOf([1, 1, 1, 1]), expTimingOf([1, 1, 1, 1]), expTimingOf([1, 1, 1, 1])]);
};
/** The request timing alone (mask 1), as raw bytes after the mask. */
const requestBytes = (...bytes: number[]): Mut => (b) => { first(b)[2] = Uint8Array.from([1, ...bytes]); };
const T = "/series/0/2";
const cases: [string, Mut, string, RegExp?][] = [
  ["first series without every label", (b) => { first(b)[0] = [1, 0]; }, "/series/0/0/0"],
  ["label mask beyond 10 labels", (b) => { b.series[1][0] = [1024, 0]; }, "/series/1/0/0"],
  ["label mask and indices disagree", (b) => { b.series[1][0] = [3, 0]; }, "/series/1/0"],
  ["label index out of the string table", (b) => { b.series[1][0] = [1, 999]; }, "/series/1/0/1"],
  ["timings not binary", (b) => { first(b)[2] = [1, [4, 12000, 8, 0, 400, [4]]]; }, T, /binary/],
  ["timing mask beyond 5 timings", (b) => { first(b)[2][0] = 32; }, T, /beyond the 5 timings/],
  ["timing mask naming more timings than given", (b) => { first(b)[2][0] = 63 >> 1; first(b)[2] = first(b)[2].subarray(0, 20); }, T, /ends early/],
  ["bytes after the last timing", (b) => { first(b)[2] = Uint8Array.from([...first(b)[2], 0]); }, T, /1 bytes after the last timing/],
  ["scale above 8", withRequest((t) => ({ ...t, scale: 9 })), T, /request timing: scale 9/],
  ["varint longer than 8 bytes", requestBytes(0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01), T, /longer than 8 bytes/],
  ["varint beyond 2^53", requestBytes(0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f), T, /beyond 2\^53/],
  ["buckets beyond 2^32 ms", withRequest((t) => ({ ...t, offset: 33 * 2 ** t.scale })), T, /reach outside/],
  ["buckets below 1 µs", withRequest((t) => ({ ...t, offset: -11 * 2 ** t.scale })), T, /reach outside/],
  ["first bucket empty", withRequest((t) => ({ ...t, counts: [0, ...t.counts], offset: t.offset - 1 })), T, /first bucket must be occupied/],
  ["a bucket beyond the announced count", requestBytes(12000 & 0x7f | 0x80, 12000 >> 7, 8, 0, 0, 2, 0x00, 0x10), T, /beyond the 2 announced/],
  ["present without observations", withRequest((t) => ({ ...t, sumUs: 0, counts: [], zero: 0 })), T, /without observations/],
  ["more observations than requests", withRequest((t) => ({ ...t, counts: [5], sumUs: 15000 })), T, /5 observations in a series of 4/],
  ["sum outside the buckets' range", withRequest((t) => ({ ...t, sumUs: 1 })), T, /outside the range its buckets allow/],
  ["too many buckets", withRequest((t) => ({ ...t, counts: [1, ...new Array<number>(159).fill(0), 3], sumUs: 0 })), T, /161 buckets exceed the limit 160/],
];
for (const [name, mut, path, message] of cases) {
  test(`v2 rejects: ${name}`, () => {
    const v = base();
    mut(v);
    assert.throws(() => validateBatch(decodeMsgpack(encodeBatch(v)), limits), (e: unknown) => {
      assert.ok(e instanceof AggError, String(e));
      assert.equal(e.code, "AGG_ERR_SCHEMA");
      assert.equal(e.path, path, e.message);
      if (message) assert.match(e.message, message);
      return true;
    });
  });
}

test("mixed fleet: v1 and v2 filters report the same label set to one aggregator, counts and sums exact", async () => {
  const a = testApp();
  try {
    const seriesOf = (n: number) => [requests(n, { requestMs: 12, upstreamMs: 9, appMs: 6 }), requests(n, { requestMs: 0.25 }, { response_code: "503" })];
    for (let i = 0; i < 5; i++) {
      assert.equal((await a.post(buildBatch({ v: 1, seq: i + 1, vm: "aaaaaaaaaaaaaaaa", series: seriesOf(3) }))).statusCode, 204);
      assert.equal((await a.post(buildBatch({ v: 2, seq: i + 1, vm: "bbbbbbbbbbbbbbbb", series: seriesOf(7) }))).statusCode, 204);
    }
    const p = parseExposition(await a.scrape());
    const ok = { reporter: "source", source_workload: "frontend", source_namespace: "shop", destination_service: "checkout.shop.svc.cluster.local", response_code: "200", response_flags: "-", connection_security_policy: "unknown", user_tier: "free", region: "eu-west-1", peer_region: "eu-west-1" };
    assert.equal(sample(p, "meshlat_requests_total", ok), 50);
    assert.equal(sample(p, "meshlat_requests_total", { ...ok, response_code: "503" }), 50);
    assert.equal(sample(p, "meshlat_request_duration_milliseconds_count", ok), 50);
    assert.equal(sample(p, "meshlat_request_duration_milliseconds_sum", ok), 600);
    assert.equal(sample(p, "meshlat_app_duration_milliseconds_sum", ok), 300);
    assert.equal(sample(p, "meshlat_request_duration_milliseconds_bucket", { ...ok, le: "+Inf" }), 50);
    // v2's 35 requests at 12 ms are exact at le=16; v1's 15 sit in its (10, 25] ms bucket, counted at 25 ms.
    assert.equal(sample(p, "meshlat_request_duration_milliseconds_bucket", { ...ok, le: "16" }), 35);
    assert.equal(sample(p, "meshlat_request_duration_milliseconds_bucket", { ...ok, le: "32" }), 50);
    const lat = (await a.get("/api/v1/latency?destination_service=checkout.shop.svc.cluster.local")).json();
    assert.equal(lat.groups[0].requests, 100);
  } finally { await a.fastify.close(); }
});
