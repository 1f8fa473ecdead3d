// Flush: the cost of one tick that encodes and sends a batch of N series, and the real filter's
// bytes on the wire per request at 1,000 requests/s with 1 s flushes (realistic mix, requests
// overlapping in time as they do in a proxy), against one access-log line / JSON record each.
import { readFileSync, existsSync } from "node:fs";
import { loadModule, startPlugin, ManualClock } from "../test/host/index.ts";
import type { HttpStream, Plugin } from "../test/host/index.ts";
import { decodeMsgpack } from "../aggregator/src/wire/decode.ts";
import { Driver, mix } from "./lib/host-driver.ts";
import type { Prepared } from "./lib/host-driver.ts";
import { metric } from "./lib/results.ts";
import type { Metric, SubjectResult } from "./lib/results.ts";
import { summarize } from "./lib/stats.ts";
import { AGGREGATOR_CLUSTER, NODE, pluginConfig } from "./lib/traffic.ts";
import { MESHLAT_WASM, TIERS4 } from "./filter.ts";
import { RATE, WIRE_TARGET, WIRE_TARGET_2_WORKERS, postOverheadBytes } from "./wire.ts";

interface Sent { bytes: number; headerBytes: number; body: Uint8Array }

async function startMeshlat(config: Record<string, unknown>, workers: number, sent: Sent[]): Promise<{ plugin: Plugin; clock: ManualClock }> {
  const clock = new ManualClock({ wallNs: BigInt(Date.UTC(2026, 10, 27, 4)) * 1_000_000n });
  const plugin = await startPlugin({
    module: await loadModule(readFileSync(MESHLAT_WASM)), clock, node: NODE, workers,
    configuration: pluginConfig(config),
    clusters: {
      [AGGREGATOR_CLUSTER]: (req) => {
        sent.push({ bytes: req.body.length, headerBytes: req.headers.reduce((n, [k, v]) => n + k.length + v.length + 4, 0), body: req.body });
        return { headers: [[":status", "204"]] };
      },
    },
    logLevel: "warn",
  });
  if (!plugin.accepted) throw new Error("bench: meshlat rejected the flush benchmark's configuration");
  return { plugin, clock };
}

/** Median wall time of one tick that flushes n distinct series. */
async function tickCost(n: number, reps: number): Promise<{ us: ReturnType<typeof summarize>; bytes: number }> {
  const sent: Sent[] = [];
  const { plugin, clock } = await startMeshlat({ flush_interval_ms: 60_000, max_series: 4096 }, 1, sent);
  try {
    const vm = plugin.workers[0];
    // n services, one request each, each its own label tuple; tiny latencies keep the fill far
    // from the next tick.
    const cases: Prepared[] = mix(21, n, (i) => ({ status: 200, tier: "free", destination: `svc-${i}.shop.svc.cluster.local`, upstreamMs: 0.02, responseMs: 0.01 }));
    const driver = new Driver(vm, clock, cases);
    const times: number[] = [];
    for (let r = 0; r < reps + 1; r++) {
      driver.run(n);
      const before = sent.length;
      const t0 = process.hrtime.bigint();
      clock.advanceMs(60_000); // exactly one tick
      const t1 = process.hrtime.bigint();
      await plugin.settle();
      if (sent.length !== before + 1) throw new Error(`bench: expected one batch per tick, got ${sent.length - before}`);
      if (r > 0) times.push(Number(t1 - t0) / 1000); // the first tick also warms up the encoder
    }
    if (vm.failed) throw new Error(`bench: meshlat VM failed: ${vm.failure?.message}`);
    return { us: summarize(times), bytes: sent[sent.length - 1].bytes };
  } finally {
    plugin.stop();
  }
}

/**
 * `seconds` of traffic at RATE requests/s, spread over `workers` VMs round-robin, each request
 * overlapping the next as in a real proxy (event-driven on the manual clock), then the last
 * flush. Returns the batches sent and the requests they account for.
 */
async function wireAtRate(seconds: number, workers: number, mixName: "typical" | "realistic"): Promise<{ requests: number; sent: Sent[]; counted: number; retries: number }> {
  const sent: Sent[] = [];
  const { plugin, clock } = await startMeshlat({ flush_interval_ms: 1000 }, workers, sent);
  try {
    const total = RATE * seconds;
    const cases = mixName === "typical" ? mix(1, total, (i) => ({ status: 200, tier: TIERS4[i % 4] })) : mix(6, total);
    type Ev = { t: bigint; j: number; phase: 0 | 1 | 2 };
    const stepNs = BigInt(1e9 / RATE);
    const evs: Ev[] = [];
    cases.forEach((c, j) => {
      const s = BigInt(j) * stepNs + 1n;
      evs.push({ t: s, j, phase: 0 }, { t: s + c.upstreamNs, j, phase: 1 }, { t: s + c.upstreamNs + c.responseNs, j, phase: 2 });
    });
    evs.sort((a, b) => (a.t < b.t ? -1 : a.t > b.t ? 1 : a.phase - b.phase));
    const open = new Map<number, HttpStream>();
    let now = 0n;
    let nextSettle = 100_000_000n;
    for (const e of evs) {
      // Let the aggregator's answers reach the filter as they would within milliseconds: the
      // host delivers http-call responses asynchronously, and a filter that never hears back
      // times out and retries.
      if (e.t >= nextSettle) { await plugin.settle(); nextSettle += 100_000_000n; }
      if (e.t > now) { clock.advanceNs(e.t - now); now = e.t; }
      const c = cases[e.j];
      if (e.phase === 0) {
        const s = plugin.workers[e.j % workers].stream(c.info);
        s.requestHeaders(c.reqHeaders, true);
        open.set(e.j, s);
      } else if (e.phase === 1) {
        open.get(e.j)!.responseHeaders(c.respHeaders, false);
      } else {
        const s = open.get(e.j)!;
        s.responseBody(c.body, true);
        s.log();
        s.done();
        open.delete(e.j);
      }
    }
    clock.advanceMs(2000);
    await plugin.settle();
    for (const vm of plugin.workers) if (vm.failed) throw new Error(`bench: meshlat VM failed: ${vm.failure?.message}`);
    // Cross-check with the aggregator's decoder: the batches account for every request.
    let counted = 0;
    const seen = new Set<string>();
    let retries = 0;
    for (const s of sent) {
      const b = decodeMsgpack(s.body) as { vm: string; seq: number | bigint; series: [unknown, number | bigint, unknown][] };
      const key = `${b.vm}/${b.seq}`;
      if (seen.has(key)) { retries++; continue; } // a retry: the aggregator drops it as a duplicate
      seen.add(key);
      for (const ser of b.series) counted += Number(ser[1]);
    }
    return { requests: total, sent, counted, retries };
  } finally {
    plugin.stop();
  }
}

export async function runFlush(opts: { quick: boolean }): Promise<SubjectResult> {
  if (!existsSync(MESHLAT_WASM)) throw new Error(`bench: ${MESHLAT_WASM} missing (npm run build)`);
  const metrics: Record<string, Metric> = {};
  const details: Record<string, unknown> = {};
  if (!opts.quick) {
    const ticks: Record<string, unknown> = {};
    for (const n of [10, 100, 1000]) {
      const t = await tickCost(n, n >= 1000 ? 5 : 9);
      metrics[`flush.tick_${n}_series.us`] = metric("info", t.us.median, "µs", `one tick flushing ${n} series: encode + proxy_http_call (${t.bytes} B body)`,
        { spread: { q1: t.us.q1, q3: t.us.q3, min: t.us.min, max: t.us.max, n: t.us.n } });
      ticks[n] = { us: t.us, bytes: t.bytes, bytesPerSeries: t.bytes / n };
    }
    details.ticks = ticks;
  }
  const seconds = 10; // cheap (event-driven on the manual clock); 10 windows keep the edge effect of the last partial one small
  const runs = [
    { key: "wire.filter.typical", mix: "typical", workers: 1, what: "typical mix (outbound 200s with Server-Timing: 3 services × 4 tiers)" },
    { key: "wire.filter.realistic", mix: "realistic", workers: 1, what: "realistic mix (3 services × 4 tiers + missing tier, 1.5% 503, 0.5% 404)" },
    { key: "wire.filter.realistic_2_workers", mix: "realistic", workers: 2, what: "realistic mix over 2 worker VMs (a sidecar with proxy concurrency 2: Istio's former default, now derived from the CPU limit; requests round-robin)" },
  ] as const;
  for (const r of runs) {
    const w = await wireAtRate(seconds, r.workers, r.mix);
    const body = w.sent.reduce((n, s) => n + s.bytes, 0);
    const withHttp = w.sent.reduce((n, s) => n + s.bytes + postOverheadBytes(s.bytes), 0);
    const seriesSent = w.sent.reduce((n, s) => n + (decodeMsgpack(s.body) as { series: unknown[] }).series.length, 0);
    metrics[`${r.key}.bytes_per_request`] = metric("count", body / w.requests, "B/req",
      `real filter: batch bodies per request at ${RATE} req/s, 1 s flushes, ${r.what}`,
      { target: { op: "<=", value: r.workers === 1 ? WIRE_TARGET : WIRE_TARGET_2_WORKERS } });
    if (r.mix === "realistic" && r.workers === 1) {
      metrics[`${r.key}.with_http_bytes_per_request`] = metric("count", withHttp / w.requests, "B/req", "the same plus an HTTP/1.1 POST's request line and headers (estimate)");
      metrics[`${r.key}.bytes_per_series`] = metric("count", body / seriesSent, "B/series", "batch bytes per series sent: bytes/request ≈ this × series per flush / requests per flush");
    }
    details[r.key] = { requests: w.requests, batches: w.sent.length, retries: w.retries, bodyBytes: body, seriesSent, requestsInBatches: w.counted, filterHeaderBytes: w.sent[0]?.headerBytes };
    if (w.counted !== w.requests) throw new Error(`bench: ${r.key}: batches account for ${w.counted} of ${w.requests} requests`);
  }
  return { metrics, details };
}
