import { test } from "node:test";
import assert from "node:assert/strict";
import { decodeMsgpack } from "../src/wire/decode.ts";
import { validateBatch } from "../src/wire/validate.ts";
import { AggError } from "../src/errors.ts";
import { batchValue, buildBatch, encodeBatch, requests, timingOf, DEFAULT_BOUNDS_US } from "../../test/support/batch-builder.ts";

const limits = { maxSeries: 100, maxStrings: 1000, maxBounds: 64, maxLabelLength: 256, maxTimingBuckets: 160 };
const base = () => batchValue({ vm: "0123456789abcdef", seq: 7, window: [1000, 2000], series: [requests(4, { requestMs: 3, upstreamMs: 2, appMs: 1 })], counters: { requests: 9 } });

test("a batch built like the filter builds it decodes and validates", () => {
  const b = validateBatch(decodeMsgpack(encodeBatch(base())), limits);
  assert.equal(b.vm, "0123456789abcdef");
  assert.equal(b.seq, 7);
  assert.deepEqual(b.window, [1000, 2000]);
  assert.equal(b.series.length, 1);
  assert.equal(b.series[0]!.count, 4);
  assert.equal(b.series[0]!.labels[0], "source");
  assert.deepEqual(b.series[0]!.timings[0], { n: 4, sumUs: 12000, buckets: [7, 4] });
  assert.equal(b.counters.requests, 9);
  assert.equal(b.counters.failed_flushes, 0);
});

test("uint64 Unix-ms windows decode to safe numbers", () => {
  const now = 1_790_000_000_000;
  const b = validateBatch(decodeMsgpack(buildBatch({ window: [now - 1000, now] })), limits);
  assert.deepEqual(b.window, [now - 1000, now]);
});

test("timingOf buckets values as bounds[i-1] < v <= bounds[i]", () => {
  assert.deepEqual(timingOf([0.5, 0.501, 20000], DEFAULT_BOUNDS_US), { n: 3, sumUs: 20001001, buckets: [4, 1, 5, 1, 18, 1] });
});

type Mut = (b: any) => void;
const cases: [string, Mut, string, string][] = [
  ["not a map", (b) => { b.__replace = [1, 2]; }, "AGG_ERR_SCHEMA", "/"],
  ["unknown version", (b) => { b.v = 3; }, "AGG_ERR_VERSION", "/v"],
  ["version as string", (b) => { b.v = "1"; }, "AGG_ERR_SCHEMA", "/v"],
  ["missing proxy", (b) => { delete b.proxy; }, "AGG_ERR_SCHEMA", "/proxy"],
  ["proxy id not a string", (b) => { b.proxy.id = 5; }, "AGG_ERR_SCHEMA", "/proxy/id"],
  ["vm not hex", (b) => { b.vm = "XYZ"; }, "AGG_ERR_SCHEMA", "/vm"],
  ["seq zero", (b) => { b.seq = 0; }, "AGG_ERR_SCHEMA", "/seq"],
  ["seq negative", (b) => { b.seq = -3; }, "AGG_ERR_SCHEMA", "/seq"],
  ["seq fractional", (b) => { b.seq = 1.5; }, "AGG_ERR_SCHEMA", "/seq"],
  ["window reversed", (b) => { b.window = [5, 4]; }, "AGG_ERR_SCHEMA", "/window"],
  ["window of 3", (b) => { b.window = [1, 2, 3]; }, "AGG_ERR_SCHEMA", "/window"],
  ["bounds not increasing", (b) => { b.bounds_us = [10, 10, 20]; }, "AGG_ERR_SCHEMA", "/bounds_us/1"],
  ["bounds empty", (b) => { b.bounds_us = []; }, "AGG_ERR_SCHEMA", "/bounds_us"],
  ["absurd bounds array", (b) => { b.bounds_us = Array.from({ length: 5000 }, (_, i) => i + 1); }, "AGG_ERR_SCHEMA", "/bounds_us"],
  ["labels in another order", (b) => { b.labels = [...b.labels].reverse(); }, "AGG_ERR_SCHEMA", "/labels/0"],
  ["labels too short", (b) => { b.labels = b.labels.slice(0, 9); }, "AGG_ERR_SCHEMA", "/labels"],
  ["string table entry not a string", (b) => { b.strings[0] = 7; }, "AGG_ERR_SCHEMA", "/strings/0"],
  ["NUL in a label value", (b) => { b.strings[1] = "a\u0000b"; }, "AGG_ERR_SCHEMA", "/strings/1"],
  // proxy id + NUL + vm keys the VM; workload + NUL + namespace keys the filter counters.
  ["NUL in proxy.workload", (b) => { b.proxy.workload = "a\u0000b"; }, "AGG_ERR_SCHEMA", "/proxy/workload"],
  ["NUL in proxy.namespace", (b) => { b.proxy.namespace = "shop\u0000"; }, "AGG_ERR_SCHEMA", "/proxy/namespace"],
  ["NUL in proxy.id", (b) => { b.proxy.id = "sidecar\u0000x"; }, "AGG_ERR_SCHEMA", "/proxy/id"],
  ["over-long label value", (b) => { b.strings[1] = "x".repeat(300); }, "AGG_ERR_SCHEMA", "/strings/1"],
  ["string index out of range", (b) => { b.series[0][0][3] = 99; }, "AGG_ERR_SCHEMA", "/series/0/0/3"],
  ["label index list of 9", (b) => { b.series[0][0].pop(); }, "AGG_ERR_SCHEMA", "/series/0/0"],
  ["count negative", (b) => { b.series[0][1] = -1; }, "AGG_ERR_SCHEMA", "/series/0/1"],
  ["count NaN", (b) => { b.series[0][1] = NaN; }, "AGG_ERR_SCHEMA", "/series/0/1"],
  ["count Infinity", (b) => { b.series[0][1] = Infinity; }, "AGG_ERR_SCHEMA", "/series/0/1"],
  ["timings of 4", (b) => { b.series[0][2].pop(); }, "AGG_ERR_SCHEMA", "/series/0/2"],
  ["timing n as string", (b) => { b.series[0][2][0][0] = "4"; }, "AGG_ERR_SCHEMA", "/series/0/2/0/0"],
  ["sum negative", (b) => { b.series[0][2][1][1] = -5; }, "AGG_ERR_SCHEMA", "/series/0/2/1/1"],
  ["bucket counts do not add up to n", (b) => { b.series[0][1] = 5; b.series[0][2][0][0] = 5; }, "AGG_ERR_SCHEMA", "/series/0/2/0/2"],
  ["bucket index beyond +Inf", (b) => { b.series[0][2][0][2] = [21, 4]; }, "AGG_ERR_SCHEMA", "/series/0/2/0/2/0"],
  ["bucket indices not increasing", (b) => { b.series[0][2][0] = [4, 0, [7, 2, 7, 2]]; }, "AGG_ERR_SCHEMA", "/series/0/2/0/2/2"],
  ["odd sparse bucket list", (b) => { b.series[0][2][0][2] = [3]; }, "AGG_ERR_SCHEMA", "/series/0/2/0/2"],
  ["absurd series array", (b) => { b.series = Array.from({ length: 101 }, () => b.series[0]); }, "AGG_ERR_SCHEMA", "/series"],
  ["counter negative", (b) => { b.counters.requests = -1; }, "AGG_ERR_SCHEMA", "/counters/requests"],
  ["counters not a map", (b) => { b.counters = [1]; }, "AGG_ERR_SCHEMA", "/counters"],
  ["uint64 beyond 2^53", (b) => { b.seq = 2n ** 60n; }, "AGG_ERR_SCHEMA", "/seq"],
  // base(): 4 requests of 3 ms (bucket 7: 2.5 ms < v <= 5 ms), upstream 2 ms, app 1 ms.
  ["timing n above the series count", (b) => { b.series[0][1] = 3; }, "AGG_ERR_SCHEMA", "/series/0/2/0/0"],
  ["sum of a timing without observations", (b) => { b.series[0][2][0] = [0, 5, []]; }, "AGG_ERR_SCHEMA", "/series/0/2/0/1"],
  ["sum above what its buckets allow", (b) => { b.series[0][2][0][1] = 4 * 5000 + 1; }, "AGG_ERR_SCHEMA", "/series/0/2/0/1"],
  ["sum below its buckets' lower bounds", (b) => { b.series[0][2][0][1] = 4 * 2500 - 1; }, "AGG_ERR_SCHEMA", "/series/0/2/0/1"],
  ["huge sum for one fast request", (b) => { b.series[0][2][2] = [1, 2 ** 53 - 1, [0, 1]]; }, "AGG_ERR_SCHEMA", "/series/0/2/2/1"],
];

for (const [name, mutate, code, path] of cases) {
  test(`rejects: ${name}`, () => {
    let v: any = base();
    mutate(v);
    if (v.__replace) v = v.__replace;
    const bytes = encodeBatch(v);
    assert.throws(() => validateBatch(decodeMsgpack(bytes), limits), (e: unknown) => {
      assert.ok(e instanceof AggError);
      assert.equal(e.code, code, e.message);
      assert.equal(e.path, path, e.message);
      return true;
    });
  });
}

test("sums at the edges of their buckets, and any sum with +Inf observations, are valid", () => {
  const v: any = base();
  v.series[0][2][0] = [4, 4 * 5000, [7, 4]];
  v.series[0][2][1] = [4, 4 * 2500, [7, 4]];
  v.series[0][2][2] = [2, 2 ** 52, [0, 1, 20, 1]];
  v.series[0][2][3] = [0, 0, []];
  const t = validateBatch(decodeMsgpack(encodeBatch(v)), limits).series[0]!.timings;
  assert.deepEqual(t.map((x) => x && x.sumUs), [20000, 10000, 2 ** 52, 0, 4000]);
});

test("unknown keys are ignored (forward compatibility within v1)", () => {
  const v: any = base();
  v.future = { x: 1 };
  v.counters.future_counter = 3;
  assert.equal(validateBatch(decodeMsgpack(encodeBatch(v)), limits).seq, 7);
});

const decodeCases: [string, Uint8Array][] = [
  ["empty", new Uint8Array()],
  ["truncated", buildBatch().subarray(0, 40)],
  ["trailing bytes", Buffer.concat([buildBatch(), Buffer.from([0x01])])],
  ["array32 header claiming 4G elements", Uint8Array.from([0xdd, 0xff, 0xff, 0xff, 0xff, 0x01])],
  ["str32 header claiming 4 GB", Uint8Array.from([0xdb, 0xff, 0xff, 0xff, 0xff, 0x61])],
];
for (const [name, bytes] of decodeCases) {
  test(`decode error: ${name}`, () => {
    assert.throws(() => decodeMsgpack(bytes), (e: unknown) => e instanceof AggError && e.code === "AGG_ERR_DECODE");
  });
}

test("__proto__ keys cannot pollute prototypes", () => {
  const bytes = Uint8Array.from([0x81, 0xa9, ...Buffer.from("__proto__"), 0x81, 0xa1, 0x78, 0x01]);
  const v = decodeMsgpack(bytes) as Record<string, unknown>;
  assert.equal(({} as Record<string, unknown>).x, undefined);
  assert.equal(Object.getPrototypeOf(v), Object.prototype);
  assert.throws(() => validateBatch(v, limits), (e: unknown) => e instanceof AggError && e.code === "AGG_ERR_SCHEMA");
});
