// The single-pass v2 reader (wire/read-v2.ts) against the general path (decode.ts + validate.ts):
// on the filter's shape it reads every batch itself, and whatever the bytes, it returns a batch
// only when the general path accepts them, and then an equal one.
import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { ARRAY_TIMINGS, BIN_TIMINGS, readV2 } from "../src/wire/read-v2.ts";
import { readBatch } from "../src/wire/read-batch.ts";
import { decodeMsgpack } from "../src/wire/decode.ts";
import { validateBatch } from "../src/wire/validate.ts";
import { AggError } from "../src/errors.ts";
import { batchValue, buildBatch, encodeBatch, requests } from "../../test/support/batch-builder.ts";
import type { SeriesInput } from "../../test/support/batch-builder.ts";
import { encodeMsgpack } from "../../test/support/msgpack-encode.ts";
import type { Batch, WireLimits } from "../src/wire/types.ts";

const LIMITS: WireLimits = { maxSeries: 100, maxStrings: 1000, maxBounds: 64, maxLabelLength: 64, maxTimingBuckets: 160 };

function general(body: Uint8Array, limits: WireLimits): Batch | AggError {
  try {
    return validateBatch(decodeMsgpack(body), limits);
  } catch (e) {
    if (e instanceof AggError) return e;
    throw e;
  }
}

/** The property: the fast path returns null, or exactly what the general path returns. */
function agrees(body: Uint8Array, limits = LIMITS): Batch | null {
  const fast = readV2(body, limits);
  if (fast === null) return null;
  const g = general(body, limits);
  assert.ok(!(g instanceof AggError), `the fast path accepted what the general path refuses: ${(g as AggError).message}`);
  assert.deepEqual(fast, g);
  return fast;
}

const ms = fc.oneof(fc.constant(0), fc.double({ min: 0.001, max: 120_000, noNaN: true }), fc.double({ min: 0.5, max: 50, noNaN: true }));
const seriesArb: fc.Arbitrary<SeriesInput> = fc.record({
  labels: fc.record({
    source_workload: fc.constantFrom("frontend", "cart", "wl-1"),
    destination_service: fc.constantFrom("checkout.shop.svc.cluster.local", "a.b", "x".repeat(60)),
    response_code: fc.constantFrom("200", "503"),
    user_tier: fc.constantFrom("free", "premium"),
  }),
  timings: fc.record({
    request: fc.array(ms, { minLength: 1, maxLength: 12 }),
    upstream: fc.option(fc.array(ms, { minLength: 1, maxLength: 12 }), { nil: undefined }),
    network: fc.option(fc.array(ms, { minLength: 1, maxLength: 12 }), { nil: undefined }),
  }, { requiredKeys: ["request"] }),
  exemplar: fc.option(fc.record({
    traceId: fc.constantFrom("0af7651916cd43dd8448eb211c80319c", "00f067aa0ba902b7"),
    valueUs: fc.nat(10_000_000),
    timeMs: fc.constant(1_767_268_800_000),
  }), { nil: undefined }),
}, { requiredKeys: ["labels", "timings"] }).map((s) => ({ ...s, count: Math.max(...Object.values(s.timings).map((t) => (t as number[] | undefined)?.length ?? 0)) })) as fc.Arbitrary<SeriesInput>;

const batchArb = fc.record({
  series: fc.array(seriesArb, { maxLength: 8 }),
  seq: fc.integer({ min: 1, max: 2 ** 40 }),
  counters: fc.record({ requests: fc.nat(), dropped_batches: fc.nat(1000) }),
}).map((b) => batchValue({ v: 2, vm: "0123456789abcdef", ...b }));

test("the fast path reads every v2 batch of the filter's shape, equal to the general path", () => {
  fc.assert(fc.property(batchArb, (v) => {
    const body = encodeBatch(v);
    assert.notEqual(agrees(body), null, "a batch of the filter's shape took the general path");
  }), { numRuns: 150, seed: 1402 });
});

test("whatever the bytes (mutated, truncated, other limits), the fast path accepts only what the general path accepts, equally", () => {
  fc.assert(fc.property(batchArb, fc.array(fc.tuple(fc.nat(), fc.nat(255)), { minLength: 1, maxLength: 3 }), fc.nat(), (v, flips, cut) => {
    const good = Buffer.from(encodeBatch(v));
    const flipped = Buffer.from(good);
    for (const [at, byte] of flips) flipped[at % flipped.length] = byte;
    agrees(flipped);
    agrees(good.subarray(0, cut % good.length));
    agrees(good, { ...LIMITS, maxSeries: 2, maxStrings: 12, maxLabelLength: 16, maxTimingBuckets: 8 });
  }), { numRuns: 300, seed: 1403 });
});

/** Paths to every number inside a value (arrays and maps). */
function numberPaths(v: unknown, at: (string | number)[] = [], out: (string | number)[][] = []): (string | number)[][] {
  if (typeof v === "number") out.push(at);
  else if (Array.isArray(v)) v.forEach((x, i) => numberPaths(x, [...at, i], out));
  else if (v && typeof v === "object" && !(v instanceof Uint8Array)) for (const [k, x] of Object.entries(v)) numberPaths(x, [...at, k], out);
  return out;
}

test("any one number of a batch changed to a telling value: the fast path accepts only what the general path accepts, equally", () => {
  const telling = fc.oneof(fc.integer({ min: -3, max: 12 }), fc.constantFrom(127, 128, 255, 256, 1023, 1024, 2 ** 31, 2 ** 32, 2 ** 53 - 1, -129, -(2 ** 31)), fc.nat());
  fc.assert(fc.property(batchArb, fc.nat(), telling, (v, pick, x) => {
    const paths = numberPaths(v);
    const path = paths[pick % paths.length]!;
    const m = structuredClone(v) as Record<string, any>;
    let o: any = m;
    for (const k of path.slice(0, -1)) o = o[k];
    o[path[path.length - 1]!] = x;
    agrees(encodeMsgpack(m));
  }), { numRuns: 600, seed: 1404 });
});

test("the fast path gives up on what it does not cover; readBatch then answers as the general path", () => {
  const v = batchValue({ v: 2, vm: "0123456789abcdef", series: [requests(3, { requestMs: 2 })] }) as Record<string, any>;
  const cases: [string, (x: Record<string, any>) => void][] = [
    ["a non-ASCII label", (x) => { x.strings[1] = "café"; }],
    ["keys in another order", (x) => { const c = x.counters; delete x.counters; x.counters = c; const s = x.series; delete x.series; x.series = s; }],
    ["an unknown key", (x) => { x.extra = 1; }],
    ["v1", (x) => { x.v = 1; }],
  ];
  for (const [name, f] of cases) {
    const x = structuredClone(v);
    f(x);
    const body = encodeMsgpack(x);
    assert.equal(readV2(body, LIMITS), null, name);
    const g = general(body, LIMITS);
    const r = (() => { try { return readBatch(body, LIMITS); } catch (e) { return e as AggError; } })();
    if (g instanceof AggError) assert.deepEqual([(r as AggError).code, (r as AggError).message], [g.code, g.message], name);
    else assert.deepEqual(r, g, name);
  }
  // Every refusal is worded by the general path: same code, message and path.
  const bad = structuredClone(v);
  bad.series[0][1] = 1; // fewer requests than the request timing's observations
  const body = encodeMsgpack(bad);
  assert.equal(readV2(body, LIMITS), null);
  const g = general(body, LIMITS);
  assert.ok(g instanceof AggError && g.code === "AGG_ERR_SCHEMA" && g.path.startsWith("/series/0/2"));
  assert.throws(() => readBatch(body, LIMITS), (e: unknown) => e instanceof AggError && e.code === g.code && e.message === g.message && e.path === g.path);
});

test("the fast path reads a timings layout (bin or arrays) only when the general path accepts it", () => {
  assert.ok(ARRAY_TIMINGS || BIN_TIMINGS, "the general path accepts one of the layouts");
  const v = batchValue({ v: 2, vm: "0123456789abcdef", series: [requests(1, { requestMs: 1 })] }) as Record<string, any>;
  for (const [layout, timings, probe] of [
    ["arrays", [1, [1, 1000, 0, 0, 0, [1]]], ARRAY_TIMINGS],
    ["bin", Uint8Array.of(1, 0xe8, 0x07, 0, 0, 0, 1, 0x00), BIN_TIMINGS],
  ] as const) {
    const x = structuredClone(v);
    x.series[0][2] = timings;
    const body = encodeMsgpack(x);
    assert.equal(!(general(body, LIMITS) instanceof AggError), probe, `${layout}: the probe matches the general path`);
    assert.equal(agrees(body) !== null, probe, `${layout}: read by the fast path exactly when accepted`);
  }
});

test("a real-size batch (100 series, five timings, exemplars) is read by the fast path", () => {
  const series = Array.from({ length: 100 }, (_, i): SeriesInput => ({
    ...requests(4, { requestMs: 3 + i / 10, upstreamMs: 2, appMs: 1 }, { destination_service: `svc-${i}.ns.svc.cluster.local` }),
    exemplar: { traceId: "0af7651916cd43dd8448eb211c80319c", valueUs: 3000 + i * 100, timeMs: 1_767_268_800_000 },
  }));
  const body = buildBatch({ v: 2, series });
  assert.equal(agrees(body)?.series.length, 100);
});
