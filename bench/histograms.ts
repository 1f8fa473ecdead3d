// Exponential histograms (issue #13 targets).
// - Prometheus series per label set in each exposition format.
// - The protobuf /metrics render with native histograms at 10k label sets, in process: CPU of
//   render + gzip (as the route streams it) when every label set changed since the previous
//   scrape and when none did, bytes on the wire, the label sets each render encodes (counts the
//   guard holds), and the changed render's CPU relative to protobufjs encoding fresh
//   MetricFamily objects of the same data (informational; the absolute CPU over HTTP is
//   aggregator.metrics_render_native.*).
// - The relative error of p50/p90/p99 against the exact quantile of the values, for lognormal,
//   bimodal and uniform request times (50 µs – 30 s), recorded window by window as the filter
//   records them (its own bucket count and first scale, read from filter/assembly/exphist.ts; downscaled as a
//   window demands) and merged as the aggregator merges them; the worst of five seeds. "api"
//   is the latency API's monotone cubic; "prometheus" what Prometheus 2.42 (the version the
//   end-to-end tests run) answers from the same buckets, linear inside a bucket; "prometheus_exp"
//   what current Prometheus answers, exponential inside a bucket (promql/quantile.go).
import { readFileSync } from "node:fs";
import { Writable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { gzipSync } from "node:zlib";
import { AggregatorState } from "../aggregator/src/store/state.ts";
import { makeConfig } from "../aggregator/src/config.ts";
import { BENCH_LIMITS } from "./lib/bench-limits.ts";
import { ExpHist, observeUs } from "../aggregator/src/store/exp-histogram.ts";
import type { Interpolation } from "../aggregator/src/store/exp-quantile.ts";
import { current } from "../aggregator/src/store/exemplars.ts";
import { HELP, HISTOGRAM_FAMILIES, REQUESTS_FAMILY, REQUESTS_HELP, renderTraffic } from "../aggregator/src/metrics/traffic.ts";
import { encodedSeries, renderTrafficProtobuf } from "../aggregator/src/metrics/traffic-protobuf.ts";
import { GZIP_LEVEL, gzipChunks } from "../aggregator/src/metrics/gzip-stream.ts";
import { METRIC_TYPE, decodeFamilies, encodeFamily, nativeHistogram } from "../aggregator/src/metrics/protobuf.ts";
import { decodeMsgpack } from "../aggregator/src/wire/decode.ts";
import { validateBatch } from "../aggregator/src/wire/validate.ts";
import { LABEL_NAMES, TIMING_NAMES } from "../aggregator/src/wire/types.ts";
import { batchValue, encodeBatch } from "../test/support/batch-builder.ts";
import type { SeriesInput } from "../test/support/batch-builder.ts";
import type { Batch } from "../aggregator/src/wire/types.ts";
import { seededRandom } from "../test/support/rand.ts";
import { cpuNow } from "./lib/interleave.ts";
import { pairedRatios, summarize } from "./lib/stats.ts";
import { metric } from "./lib/results.ts";
import type { Metric, SubjectResult } from "./lib/results.ts";

export const SERIES_TARGET = 6;
export const QUANTILE_ERROR_TARGET_PERCENT = 5;
export const NATIVE_CPU_TARGET_MS = 150;
export const NATIVE_BYTES_TARGET = 2_000_000;
const LABEL_SETS = 10_000;
const LIMITS = { maxSeries: 1000, maxStrings: 10_000, maxBounds: 128, maxLabelLength: 1024, maxTimingBuckets: 160 };

/** The filter's buckets per timing, from its source: the windows here are recorded as it records them. */
export function filterBuckets(): number {
  const src = readFileSync(new URL("../filter/assembly/exphist.ts", import.meta.url), "utf8");
  const m = /export const BUCKETS: i32 = (\d+);/.exec(src);
  if (!m) throw new Error("bench: BUCKETS not found in filter/assembly/exphist.ts");
  return Number(m[1]);
}

/** The scale a filter window starts at, from its source (filter/assembly/exphist.ts FIRST_SCALE). */
export function filterFirstScale(): number {
  const src = readFileSync(new URL("../filter/assembly/exphist.ts", import.meta.url), "utf8");
  const m = /export const FIRST_SCALE: i32 = (\d+);/.exec(src);
  if (!m) throw new Error("bench: FIRST_SCALE not found in filter/assembly/exphist.ts");
  return Number(m[1]);
}

/** Series per label set with all five timings, counted in what each format exposes. */
function seriesPerLabelSet(): Record<string, Metric> {
  const state = new AggregatorState(makeConfig(BENCH_LIMITS), () => Date.now());
  const timings = { request: [12, 40], upstream: [9, 30], proxy: [3, 10], app: [6, 20], network: [3, 10] };
  const n = 10;
  const series = Array.from({ length: n }, (_, i) => ({ labels: { destination_service: `s${i}.ns.svc.cluster.local` }, timings }));
  state.ingest(validateBatch(decodeMsgpack(encodeBatch(batchValue({ v: 2, series }))), LIMITS));
  const native = decodeFamilies(Buffer.concat([...renderTrafficProtobuf(state.store)])) as { metric?: unknown[] }[];
  const nativeSeries = native.reduce((t, f) => t + (f.metric?.length ?? 0), 0);
  const text = Buffer.concat([...renderTraffic(state.store, null)]).toString("utf8");
  const classicSeries = text.split("\n").filter((l) => l !== "" && !l.startsWith("#")).length;
  return {
    "histograms.series_per_label_set.native": metric("count", nativeSeries / n, "series", "Prometheus series per label set, protobuf with native histograms (1 counter + 5 histograms)", { target: { op: "<=", value: SERIES_TARGET } }),
    "histograms.series_per_label_set.classic": metric("count", classicSeries / n, "series", "the same in the text formats (classic buckets at powers of two in ms: 22 bounds + +Inf, _sum, _count)"),
  };
}

/** 10k fleet-like label sets, each with five timings of a few requests; every tenth has an exemplar. */
function populated(): { state: AggregatorState; span: { nowMs: number; spanMs: number }; batches: Batch[] } {
  const now = Date.UTC(2026, 0, 1);
  const state = new AggregatorState(makeConfig({ max_series: 2 * LABEL_SETS, ...BENCH_LIMITS }), () => now);
  const rnd = seededRandom(13);
  const ms = (m: number) => Math.round(m * Math.exp(0.6 * (rnd() - 0.5)) * 1000) / 1000;
  const tiers = ["free", "standard", "premium", "enterprise", "unknown"];
  const batches: Batch[] = [];
  for (let from = 0; from < LABEL_SETS; from += 1000) {
    const series: SeriesInput[] = Array.from({ length: 1000 }, (_, k) => {
      const i = from + k;
      const req = [ms(3), ms(7), ms(13), ms(31)];
      return {
        labels: { source_workload: `wl-${i % 97}`, destination_service: `svc-${Math.floor(i / 97) % 1031}.ns-${i % 13}.svc.cluster.local`, user_tier: tiers[i % 5]!, response_code: ["200", "503", "404", "500"][Math.floor(i / 5) % 4]! },
        timings: { request: req, upstream: req.map((v) => v * 0.8), proxy: req.map((v) => v * 0.2), app: req.map((v) => v * 0.6), network: req.map((v) => v * 0.2) },
        ...(i % 10 === 0 ? { exemplar: { traceId: (i + 1).toString(16).padStart(32, "0"), valueUs: 31_000, timeMs: now - 1000 } } : {}),
      };
    });
    const b = validateBatch(decodeMsgpack(encodeBatch(batchValue({ v: 2, seq: 1 + from / 1000, window: [now - 1000, now], series }))), { ...LIMITS, maxSeries: 1000 });
    if (state.ingest(b) !== "accepted") throw new Error("bench: batch not accepted");
    batches.push(b);
  }
  return { state, span: { nowMs: now, spanMs: 60_000 }, batches };
}

/** The same families, encoded by protobufjs from fresh objects (what the render must equal). */
function* plainProtobuf(state: AggregatorState, span: { nowMs: number; spanMs: number }): Generator<Buffer> {
  const list = [...state.store.series.values()];
  const label = (s: (typeof list)[number]) => LABEL_NAMES.map((name, i) => ({ name, value: s.labels[i]! }));
  yield Buffer.from(encodeFamily({ name: REQUESTS_FAMILY, help: REQUESTS_HELP, type: METRIC_TYPE.counter, metric: list.map((s) => ({ label: label(s), counter: { value: s.count } })) }));
  for (let t = 0; t < TIMING_NAMES.length; t++) {
    const metric = list.filter((s) => s.timings[t]).map((s) => nativeHistogram(label(s), s.timings[t]!, current(s.exemplars[t]!, span.nowMs, span.spanMs)));
    yield Buffer.from(encodeFamily({ name: HISTOGRAM_FAMILIES[t]!, help: HELP[TIMING_NAMES[t]!]!, type: METRIC_TYPE.histogram, metric }));
  }
}

/** Streams chunks through gzip as GET /metrics does (gzip-stream.ts); resolves to the gzip bytes. */
async function gzipStream(chunks: Iterable<Buffer>): Promise<number> {
  let bytes = 0;
  await pipeline(gzipChunks(chunks[Symbol.iterator]()), new Writable({ write(c: Buffer, _e, cb) { bytes += c.length; cb(); } }));
  return bytes;
}

/** Series the protobuf render encodes while `f` runs (traffic-protobuf.ts counts them). */
function encodedDuring(f: () => void): number {
  const n0 = encodedSeries;
  f();
  return encodedSeries - n0;
}

async function nativeRender(quick: boolean): Promise<{ metrics: Record<string, Metric>; details: unknown }> {
  const { state, span, batches } = populated();
  const raw = Buffer.concat([...renderTrafficProtobuf(state.store, span)]);
  if (!raw.equals(Buffer.concat([...plainProtobuf(state, span)]))) throw new Error("bench: the protobuf render differs from protobufjs' encoding of the same families");
  const gz = gzipSync(raw, { level: GZIP_LEVEL }).length;
  // Every label set merges its batch's point again (from a VM not seen before, so not a duplicate):
  // what a busy fleet does between two scrapes.
  let vm = 0;
  const touchAll = () => {
    for (const b of batches) if (state.ingest({ ...b, vm: (++vm).toString(16).padStart(16, "0") }) !== "accepted") throw new Error("bench: batch not accepted");
  };
  const drain = () => { let n = 0; for (const c of renderTrafficProtobuf(state.store, span)) n += c.length; if (n === 0) throw new Error("bench: empty render"); };
  const unchanged = encodedDuring(drain);
  touchAll();
  const changed = encodedDuring(drain);
  const metrics: Record<string, Metric> = {
    "histograms.native_render.10k.bytes": metric("size", raw.length, "B", `protobuf /metrics traffic families, native histograms, ${LABEL_SETS} label sets, uncompressed`),
    "histograms.native_render.10k.gzip_bytes": metric("size", gz, "B", `the same gzip level ${GZIP_LEVEL} (as the route sends it): bytes on the wire`, { target: { op: "<=", value: NATIVE_BYTES_TARGET } }),
    "histograms.native_render.10k.encoded_unchanged": metric("count", unchanged, "series",
      "label sets a protobuf render encodes when none changed since the previous scrape (the others' bytes are kept)"),
    "histograms.native_render.10k.encoded_changed": metric("count", changed, "series",
      `the same after all ${LABEL_SETS} merged a point: each changed label set once`),
  };
  if (quick) return { metrics, details: {} };
  // Paired rounds, CPU time: each round first lets every label set change, then times the render
  // (all re-encoded) and protobufjs' encoding of fresh objects in alternating order, then the
  // render once more with nothing changed.
  const cpuMs = () => Number(cpuNow()) / 1e6;
  const timed = async (f: () => Promise<void>) => { const c0 = cpuMs(); await f(); return cpuMs() - c0; };
  const render = async () => { await gzipStream(renderTrafficProtobuf(state.store, span)); };
  const plain = async () => { await gzipStream(plainProtobuf(state, span)); };
  const rounds = 15, warmup = 2;
  const changedMs: number[] = [], plainMs: number[] = [], unchangedMs: number[] = [];
  for (let r = 0; r < warmup + rounds; r++) {
    touchAll();
    let a: number, b: number;
    if (r % 2 === 0) { a = await timed(render); b = await timed(plain); } else { b = await timed(plain); a = await timed(render); }
    const w = await timed(render);
    if (r < warmup) continue;
    changedMs.push(a); plainMs.push(b); unchangedMs.push(w);
  }
  const cpu = summarize(changedMs), warm = summarize(unchangedMs);
  const ratio = summarize(pairedRatios(changedMs, plainMs));
  const spread = (s: typeof cpu) => ({ q1: s.q1, q3: s.q3, min: s.min, max: s.max, n: s.n });
  metrics["histograms.native_render.10k.cpu_ms"] = metric("info", cpu.median, "ms",
    `protobuf /metrics traffic families at ${LABEL_SETS} label sets in process, every label set changed since the previous scrape: CPU of render + gzip (all threads), no HTTP`, { spread: spread(cpu), target: { op: "<=", value: NATIVE_CPU_TARGET_MS } });
  metrics["histograms.native_render.10k.unchanged_cpu_ms"] = metric("info", warm.median, "ms",
    "the same when no label set changed since the previous scrape (kept encodings copied)", { spread: spread(warm) });
  metrics["histograms.native_render.10k.vs_plain_protobufjs"] = metric("info", ratio.median, "x",
    `the changed render's CPU / protobufjs encoding fresh MetricFamily objects of the same data + gzip, ${rounds} paired rounds (< 1: the render is cheaper; informational: the counts above guard the render's work)`, { spread: spread(ratio) });
  return { metrics, details: { changedCpuMs: cpu, unchangedCpuMs: warm, plainCpuMs: summarize(plainMs) } };
}

const DISTRIBUTIONS: Record<string, (r: () => number, g: () => number) => number> = {
  lognormal: (_r, g) => Math.exp(Math.log(20000) + 0.8 * g()),
  bimodal: (r, g) => (r() < 0.8 ? Math.exp(Math.log(2000) + 0.3 * g()) : Math.exp(Math.log(200000) + 0.3 * g())),
  uniform: (r) => 1000 + r() * 99000,
};
const SEEDS = [97, 98, 99, 100, 101];
const WHERE: readonly (readonly [string, Interpolation, string])[] = [
  ["api", "cubic", "latency API (monotone cubic through the bucket counts, log space)"],
  ["prometheus", "linear", "Prometheus 2.42 histogram_quantile (linear inside a bucket)"],
  ["prometheus_exp", "exponential", "current Prometheus histogram_quantile (exponential inside a bucket)"],
];

function quantileErrors(): { metrics: Record<string, Metric>; details: unknown } {
  const buckets = filterBuckets();
  const firstScale = filterFirstScale();
  const out: Record<string, Metric> = {};
  const scales: Record<string, number[]> = {};
  for (const [name, f] of Object.entries(DISTRIBUTIONS)) {
    const worst: Record<string, number> = {};
    for (const seed of SEEDS) {
      const rnd = seededRandom(seed);
      const gauss = () => Math.sqrt(-2 * Math.log(1 - rnd())) * Math.cos(2 * Math.PI * rnd());
      const values: number[] = [];
      const agg = new ExpHist(makeConfig().histogram_buckets);
      for (let w = 0; w < 60; w++) { // 60 flush windows of 1,000 requests
        const win = new ExpHist(buckets, firstScale);
        for (let i = 0; i < 1000; i++) {
          const us = Math.round(Math.max(50, Math.min(30e6, f(rnd, gauss))));
          values.push(us);
          observeUs(win, us);
        }
        agg.merge(win);
      }
      (scales[name] ??= []).push(agg.scale);
      values.sort((a, b) => a - b);
      for (const q of [0.5, 0.9, 0.99]) {
        const exact = values[Math.ceil(q * values.length) - 1]! / 1000;
        for (const [where, interp] of WHERE) {
          const k = `p${q * 100}.${where}`;
          worst[k] = Math.max(worst[k] ?? 0, Math.abs(agg.quantileMs(q, interp)! - exact) / exact);
        }
      }
    }
    const at = [...new Set(scales[name])].join("/");
    for (const q of [0.5, 0.9, 0.99]) {
      for (const [where, , what] of WHERE) {
        out[`histograms.quantile_error.${name}.p${q * 100}.${where}`] = metric("count", +(100 * worst[`p${q * 100}.${where}`]!).toFixed(3), "%",
          `relative error of p${q * 100}, ${name}, ${what}; worst of ${SEEDS.length} seeds; ${buckets}-bucket filter windows arrive at scale ${at}`,
          { target: { op: "<=", value: QUANTILE_ERROR_TARGET_PERCENT } });
      }
    }
  }
  return { metrics: out, details: { filterBuckets: buckets, scales } };
}

export async function runHistograms(opts: { quick: boolean } = { quick: false }): Promise<SubjectResult> {
  const q = quantileErrors();
  const r = await nativeRender(opts.quick);
  return { metrics: { ...seriesPerLabelSet(), ...r.metrics, ...q.metrics }, details: { quantiles: q.details, nativeRender: r.details } };
}
