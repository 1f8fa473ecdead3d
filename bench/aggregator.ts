// Aggregator benchmarks: decode cost (msgpackr vs JSON of the same batch), ingest throughput over
// real HTTP against the HTTP floor, /metrics render time, size and event-loop blocking at
// 1k/10k/50k series, and memory per series. The aggregator runs in a child process
// (bench/lib/aggregator-child.ts); memory is measured in one of its own (bench/lib/memory-child.ts).
import { fork } from "node:child_process";
import type { ChildProcess } from "node:child_process";
import { Agent } from "node:http";
import { once } from "node:events";
import { batchValue, encodeBatch } from "../test/support/batch-builder.ts";
import type { SeriesInput } from "../test/support/batch-builder.ts";
import { decodeMsgpack } from "../aggregator/src/wire/decode.ts";
import { readBatch } from "../aggregator/src/wire/read-batch.ts";
import { AggregatorState } from "../aggregator/src/store/state.ts";
import { makeConfig } from "../aggregator/src/config.ts";
import { BENCH_LIMITS } from "./lib/bench-limits.ts";
import { interleave } from "./lib/interleave.ts";
import { get, load } from "./lib/http-load.ts";
import { rawLoad } from "./lib/raw-load.ts";
import { metric } from "./lib/results.ts";
import type { Metric, SubjectResult } from "./lib/results.ts";
import { pairedRatios, summarize } from "./lib/stats.ts";
import { alternatingPairs, warmUp } from "./lib/steady.ts";
import { foldWindow } from "./wire.ts";
import { prng, requestCase } from "./lib/traffic.ts";

export const INGEST_TARGET = 500_000;   // series-points per aggregator CPU-second over HTTP (issue #14)
export const BLOCK_TARGET_MS = 100;     // event-loop blocking of one /metrics render at 10k series
/**
 * Memory per label set that sent one point and was scraped (twice, every series changed in between: the
 * encodings as every later scrape keeps them), settled (bench/lib/memory-child.ts).
 * A native histogram holds its occupied range densely: the bench's values spread 10× per timing,
 * ~27 buckets at scale 3 (where the filter's 86-bucket windows keep them), 8 B each in V8 (no
 * pointer compression in Node), plus ~140 B of objects per histogram; 5 timings, in the store and
 * in one window entry (the fine slot's, which the 1-minute and 5-minute rings share until it
 * changes): 2 × 5 × (27 × 8 + 140) ≈ 3.6 KB, and ~1.2 KB for the series itself (labels, key,
 * entries, maps). A scraped aggregator also keeps what the protobuf render encoded per series
 * (metrics/traffic-protobuf.ts): ~660 B of label and value fields in buffers of their own and
 * ~640 B of objects around them (as slices of Node's pooled Buffer slabs they held ~1.5 KB of
 * slab per series). A label set active in many slots holds one entry per slot and ring.
 */
export const MEMORY_TARGET_BYTES = 6_000;
export const NATIVE_CPU_TARGET_MS = 150; // aggregator CPU of one protobuf /metrics scrape at 10k label sets
export const NATIVE_BYTES_TARGET = 2_000_000; // its gzip bytes on the wire
const PROTOBUF_ACCEPT = "application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited,application/openmetrics-text;version=1.0.0;q=0.8,text/plain;version=0.0.4;q=0.5,*/*;q=0.1";
const VM_PLACEHOLDER = "ffffffffffffffff";
/** bench/lib/aggregator-child.ts: the ingest route's HTTP work alone (body read, 204). */
const NOOP_PATH = "/bench/noop";

// Wire v2 (what the filter sends): four requests per series, recorded into exponential histograms.
const TIMINGS = { request: [3.1, 7.4, 12.8, 31], upstream: [2.5, 6.9, 12.1, 30],
  proxy: [0.6, 0.5, 0.7, 1], app: [2, 5, 10, 25], network: [0.5, 1.9, 2.1, 5] };

/** Series i of a population of distinct label tuples (fleet-like: many workloads × services). */
export function seriesAt(i: number): SeriesInput {
  return {
    count: 4,
    labels: {
      source_workload: `wl-${i % 97}`,
      destination_service: `svc-${Math.floor(i / 97) % 1031}.ns-${i % 13}.svc.cluster.local`,
      user_tier: ["free", "standard", "premium", "enterprise", "unknown"][Math.floor(i / (97 * 1031)) % 5],
      response_code: ["200", "503", "404", "500"][Math.floor(i / (97 * 1031 * 5)) % 4],
    },
    timings: TIMINGS,
  };
}

/** Placeholder seq: encoded as a uint32 (0xce + 4 bytes), so any seq up to 2^32-1 is patched in place. */
const SEQ_PLACEHOLDER = 0xfffffffe;
const SEQ_BYTES = Buffer.from([0xce, 0xff, 0xff, 0xff, 0xfe]);

/** A batch of series [from, from+n) with a placeholder VM id and seq that `withVm` / `fromFleet` patch in place. */
function template(from: number, n: number): Template {
  const bytes = encodeBatch(batchValue({ v: 2, vm: VM_PLACEHOLDER, seq: SEQ_PLACEHOLDER, series: Array.from({ length: n }, (_, k) => seriesAt(from + k)) }));
  const vmAt = Buffer.from(bytes).indexOf(VM_PLACEHOLDER, 0, "latin1");
  const seqAt = Buffer.from(bytes).indexOf(SEQ_BYTES) + 1;
  if (vmAt < 0 || seqAt < 1) throw new Error("bench: VM id or seq not found in the encoded batch");
  return { bytes, vmAt, seqAt };
}
interface Template { bytes: Uint8Array; vmAt: number; seqAt: number }

let vmCounter = 0;
/** A fresh copy with a never-used VM id (seq 1), so the aggregator merges it instead of dropping a duplicate. */
function withVm(t: Template): Uint8Array {
  const b = Buffer.from(t.bytes);
  b.write((++vmCounter).toString(16).padStart(16, "0"), t.vmAt, "latin1");
  b.writeUInt32BE(1, t.seqAt);
  return b;
}

/**
 * VMs that steady ingest cycles through, each batch the next seq of its VM: a fleet's VMs
 * report again and again (the fleet simulator's 2,000 sidecars × 2 workers), where a new VM per
 * batch would grow the VM registry by one state per batch and, past max_vms_per_namespace
 * (5,000), evict one per batch — work that a real fleet does not cause.
 */
const FLEET_VMS = 4000;
const fleetSeq = new Uint32Array(FLEET_VMS);
let fleetNext = 0;
function fromFleet(t: Template): Uint8Array {
  const k = fleetNext++ % FLEET_VMS;
  const b = Buffer.from(t.bytes);
  b.write((0xf00000000000 + k).toString(16).padStart(16, "0"), t.vmAt, "latin1");
  b.writeUInt32BE(++fleetSeq[k]!, t.seqAt);
  return b;
}

async function decodeComparison(quick: boolean): Promise<{ metrics: Record<string, Metric>; details: unknown }> {
  const rand = prng(11);
  const typical = batchValue({ series: foldWindow(Array.from({ length: 1000 }, () => requestCase(rand))) });
  const large = batchValue({ series: Array.from({ length: 1000 }, (_, i) => seriesAt(i)) });
  const metrics: Record<string, Metric> = {};
  const details: Record<string, unknown> = {};
  for (const [name, value, iters] of [["typical", typical, 2000], ["1k_series", large, 50]] as const) {
    const mp = encodeBatch(value);
    const js = Buffer.from(JSON.stringify(value));
    let sink = 0;
    const res = await interleave([
      { name: "msgpackr", run: (n) => { for (let i = 0; i < n; i++) sink += (decodeMsgpack(mp) as { series: unknown[] }).series.length; } },
      { name: "json", run: (n) => { for (let i = 0; i < n; i++) sink += (JSON.parse(js.toString("utf8")) as { series: unknown[] }).series.length; } },
    ], { rounds: quick ? 3 : 15, iterations: quick ? Math.ceil(iters / 10) : iters, warmupRounds: 2 });
    if (sink < 0) throw new Error("unreachable");
    const ratio = summarize(pairedRatios(res[1].perRound, res[0].perRound));
    metrics[`aggregator.decode.${name}.msgpack_us`] = metric("info", res[0].summary.median / 1000, "µs/batch",
      `decode one ${name} batch (${mp.length} B) with the aggregator's msgpackr decoder`, { spread: spreadOf(res[0].summary, 1000) });
    metrics[`aggregator.decode.${name}.json_over_msgpack`] = metric("info", ratio.median, "x",
      `JSON.parse of the same batch as JSON (${js.length} B) / msgpackr decode (> 1: msgpack faster)`, { better: "higher", spread: spreadOf(ratio) });
    details[`decode_${name}`] = { msgpackBytes: mp.length, jsonBytes: js.length, msgpackUs: spreadOf(res[0].summary, 1000), jsonUs: spreadOf(res[1].summary, 1000) };
  }
  return { metrics, details };
}

function spreadOf(s: { q1: number; q3: number; min: number; max: number; n: number }, div = 1) {
  return { q1: s.q1 / div, q3: s.q3 / div, min: s.min / div, max: s.max / div, n: s.n };
}

/**
 * The ingest pipeline without HTTP, in this process: read (decode + validate in one pass) →
 * merge of 100-series batches over stored label sets, stage by stage (CPU time). Tells the
 * HTTP/fastify share of the over-HTTP figure apart from the aggregator's own work.
 */
function pipeline(quick: boolean): { metrics: Record<string, Metric>; details: unknown } {
  const config = makeConfig({ max_series: 60_000, max_vms: 1_000_000, ...BENCH_LIMITS });
  const limits = { maxSeries: config.max_batch_series, maxStrings: config.max_batch_strings, maxBounds: config.max_bounds, maxLabelLength: config.max_label_length, maxTimingBuckets: config.max_timing_buckets };
  const state = new AggregatorState(config, Date.now);
  const templates = Array.from({ length: 10 }, (_, k) => template(k * 100, 100));
  const stages = { read: 0, merge: 0 };
  const n = quick ? 200 : 3000;
  for (let i = 0; i < n + 200; i++) {
    const body = fromFleet(templates[i % templates.length]);
    const c0 = cpuNs();
    const b = readBatch(body, limits);
    const c1 = cpuNs();
    if (state.ingest(b) !== "accepted") throw new Error("bench: pipeline batch not accepted");
    const c2 = cpuNs();
    if (i >= 200) { stages.read += c1 - c0; stages.merge += c2 - c1; } // the first 200 warm up and create the series
  }
  const totalNs = stages.read + stages.merge;
  const perBatchUs = Object.fromEntries(Object.entries(stages).map(([k, v]) => [k, +(v / n / 1000).toFixed(1)]));
  return {
    metrics: {
      "aggregator.pipeline.points_per_cpu_s": metric("info", (n * 100) / (totalNs / 1e9), "points/CPU-s",
        "read (decode + validate) + merge without HTTP (in-process), 100-series batches over stored label sets", { better: "higher" }),
    },
    details: { batches: n, perBatchUs },
  };
}

function cpuNs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) * 1000;
}

class Child {
  private constructor(readonly proc: ChildProcess, readonly port: number) {}
  static async start(config: Record<string, unknown>): Promise<Child> {
    const proc = fork(new URL("./lib/aggregator-child.ts", import.meta.url).pathname, [], {
      execArgv: ["--expose-gc", "--max-old-space-size=4096", "--import", "tsx"],
      env: { ...process.env, MESHLAT_BENCH_CONFIG: JSON.stringify(config) },
      stdio: ["ignore", "inherit", "inherit", "ipc"],
    });
    try {
      const [m] = (await Promise.race([once(proc, "message"), once(proc, "exit").then(() => [{ error: "aggregator child exited" }])])) as [{ port?: number; error?: string }];
      if (!m.port) throw new Error(`aggregator child failed: ${m.error}`);
      return new Child(proc, m.port);
    } catch (e) {
      proc.kill();
      throw e;
    }
  }
  async ask<T>(cmd: string): Promise<T> {
    this.proc.send({ cmd });
    const [m] = await once(this.proc, "message");
    return m as T;
  }
  stop(): void {
    if (this.proc.exitCode === null) this.proc.kill();
  }
}

/** Memory per label set, from bench/lib/memory-child.ts (its own process, --expose-gc, injected clock). */
async function memory(quick: boolean): Promise<{ metrics: Record<string, Metric>; details: unknown }> {
  const n = quick ? 5_000 : 50_000;
  const proc = fork(new URL("./lib/memory-child.ts", import.meta.url).pathname, [], {
    execArgv: ["--expose-gc", "--import", "tsx"], env: { ...process.env, MESHLAT_BENCH_SERIES: String(n) }, stdio: ["ignore", "inherit", "inherit", "ipc"],
  });
  const [m] = (await Promise.race([once(proc, "message"), once(proc, "exit").then(() => [null])])) as [{ fresh: number; unscraped: number; scraped: number; windowEntries: number; activeKept: number; activeProm: number } | null];
  if (!m) throw new Error("bench: memory child exited without a result");
  return {
    metrics: {
      "aggregator.memory_per_series_bytes": metric("ratio", m.scraped, "B/series",
        `memory per label set that sent one point and was scraped (V8 heap + array buffers, after full GC, ${n} label sets): the store's series, its entries in the three window rings once its slot is folded, and the encodings protobuf /metrics renders keep (two scrapes, every series changed in between)`,
        { target: { op: "<=", value: MEMORY_TARGET_BYTES } }),
      "aggregator.memory_per_series_unscraped_bytes": metric("info", m.unscraped, "B/series",
        "the same before any scrape (the store's series and its window entries)"),
      "aggregator.memory_per_series_fresh_bytes": metric("info", m.fresh, "B/series",
        "the same before any scrape and before its window slot is folded (the store's series and the fine slot's entry)"),
      "aggregator.memory_per_active_series_bytes": metric("info", m.activeKept, "B/series",
        "memory per label set that sent a point in every window slot for an hour (1,000 label sets, before any scrape): its ~36 entries in the full window rings, which the APIs read without prometheus_url"),
      "aggregator.memory_per_active_series_prometheus_bytes": metric("info", m.activeProm, "B/series",
        "the same with prometheus_url set (as the manifests set it): the views come from Prometheus and no window is kept"),
    },
    details: { series: n, ...m },
  };
}

/**
 * Steady-state ingest: batches of 100 series over label sets already stored (merges, no
 * growth), from a fleet of 4,000 VMs each sending its next seq (fromFleet), 16 concurrent
 * keep-alive connections of a lean client (lib/raw-load.ts: ~23 µs of client CPU per request
 * against node:http's ~56, measured, so the sender competes less with the aggregator for this
 * machine's two cores). Each timed round is paired with one posting the same bodies to the
 * child's no-op route (same body read, same 204, nothing decoded): the HTTP floor of this
 * machine at this moment, which the guarded ratio divides by, so that load from elsewhere moves
 * both sides.
 */
async function steadyIngest(child: Child, quick: boolean): Promise<{ metrics: Record<string, Metric>; details: unknown }> {
  const templates = Array.from({ length: 10 }, (_, k) => template(k * 100, 100));
  let i = 0;
  type Gc = { ms: number; majorCount: number };
  const timed = async (path: string, ms: number) => {
    const g0 = await child.ask<Gc>("gc");
    const c0 = (await child.ask<{ cpuUs: number }>("cpu")).cpuUs;
    const r = await rawLoad(child.port, () => fromFleet(templates[i++ % templates.length]), { concurrency: 16, durationMs: ms, path });
    const c1 = (await child.ask<{ cpuUs: number }>("cpu")).cpuUs;
    const g1 = await child.ask<Gc>("gc");
    const ok = r.byStatus[204] ?? 0;
    if (ok !== r.sent) throw new Error(`bench: ${path} answered other than 204: ${JSON.stringify(r.byStatus)}, ${r.errors} errors`);
    return { sent: ok, wallS: r.elapsedMs / 1000, cpuS: (c1 - c0) / 1e6, gcMs: +(g1.ms - g0.ms).toFixed(1), majorGcs: g1.majorCount - g0.majorCount };
  };
  await child.ask("heap"); // full GCs: the scrapes' garbage is not billed to ingest
  // Untimed warm-up: the first seconds after the fill and the scrapes cost 2–3× the steady CPU
  // per batch (JIT; measured ~600 µs in the first 1.5 s, 200–300 µs from ~4 s on), and a timed
  // round among them pulls the median up. Half-second ingest rounds until their cost stops
  // falling (median of the last three no more than 10% below the three before; 7–11 rounds
  // here), then the no-op route, which settles within its first half-second.
  const warm = await warmUp(async () => { const r = await timed("/v1/batches", quick ? 250 : 500); return (r.cpuS / r.sent) * 1e6; },
    quick ? { minRounds: 2, maxRounds: 4, window: 1, tolerance: 0.1 } : { minRounds: 6, maxRounds: 16, window: 3, tolerance: 0.1 });
  const floorWarm = await timed(NOOP_PATH, quick ? 250 : 1000);
  // Ten short pairs (more samples for the median in the same time), the order alternating so
  // that what a round leaves behind (its garbage) falls on both sides alike.
  // No forced GC between pairs: after one (--expose-gc's full GC) the next rounds cost 1.5–2.5×
  // (measured: floor 107–118 µs/batch instead of 36–46), a warm-up again in every pair.
  const pairs = await alternatingPairs(quick ? 2 : 10, () => timed("/v1/batches", quick ? 300 : 600), () => timed(NOOP_PATH, quick ? 200 : 400));
  const rounds = pairs.map(({ a, b, aFirst }) => ({ points: a.sent * 100, wallS: a.wallS, cpuS: a.cpuS, sent: a.sent, floorCpuS: b.cpuS, floorSent: b.sent, ingestFirst: aFirst, gcMs: a.gcMs, majorGcs: a.majorGcs, floorGcMs: b.gcMs, floorMajorGcs: b.majorGcs }));
  const perCpu = summarize(rounds.map((r) => r.points / r.cpuS));
  const perWall = summarize(rounds.map((r) => r.points / r.wallS));
  const floorPerCpu = summarize(rounds.map((r) => (r.floorSent * 100) / r.floorCpuS));
  // The guarded ratio is the median of the paired rounds' ratios, which ignores the tails a
  // mean (or the pooled ratio, in details) would not: a major GC of the 50k-label-set heap
  // (150–350 ms of CPU) landing in a 40 µs/batch floor round, or a round the machine's other
  // load made dearer. With node:http as the client and a new VM per batch (which grew the VM
  // registry and, past max_vms_per_namespace, evicted a VM per batch: major GCs) one pair moved
  // by ±25% and runs read 4.3–5.8; with the lean client and the 4,000-VM fleet the ten pairs of
  // a quiet run read 3.40–3.45. What no statistic removes is the machine's load: it raises the
  // floor's CPU per batch more than ingest's, so a loaded run reads lower — noise or an
  // improvement to the guard, never a regression.
  const vsFloor = summarize(rounds.map((r) => (r.cpuS / r.sent) / (r.floorCpuS / r.floorSent)));
  const sum = (f: (r: (typeof rounds)[number]) => number) => rounds.reduce((t, r) => t + f(r), 0);
  const pooled = (sum((r) => r.cpuS) / sum((r) => r.sent)) / (sum((r) => r.floorCpuS) / sum((r) => r.floorSent));
  const us = (cpuS: number, n: number) => +((cpuS / n) * 1e6).toFixed(1);
  const metrics: Record<string, Metric> = {
    "aggregator.ingest.points_per_cpu_s": metric("info", perCpu.median, "points/CPU-s",
      `series-points merged per second of aggregator CPU (user+system, all its threads) over HTTP, steady state (after ${warm.costs.length} untimed half-second rounds): 16 keep-alive connections of a lean client (lib/raw-load.ts), 100 series per batch from 4,000 VMs in turn`,
      { better: "higher", target: { op: ">=", value: INGEST_TARGET }, spread: spreadOf(perCpu) }),
    "aggregator.ingest.cpu_vs_http_floor": metric("ratio", vsFloor.median, "x",
      "aggregator CPU per ingested batch / per batch posted to a no-op route of the same server (same bodies, body read and 204 only), median of ten paired rounds in alternating order, after the warm-up",
      { spread: spreadOf(vsFloor) }),
    "aggregator.ingest.http_floor_points_per_cpu_s": metric("info", floorPerCpu.median, "points/CPU-s",
      "the no-op route's figure: the most this machine's HTTP stack allows the ingest figure, at the same moment", { better: "higher", spread: spreadOf(floorPerCpu) }),
    "aggregator.ingest.points_per_s": metric("info", perWall.median, "points/s", "the same per wall-clock second (client on the same 2-core machine; noisy)", { better: "higher", spread: spreadOf(perWall) }),
    "aggregator.ingest.batches_per_cpu_s": metric("info", perCpu.median / 100, "batches/CPU-s", "batches accepted (204) per second of aggregator CPU", { better: "higher" }),
  };
  return {
    metrics,
    details: {
      warmUpUsPerBatch: warm.costs.map((c) => +c.toFixed(1)), warmUpSettled: warm.settled, floorWarmUpUsPerBatch: us(floorWarm.cpuS, floorWarm.sent),
      pooledCpuVsHttpFloor: pooled,
      rounds: rounds.map((r) => ({ ...r, usPerBatch: us(r.cpuS, r.sent), floorUsPerBatch: us(r.floorCpuS, r.floorSent) })),
    },
  };
}

export async function runAggregator(opts: { quick: boolean }): Promise<SubjectResult> {
  const dec = await decodeComparison(opts.quick);
  const pipe = pipeline(opts.quick);
  const mem = await memory(opts.quick);
  const metrics: Record<string, Metric> = { ...dec.metrics, ...pipe.metrics, ...mem.metrics };
  const details: Record<string, unknown> = { decode: dec.details, pipeline: pipe.details, memory: mem.details };
  const sizes = opts.quick ? [1000] : [1000, 10_000, 50_000];
  // Load shedding off: this measures capacity, and a loaded 2-core CI machine would trip the
  // event-loop-delay probe (the production default) at random.
  const child = await Child.start({ max_series: 60_000, max_vms: 1_000_000, shed_event_loop_delay_ms: 0 });
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  try {
    let stored = 0;
    const renders: Record<string, unknown> = {};
    for (const n of sizes) {
      // Fill the store up to n distinct label sets, 1000 per batch.
      const per = 1000;
      for (; stored < n; stored += per) {
        const r = await load(child.port, (() => { let done = false; return () => done ? undefined : ((done = true), withVm(template(stored, Math.min(per, n - stored)))); })(), { concurrency: 1, durationMs: 60_000 });
        if (r.byStatus[204] !== 1) throw new Error(`bench: populating the aggregator failed: ${JSON.stringify(r)}`);
      }
      // Scrape as Prometheus does (Accept-Encoding: gzip; the aggregator streams and gzips).
      // Wall time and event-loop delay include whatever else the machine runs; the aggregator's
      // CPU time does not, and the smallest per-scrape block is the render's own (noise only adds).
      const times: number[] = [], cpu: number[] = [], blocks: number[] = [];
      let gzBytes = 0;
      for (let k = 0; k < (n >= 50_000 ? 2 : 3); k++) {
        const c0 = (await child.ask<{ cpuUs: number }>("cpu")).cpuUs;
        await child.ask("eld-start");
        const r = await get(agent, child.port, "/metrics", { "accept-encoding": "gzip" });
        const eld = await child.ask<{ maxMs: number }>("eld-stop");
        const c1 = (await child.ask<{ cpuUs: number }>("cpu")).cpuUs;
        if (r.status !== 200) throw new Error(`bench: /metrics answered ${r.status}`);
        times.push(r.ms); cpu.push((c1 - c0) / 1000); blocks.push(eld.maxMs); gzBytes = r.bytes;
      }
      const plain = n <= 10_000 ? await get(agent, child.port, "/metrics") : undefined;
      if (n <= 10_000) {
        // As Prometheus with native histograms asks: protobuf, gzip.
        const cpuN: number[] = [];
        let nativeBytes = 0;
        for (let k = 0; k < 3; k++) {
          const c0 = (await child.ask<{ cpuUs: number }>("cpu")).cpuUs;
          const r = await get(agent, child.port, "/metrics", { "accept-encoding": "gzip", accept: PROTOBUF_ACCEPT });
          const c1 = (await child.ask<{ cpuUs: number }>("cpu")).cpuUs;
          if (r.status !== 200) throw new Error(`bench: protobuf /metrics answered ${r.status}`);
          cpuN.push((c1 - c0) / 1000); nativeBytes = r.bytes;
        }
        // Every label set merges a point before each scrape, as a busy fleet's do between two
        // scrapes: the render encodes them all again. Only the scrape's CPU is counted.
        const cpuC: number[] = [];
        const fills = Array.from({ length: Math.ceil(n / per) }, (_, k) => template(k * per, Math.min(per, n - k * per)));
        for (let k = 0; k < 3; k++) {
          for (const t of fills) {
            const r = await load(child.port, (() => { let done = false; return () => done ? undefined : ((done = true), withVm(t)); })(), { concurrency: 1, durationMs: 60_000 });
            if (r.byStatus[204] !== 1) throw new Error(`bench: re-posting the label sets failed: ${JSON.stringify(r)}`);
          }
          const c0 = (await child.ask<{ cpuUs: number }>("cpu")).cpuUs;
          const r = await get(agent, child.port, "/metrics", { "accept-encoding": "gzip", accept: PROTOBUF_ACCEPT });
          const c1 = (await child.ask<{ cpuUs: number }>("cpu")).cpuUs;
          if (r.status !== 200) throw new Error(`bench: protobuf /metrics answered ${r.status}`);
          cpuC.push((c1 - c0) / 1000);
        }
        const sn = summarize(cpuN), sc2 = summarize(cpuC);
        const tagN = `${n / 1000}k`;
        const tenK = n === 10_000;
        metrics[`aggregator.metrics_render_native.${tagN}.cpu_ms`] = metric("info", sn.median, "ms", `GET /metrics as Prometheus with native histograms asks (protobuf, gzip), ${n} label sets: aggregator CPU per scrape`,
          tenK ? { spread: spreadOf(sn), target: { op: "<=", value: NATIVE_CPU_TARGET_MS } } : { spread: spreadOf(sn) });
        metrics[`aggregator.metrics_render_native.${tagN}.changed_cpu_ms`] = metric("info", sc2.median, "ms", `the same when all ${n} label sets merged a point since the previous scrape (all encoded again)`,
          { spread: spreadOf(sc2) });
        metrics[`aggregator.metrics_render_native.${tagN}.gzip_bytes`] = metric("info", nativeBytes, "B", "size of that response on the wire (gzip)",
          tenK ? { target: { op: "<=", value: NATIVE_BYTES_TARGET } } : {});
      }
      const s = summarize(times), sc = summarize(cpu), sb = summarize(blocks);
      const tag = `${n / 1000}k`;
      metrics[`aggregator.metrics_render.${tag}.ms`] = metric("info", s.median, "ms", `GET /metrics (gzip, as Prometheus asks) with ${n} label sets stored: wall time to the last byte`, { spread: spreadOf(s) });
      metrics[`aggregator.metrics_render.${tag}.cpu_ms`] = metric("info", sc.median, "ms", "aggregator CPU time (user+system, all threads) per scrape: render + gzip", { spread: spreadOf(sc) });
      metrics[`aggregator.metrics_render.${tag}.gzip_bytes`] = metric("info", gzBytes, "B", "size of that response on the wire (gzip)");
      if (plain) metrics[`aggregator.metrics_render.${tag}.text_bytes`] = metric("info", plain.bytes, "B", "size of the same exposition uncompressed (text 0.0.4)");
      metrics[`aggregator.metrics_render.${tag}.block_ms`] = metric("info", sb.min, "ms",
        "longest event-loop block during a scrape (monitorEventLoopDelay max; smallest over the scrapes)",
        n === 10_000 ? { target: { op: "<=", value: BLOCK_TARGET_MS }, spread: spreadOf(sb) } : { spread: spreadOf(sb) });
      renders[tag] = { ms: s, cpuMs: sc, blockMs: sb, gzBytes, textBytes: plain?.bytes, textMs: plain?.ms };
    }
    details.metricsRender = renders;

    const ingest = await steadyIngest(child, opts.quick);
    Object.assign(metrics, ingest.metrics);
    details.ingest = ingest.details;
  } finally {
    agent.destroy();
    child.stop();
  }
  return { metrics, details };
}
