// Filter hot path through the project's proxy-wasm host: meshlat against (b) a no-op filter on
// the same SDK and (c) a raw-ABI no-op (the host's floor), interleaved in one run; plus the
// deterministic counts (host calls, allocations, memory growth, .wasm size) per request mix.
import { spawnSync } from "node:child_process";
import { readFileSync, statSync, existsSync } from "node:fs";
import { loadModule, startPlugin, ManualClock } from "../test/host/index.ts";
import type { Plugin, Vm } from "../test/host/index.ts";
import { Driver, mix } from "./lib/host-driver.ts";
import type { Prepared } from "./lib/host-driver.ts";
import { cpuNow, interleave } from "./lib/interleave.ts";
import type { Contender } from "./lib/interleave.ts";
import { allocCounter, captureInstances, timingImports } from "./lib/probe.ts";
import type { AllocCounter } from "./lib/probe.ts";
import { metric } from "./lib/results.ts";
import type { Metric, SubjectResult } from "./lib/results.ts";
import { pairedRatios, summarize } from "./lib/stats.ts";
import { AGGREGATOR_CLUSTER, NODE, pluginConfig } from "./lib/traffic.ts";

export const MESHLAT_WASM = "filter/build/meshlat.wasm";
export const MODULES = {
  meshlat: MESHLAT_WASM,
  noop_sdk: "bench/build/noop-sdk.wasm",
  noop_raw: "bench/build/noop-raw.wasm",
} as const;
export const PROBES = { meshlat: "bench/build/meshlat.probe.wasm", noop_sdk: "bench/build/noop-sdk.probe.wasm" } as const;
type ModuleName = keyof typeof MODULES;

export const HOST_CALL_TARGET = 8;        // typical request (DESIGN.md hot-path budget)
export const HOST_CALL_TARGET_INBOUND = 10;
export const RATIO_TARGET = 1.3;           // meshlat / SDK no-op
export const WASM_SIZE_TARGET = 64 * 1024;
export const MEMORY_PER_SERIES_TARGET = 1024; // bytes of linear memory a max_series slot costs (issue 13)
/** Issue 13: the filter's own work per request not worse than before wire v2 by more than 10%. */
export const REFERENCE_RATIO_TARGET = 1.1;
// Ticks rarely during hot-path runs (DESIGN.md allows 100–60000 ms); flush cost is measured
// separately in flush.ts.
const FLUSH_MS = 60_000;
/**
 * Mixes whose meshlat / SDK no-op ratio `--check` guards (see runFilter). Not the typical mix:
 * its ratio falls in one of two clusters ~15% apart from one process to the next, which the
 * guard's 15% tolerance cannot tell from a regression; filter.typical.ratio_vs_v1 guards it.
 */
export const GUARDED_RATIOS: ReadonlySet<string> = new Set(["inbound"]);

export interface MixSpec {
  name: string;
  cases: Prepared[];
  config?: Record<string, unknown>;
  hostCallTarget?: number;
  rounds: number;
  iterations: number;
}

export const TIERS4 = ["free", "standard", "premium", "enterprise"];

export function mixes(quick: boolean): MixSpec[] {
  const r = (full: number) => (quick ? 0 : full);
  return [
    { name: "typical", cases: mix(1, 64, (i) => ({ status: 200, tier: TIERS4[i % 4] })), hostCallTarget: HOST_CALL_TARGET, rounds: r(61), iterations: 5_000 },
    { name: "no_server_timing", cases: mix(2, 64, (i) => ({ status: 200, tier: TIERS4[i % 4], appMs: undefined })), rounds: r(21), iterations: 4_000 },
    { name: "unknown_tier", cases: mix(3, 64, () => ({ status: 200, tier: undefined })), rounds: r(21), iterations: 4_000 },
    // max_series 16 (the minimum) against 64 services × 4 tiers: most requests fold into overflow.
    { name: "overflow", config: { max_series: 16 }, cases: mix(4, 256, (i) => ({ status: 200, tier: TIERS4[i % 4], destination: `svc-${i % 64}.shop.svc.cluster.local` })), rounds: r(21), iterations: 4_000 },
    { name: "inbound", cases: mix(5, 64, (i) => ({ direction: "inbound", destination: "checkout.shop.svc.cluster.local", mtls: true, status: 200, tier: TIERS4[i % 4] })), hostCallTarget: HOST_CALL_TARGET_INBOUND, rounds: r(21), iterations: 4_000 },
    { name: "realistic", cases: mix(6, 1024), rounds: r(21), iterations: 4_000 },
  ];
}

const moduleCache = new Map<string, WebAssembly.Module>();
async function moduleAt(path: string): Promise<WebAssembly.Module> {
  let m = moduleCache.get(path);
  if (!m) moduleCache.set(path, (m = await loadModule(readFileSync(path))));
  return m;
}

export interface Running { plugin: Plugin; vm: Vm; clock: ManualClock; driver: Driver; allocs?: AllocCounter }

/**
 * Where a typical request's time goes: host functions (by name) against the whole request, from
 * a run with timed imports. Diagnostic only (details), never guarded: the timers add their own
 * cost to each host call.
 */
async function hostTimeSplit(spec: MixSpec): Promise<Record<string, unknown>> {
  let r: Running | undefined;
  const { nsByImport } = await timingImports(async () => { r = await start(MESHLAT_WASM, spec); });
  try {
    await warmUp(r!);
    nsByImport.clear();
    const n = 50_000;
    const t0 = process.hrtime.bigint();
    await runSettling(r!, n);
    const total = Number(process.hrtime.bigint() - t0) / n;
    const byImport = Object.fromEntries([...nsByImport].sort((a, b) => b[1] - a[1]).map(([k, v]) => [k, Math.round(v / n)]));
    const host = Object.values(byImport).reduce((a, b) => a + b, 0);
    return { requestNs: Math.round(total), hostNs: host, hostShare: +(host / total).toFixed(3), byImportNs: byImport };
  } finally {
    r?.plugin.stop();
  }
}

export async function start(path: string, spec: MixSpec, probe = false): Promise<Running> {
  const clock = new ManualClock();
  const module = await moduleAt(path);
  const opts = {
    module, clock, node: NODE, workers: 1,
    configuration: pluginConfig({ flush_interval_ms: FLUSH_MS, ...spec.config }),
    clusters: { [AGGREGATOR_CLUSTER]: () => ({ headers: [[":status", "204"]] as [string, string][] }) },
    logLevel: "warn" as const,
  };
  const { result: plugin, instances } = probe ? await captureInstances(() => startPlugin(opts)) : { result: await startPlugin(opts), instances: [] };
  if (!plugin.accepted) throw new Error(`bench: ${path} rejected its configuration: ${plugin.workers[0]?.logs.map((l) => l.message).join(" | ")}`);
  const vm = plugin.workers[0];
  const running: Running = { plugin, vm, clock, driver: new Driver(vm, clock, spec.cases) };
  if (probe) running.allocs = allocCounter(instances, (vm as unknown as { g: { memory: WebAssembly.Memory } }).g.memory);
  return running;
}

/**
 * Heap bytes one series slot costs: what the probe build allocates while configuring with
 * max_series 2048, less what it allocates with 1024, per extra slot (series entry with its five
 * histograms, and its share of the hash index). Exact: the allocator's own counter.
 */
async function memoryPerSeries(spec: MixSpec): Promise<number> {
  const configured = async (maxSeries: number) => {
    const r = await start(PROBES.meshlat, { ...spec, config: { max_series: maxSeries } }, true);
    try { return r.allocs!.bytes(); } finally { r.plugin.stop(); }
  };
  return ((await configured(2048)) - (await configured(1024))) / 1024;
}

function failIfFailed(r: Running, what: string): void {
  if (r.vm.failed) throw new Error(`bench: ${what} VM failed: ${r.vm.failure?.message}`);
}

/**
 * Counts over `k` requests that fall between two ticks: warm up, fire a tick, then count; a
 * window that caught a tick (it always makes a proxy_http_call) is measured again.
 */
function countedWindow(r: Running, k: number, read: () => number): { perRequest: number; calls: Map<string, number> } {
  for (let attempt = 0; attempt < 4; attempt++) {
    r.vm.resetHostCalls();
    const before = read();
    r.driver.run(k);
    const after = read();
    const calls = new Map(r.vm.hostCalls);
    if (!calls.has("env.proxy_http_call")) return { perRequest: (after - before) / k, calls };
  }
  throw new Error("bench: every counting window caught a flush");
}

const WARMUP = 3000;
// The filter allocates its batch buffers on its first flushes (at most max_buffered_batches = 16
// of them, when the aggregator does not answer), and AssemblyScript doubles memory when it
// grows: steady state starts after more flushes than that.
const WARMUP_FLUSHES = 20;

/**
 * n requests, letting the host deliver the aggregator's answers every SETTLE_EVERY requests (the
 * host delivers http-call responses asynchronously; a filter that never hears back within its
 * 5 s call timeout retries, which a real proxy would not see). Same for every contender.
 */
const SETTLE_EVERY = 200; // × ≤ 20.5 ms virtual per request ≈ 4 s
export async function runSettling(r: Running, n: number): Promise<void> {
  for (let done = 0; done < n; done += SETTLE_EVERY) {
    r.driver.run(Math.min(SETTLE_EVERY, n - done));
    await r.plugin.settle();
  }
}

export async function warmUp(r: Running): Promise<void> {
  await runSettling(r, WARMUP);
  for (let i = 0; i < WARMUP_FLUSHES; i++) {
    r.driver.run(200);
    r.clock.advanceMs(FLUSH_MS); // fires exactly one tick
    await r.plugin.settle();
  }
}
const sp = (s: { q1: number; q3: number; min: number; max: number; n: number }) => ({ q1: s.q1, q3: s.q3, min: s.min, max: s.max, n: s.n });

const COUNTED = 400; // × ≤ 20.5 ms virtual per request ≈ 8 s, well inside one 60 s tick period

/**
 * The filter before wire v2 (bench/build.mjs --reference: compiled from git with today's
 * options), or undefined where git cannot supply it. Timed beside today's filter in the typical
 * mix's rounds: the two make the same host calls on the same requests, so their ratio is free of
 * the machine's speed and of the host's (which moves meshlat / SDK no-op from one process to the next).
 */
function referenceBuild(): { path: string; commit: string } | undefined {
  const b = spawnSync(process.execPath, ["bench/build.mjs", "--reference"], { encoding: "utf8" });
  const m = /REFERENCE_COMMIT = "([0-9a-f]+)"/.exec(readFileSync("bench/build.mjs", "utf8"));
  if (b.status !== 0 || !m) {
    console.error(`bench: no reference filter, filter.typical.ratio_vs_v1 skipped: ${b.stderr.trim().split("\n").pop()}`);
    return undefined;
  }
  const path = `bench/build/meshlat-${m[1]}.wasm`;
  return existsSync(path) ? { path, commit: m[1]! } : undefined;
}

export async function runFilter(opts: { quick: boolean; only?: string }): Promise<SubjectResult> {
  const metrics: Record<string, Metric> = {};
  const details: Record<string, unknown> = {};
  if (!existsSync(MESHLAT_WASM)) throw new Error(`bench: ${MESHLAT_WASM} missing (npm run build)`);
  const sizes: Record<string, number> = {};
  for (const [name, path] of Object.entries(MODULES)) sizes[name] = statSync(path).size;
  metrics["filter.wasm_bytes"] = metric("size", sizes.meshlat, "B", `optimized ${MESHLAT_WASM} (the shipped artifact)`, { target: { op: "<=", value: WASM_SIZE_TARGET } });
  details.wasmBytes = sizes;
  if (existsSync(PROBES.meshlat)) {
    metrics["filter.memory_per_series_bytes"] = metric("count", await memoryPerSeries(mixes(true)[0]!), "B/series",
      "linear memory one max_series slot allocates at configure time (series entry with its five exponential histograms, and its hash index share)",
      { target: { op: "<=", value: MEMORY_PER_SERIES_TARGET } });
  }

  const reference = opts.quick ? undefined : referenceBuild();

  for (const spec of mixes(opts.quick)) {
    if (opts.only && !spec.name.includes(opts.only)) continue;
    const d: Record<string, unknown> = {};
    // --- host calls per request (the timed builds), per contender
    const running = {} as Record<ModuleName, Running>;
    for (const name of Object.keys(MODULES) as ModuleName[]) running[name] = await start(MODULES[name], spec);
    try {
      const hostCalls: Record<string, unknown> = {};
      for (const name of Object.keys(MODULES) as ModuleName[]) {
        const r = running[name];
        await warmUp(r);
        const w = countedWindow(r, COUNTED, () => r.vm.hostCallTotal());
        failIfFailed(r, name);
        hostCalls[name] = { perRequest: w.perRequest, byFunction: Object.fromEntries([...w.calls].map(([f, n]) => [f, n / COUNTED])) };
        if (name === "meshlat") {
          metrics[`filter.${spec.name}.host_calls_per_request`] = metric("count", w.perRequest, "calls/req",
            `host calls per ${spec.name} request (meshlat, after warm-up, between flushes)`,
            spec.hostCallTarget ? { target: { op: "<=", value: spec.hostCallTarget } } : {});
        }
      }
      d.hostCalls = hostCalls;

      // --- allocations per request and per flush (probe builds)
      for (const name of Object.keys(PROBES) as (keyof typeof PROBES)[]) {
        if (!existsSync(PROBES[name])) continue;
        const p = await start(PROBES[name], spec, true);
        try {
          await warmUp(p);
          const w = countedWindow(p, COUNTED, () => p.allocs!.allocs());
          const a0 = p.allocs!.allocs();
          p.clock.advanceMs(FLUSH_MS); // one flush of what the counted window recorded
          await p.plugin.settle();
          const perFlush = p.allocs!.allocs() - a0;
          failIfFailed(p, `${name} probe`);
          if (name === "meshlat") {
            metrics[`filter.${spec.name}.allocs_per_request`] = metric("count", w.perRequest, "allocs/req",
              `heap allocations per ${spec.name} request after warm-up (probe build: every TLSF block allocated)`, { target: { op: "<=", value: 0 } });
            if (spec.name === "typical") metrics["filter.allocs_per_flush"] = metric("count", perFlush, "allocs", `heap allocations of one flush (tick, encode, proxy_http_call, response) after ${WARMUP_FLUSHES} warm-up flushes`);
          }
          if (name === "noop_sdk" && spec.name === "typical") {
            metrics["filter.noop_sdk.allocs_per_request"] = metric("info", w.perRequest, "allocs/req", "heap allocations per request of the SDK no-op (its per-stream context objects), for comparison");
          }
          d[`allocs_${name}`] = { perRequest: w.perRequest, perFlush };
        } finally {
          p.plugin.stop();
        }
      }

      // --- memory growth: linear memory before/after many requests (with flushes) after warm-up
      const m = running.meshlat;
      const memBefore = m.vm.memoryBytes();
      const timedRequests = spec.rounds > 0 ? spec.rounds * spec.iterations : 20_000;

      // --- per-request cost, interleaved
      if (spec.rounds > 0) {
        const contenders: Contender[] = (Object.keys(MODULES) as ModuleName[]).map((name) => ({ name, run: (n: number) => runSettling(running[name], n) }));
        let ref: Running | undefined;
        if (reference && spec.name === "typical") {
          ref = await start(reference.path, spec);
          await warmUp(ref);
          contenders.push({ name: `meshlat@${reference.commit}`, run: (n: number) => runSettling(ref!, n) });
        }
        const res = await interleave(contenders, { rounds: spec.rounds, iterations: spec.iterations, warmupRounds: 1, now: cpuNow })
          .finally(() => ref?.plugin.stop());
        if (ref) failIfFailed(ref, "reference");
        const [mesh, sdk, raw, old] = res;
        if (old) {
          const vsOld = summarize(pairedRatios(mesh.perRound, old.perRound));
          metrics[`filter.${spec.name}.ratio_vs_v1`] = metric("ratio", vsOld.median, "x",
            `meshlat / the filter before wire v2 (${reference!.commit}, same options) per ${spec.name} request, paired rounds (${spec.rounds}×${spec.iterations})`,
            { target: { op: "<=", value: REFERENCE_RATIO_TARGET }, spread: sp(vsOld) });
        }
        const vsSdk = summarize(pairedRatios(mesh.perRound, sdk.perRound));
        const vsRaw = summarize(pairedRatios(mesh.perRound, raw.perRound));
        // meshlat's own work above the host's floor, relative to the SDK no-op's (both minus the floor).
        const own = summarize(mesh.perRound.map((x, i) => (x - raw.perRound[i]) / Math.max(1, sdk.perRound[i] - raw.perRound[i])));
        // meshlat / SDK no-op depends on the process as well as on the filter: the same code
        // measured 1.11–1.20 in some processes and 1.32–1.45 in others (the host's own JS runs
        // slower there, and meshlat calls it 8 times a request), also with --predictable;
        // ratio_vs_v1 above is the one that holds still (0.97–1.02 in both kinds).
        // Only the inbound mix's is guarded (GUARDED_RATIOS); the others' ratios move by more
        // than the guard's tolerance between runs on a loaded 2-core machine and are shown only.
        // Inbound measured 1.15–1.28 over seven runs of the same code at load 7–12 (median 1.19,
        // −3%/+8% around it, inside the 15% tolerance) and 3.1–3.3 when the host re-encoded the
        // downstream peer per read: the guard tells those apart.
        metrics[`filter.${spec.name}.ratio_vs_noop_sdk`] = metric(GUARDED_RATIOS.has(spec.name) ? "ratio" : "info", vsSdk.median, "x",
          `meshlat / SDK no-op per ${spec.name} request, paired rounds (${spec.rounds}×${spec.iterations})`,
          spec.name === "typical" ? { target: { op: "<=", value: RATIO_TARGET }, spread: sp(vsSdk) } : { spread: sp(vsSdk) });
        metrics[`filter.${spec.name}.ratio_vs_floor`] = metric("info", vsRaw.median, "x", `meshlat / raw-ABI no-op (the host's own floor) per ${spec.name} request`, { spread: sp(vsRaw) });
        metrics[`filter.${spec.name}.ns_per_request`] = metric("info", mesh.summary.median, "ns/req", `meshlat, whole ${spec.name} request through the host (process CPU time)`, { spread: sp(mesh.summary) });
        if (spec.name === "typical") {
          metrics["filter.noop_sdk.ns_per_request"] = metric("info", sdk.summary.median, "ns/req", "SDK no-op, same requests, same run", { spread: sp(sdk.summary) });
          metrics["filter.noop_raw.ns_per_request"] = metric("info", raw.summary.median, "ns/req", "raw-ABI no-op (floor), same requests, same run", { spread: sp(raw.summary) });
        }
        if (spec.name === "typical" || spec.name === "inbound") {
          metrics[`filter.${spec.name}.own_cost_vs_sdk`] = metric("info", own.median, "x", `(meshlat − floor) / (SDK no-op − floor) per ${spec.name} request: the filter's own work (with the host calls it makes) against the SDK's`, { spread: sp(own) });
        }
        d.timing = Object.fromEntries(res.map((x) => [x.name, x.summary]));
        if (spec.name === "typical" || spec.name === "inbound") d.hostTimeSplit = await hostTimeSplit(spec);
      } else {
        await runSettling(m, timedRequests);
      }
      const growth = m.vm.memoryBytes() - memBefore;
      failIfFailed(m, "meshlat");
      metrics[`filter.${spec.name}.memory_growth_bytes`] = metric("count", growth, "B",
        `linear memory growth over ${timedRequests} ${spec.name} requests (with flushes) after warm-up (${WARMUP_FLUSHES} flushes)`, { target: { op: "<=", value: 0 } });
      d.memory = { before: memBefore, after: m.vm.memoryBytes(), requests: timedRequests, noopSdkBytes: running.noop_sdk.vm.memoryBytes() };
    } finally {
      for (const r of Object.values(running)) r.plugin.stop();
    }
    details[spec.name] = d;
  }
  return { metrics, details };
}
