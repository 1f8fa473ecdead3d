// The single-pass v2 reader (wire/read-v2.ts) against the general path (decode.ts + validate.ts):
// on the filter's shape it reads every batch itself, and whatever the bytes, it returns a batch
// only when the general path accepts them, and then an equal one (its flat form read back as a
// Batch), whose merge has the same effect on the store, the windows and the VM registry.
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
import type { Batch, ExpTiming, WireLimits, WireSeries } from "../src/wire/types.ts";
import { FlatBatch, NL, NT } from "../src/wire/flat-batch.ts";
import { AggregatorState } from "../src/store/state.ts";
import { makeConfig } from "../src/config.ts";
import { WINDOWS_MS } from "../src/store/windows.ts";
import type { ExpHist } from "../src/store/exp-histogram.ts";

const LIMITS: WireLimits = { maxSeries: 100, maxStrings: 1000, maxBounds: 64, maxLabelLength: 64, maxTimingBuckets: 160 };

function general(body: Uint8Array, limits: WireLimits): Batch | AggError {
  try {
    return validateBatch(decodeMsgpack(body), limits);
  } catch (e) {
    if (e instanceof AggError) return e;
    throw e;
  }
}

/** A flat batch read back as the Batch it holds (every field, dense counts), to compare with the general path's. */
function asBatch(f: FlatBatch): Batch {
  const series: WireSeries[] = [];
  for (let s = 0; s < f.n; s++) {
    const labels = Array.from({ length: NL }, (_, i) => f.string(f.lab[s * NL + i]!));
    const timings: (ExpTiming | null)[] = [];
    for (let t = 0; t < NT; t++) {
      const k = s * NT + t;
      if (!(f.tmask[s]! & (1 << t))) { timings.push(null); continue; }
      const counts = new Array<number>(f.tlen[k]!).fill(0);
      for (let b = f.tb0[k]!; b < f.tb1[k]!; b++) counts[f.bIdx[b]! - f.toff[k]!] = f.bCnt[b]!;
      timings.push({ n: f.tn[k]!, sumUs: f.tsum[k]!, scale: f.tscale[k]!, zero: f.tzero[k]!, offset: f.toff[k]!, counts });
    }
    const trace = f.exTrace[s];
    series.push(trace == null ? { labels, count: f.count[s]!, timings } : { labels, count: f.count[s]!, timings, exemplar: { traceId: trace, valueUs: f.exValue[s]!, timeMs: f.exTime[s]! } });
  }
  return { v: f.v, proxy: { ...f.proxy }, vm: f.vm, seq: f.seq, window: [f.window[0], f.window[1]], boundsUs: [], series, counters: { ...f.counters } };
}

/** The property: the fast path returns null, or exactly what the general path returns. */
function agrees(body: Uint8Array, limits = LIMITS): Batch | null {
  const read = readV2(body, limits);
  if (read === null) return null;
  const fast = asBatch(read);
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
    else assert.deepEqual(r instanceof FlatBatch ? asBatch(r) : r, g, name);
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

const hist = (h: ExpHist | null) => h && { n: h.n, sumUs: h.sumUs, zero: h.zero, scale: h.scale, offset: h.offset, counts: h.counts.slice(0, h.len) };
/** Everything ingest changes, in a comparable form (series by label tuple, window entries per window, VM counters). */
function stateView(st: AggregatorState, now: number) {
  const byLabels = <T extends { labels: readonly string[] }>(xs: Iterable<T>) => [...xs].sort((a, b) => a.labels.join("\u0000").localeCompare(b.labels.join("\u0000")));
  const store = st.store;
  return {
    series: byLabels(store.series.values()).map((s) => ({ labels: s.labels, count: s.count, lastSeen: s.lastSeen, timings: s.timings.map(hist), exemplars: s.exemplars })),
    totals: { size: store.size, folded: store.folded, quota: store.foldedByQuota, budget: store.foldedByBudget, points: store.points, renderBytes: store.renderBytes },
    windows: Object.values(WINDOWS_MS).map((w) => byLabels(st.windows.entries(now, w)).map((e) => ({ labels: e.labels, count: e.count, timings: e.timings.map(hist), slowest: e.slowest }))),
    vms: st.vms.byWorkload(0),
  };
}

test("merging what the fast path read has the same effect as merging the general path's batch (store, windows, VMs)", () => {
  // Several batches, some late and some of another VM, into small caps: series fold into
  // overflow, histograms lower their scale, fine slots fold into the coarse rings.
  const step = fc.record({ batch: batchArb, advanceMs: fc.constantFrom(0, 3_000, 10_000, 65_000), lateMs: fc.constantFrom(0, 0, 15_000) });
  fc.assert(fc.property(fc.array(step, { minLength: 1, maxLength: 5 }), fc.constantFrom(64, 160), fc.constantFrom(3, 10_000), (steps, buckets, maxSeries) => {
    let now = 1_767_268_800_000;
    const config = makeConfig({ histogram_buckets: buckets, max_series: maxSeries });
    const fast = new AggregatorState(config, () => now), slow = new AggregatorState(config, () => now);
    steps.forEach((st, k) => {
      now += st.advanceMs;
      const end = now - st.lateMs;
      const body = encodeBatch({ ...st.batch, vm: `${k % 2}123456789abcdef`, seq: k + 1, window: [end - 1000, end] });
      const read = readV2(body, LIMITS);
      assert.ok(read, "the fast path reads the filter's shape");
      const g = general(body, LIMITS);
      assert.ok(!(g instanceof AggError));
      assert.equal(fast.ingest(read), slow.ingest(g));
    });
    assert.deepEqual(stateView(fast, now), stateView(slow, now));
  }), { numRuns: 120, seed: 1405 });
});
