// Window entries read from Prometheus instead of the local store, for `prometheus_url`: with
// several replicas each holds only the workloads pinned to it (docs/scale.md), so the views
// sum meshlat's series across replicas in PromQL and feed the same pure computations
// (query/latency.ts, query/graph.ts) as the local store does: the JSON is the same.
//
// Per label set: the request counter and each timing — classic buckets/sum/count, or a native
// histogram (native-shape.ts) — as their increase over the window per series, summed across
// replicas (promql.ts). The classic buckets are powers of two in ms (CLASSIC_LE_MS), exact bucket
// boundaries of the scale-0 exponential histogram, so their quantiles come at that resolution;
// counts and sums are exact.
import { AggError } from "../errors.ts";
import { ExpHist, CLASSIC_LE_EXP } from "../store/exp-histogram.ts";
import { WindowEntry } from "../store/windows.ts";
import { LABEL_NAMES, TIMING_NAMES } from "../wire/types.ts";
import { addNative } from "./native-shape.ts";
import { keyOf, num } from "./prom-vector.ts";
import type { PromVector } from "./prom-vector.ts";
import { dropsQuery, lives, selector, startTimesQuery, windowIncrease } from "./promql.ts";
import type { Special } from "./promql.ts";

const LE_EXP = new Map<string, number>(CLASSIC_LE_EXP.map((k) => [String(2 ** k), k]));
const TOP_EXP = CLASSIC_LE_EXP[CLASSIC_LE_EXP.length - 1]!;
/** As the local store (AggregatorState.spanMs): rates never divide by less than a second. */
const MIN_SPAN_MS = 1_000;

export class PrometheusSource {
  /** `stepS`: the scrape interval of meshlat's job (prometheus_step_s). */
  constructor(private readonly baseUrl: string, private readonly stepS: number, private readonly timeoutMs = 10_000) {}

  private async get<T>(expr: string, timeS: number, resultType: "vector" | "matrix"): Promise<T[]> {
    const u = new URL("api/v1/query", this.baseUrl.endsWith("/") ? this.baseUrl : this.baseUrl + "/");
    u.searchParams.set("query", expr);
    u.searchParams.set("time", String(timeS));
    let body: { status?: string; error?: string; data?: { resultType?: string; result?: T[] } };
    try {
      const res = await fetch(u, { signal: AbortSignal.timeout(this.timeoutMs) });
      body = await res.json() as typeof body;
    } catch (err) {
      throw new AggError("AGG_ERR_PROMETHEUS", `prometheus_url ${this.baseUrl}: ${(err as Error).message}`);
    }
    if (body.status !== "success" || body.data?.resultType !== resultType) {
      throw new AggError("AGG_ERR_PROMETHEUS", `prometheus_url ${this.baseUrl}: ${body.error ?? "unexpected answer"} (query ${expr})`);
    }
    return body.data.result ?? [];
  }

  private query(expr: string, timeS: number): Promise<PromVector[]> {
    return this.get<PromVector>(expr, timeS, "vector");
  }

  /**
   * One window entry per label set active in the window (ending at `nowMs`), optionally only
   * those matching `matchers` (e.g. matcher("destination_service", svc)), and the time the
   * window's data covers (the divisor of its rates).
   */
  async window(nowMs: number, windowMs: number, cap: number, matchers: readonly string[] = []): Promise<{ entries: WindowEntry[]; spanMs: number }> {
    const step = this.stepS;
    // Evaluated at the next multiple of the step: subquery steps (native histograms) then end at
    // it exactly and cover everything scraped until now.
    const t = Math.ceil(nowMs / 1000 / step) * step;
    const w = Math.round(windowMs / 1000);
    const [starts, dropped] = await Promise.all([
      this.get<{ metric: Record<string, string>; values: [number, string][] }>(startTimesQuery(w), t, "matrix"),
      this.query(dropsQuery(matchers, w), t),
    ]);
    const { restarts, firstScrapeMs } = lives(starts, t * 1000 - w * 1000);
    const special: Special = { restarts, drops: dropped.map((r) => r.metric.instance ?? "").filter((i) => i !== "" && !restarts.has(i)) };
    const inc = (metric: string, extra = "") => this.query(windowIncrease(metric, matchers, w, step, t, special, extra), t);
    // The same timings as native histograms (a Prometheus that scrapes protobuf): counts and sums
    // through the same increases; the bucket shape from the histograms at the window's end and
    // start, per series (native-shape.ts). Only one of the two forms finds series.
    const nativeQueries = TIMING_NAMES.flatMap((name) => {
      const f = `meshlat_${name}_duration_milliseconds`;
      const nat = (of: (sel: string) => string) => this.query(windowIncrease(f, matchers, w, step, t, special, "", of), t);
      return [nat((x) => `histogram_count(${x})`), nat((x) => `histogram_sum(${x})`), this.query(selector(f, matchers), t), this.query(`${selector(f, matchers)} offset ${w}s`, t)];
    });
    const [[counts, ...perTiming], native] = await Promise.all([Promise.all([
      inc("meshlat_requests_total"),
      ...TIMING_NAMES.flatMap((name) => {
        const f = `meshlat_${name}_duration_milliseconds`;
        return [inc(`${f}_bucket`, ",le"), inc(`${f}_sum`), inc(`${f}_count`)];
      }),
    ]), Promise.all(nativeQueries)]);
    const spanMs = Math.max(MIN_SPAN_MS, Math.min(windowMs, nowMs - firstScrapeMs));
    const entries = this.toEntries(counts!, perTiming, cap);
    addNative(entries, native, cap, new Set([...restarts.keys(), ...special.drops]));
    return { entries, spanMs };
  }

  private toEntries(counts: PromVector[], perTiming: PromVector[][], cap: number): WindowEntry[] {
    const byKey = new Map<string, WindowEntry>();
    for (const s of counts) {
      const c = num(s);
      if (c === 0) continue;
      const e = new WindowEntry(LABEL_NAMES.map((n) => s.metric[n] ?? ""), cap);
      e.count = c;
      byKey.set(keyOf(s.metric), e);
    }
    TIMING_NAMES.forEach((_, ti) => {
      const [buckets, sums, ns] = [perTiming[ti * 3]!, perTiming[ti * 3 + 1]!, perTiming[ti * 3 + 2]!];
      const hists = new Map<string, ExpHist>();
      for (const s of ns) {
        const e = byKey.get(keyOf(s.metric));
        const n = num(s);
        if (!e || n === 0) continue;
        const h = new ExpHist(cap);
        h.n = n;
        e.timings[ti] = h;
        hists.set(keyOf(s.metric), h);
      }
      for (const s of sums) {
        const h = hists.get(keyOf(s.metric));
        if (h) h.sumUs = Math.round(num(s) * 1000);
      }
      // Cumulative le counts → per-bucket counts at scale 0 (+Inf at the last finite bound, as v1).
      const cum = new Map<string, number[]>();
      for (const s of buckets) {
        const k = keyOf(s.metric);
        if (!hists.has(k)) continue;
        const le = s.metric.le!;
        const exp = le === "+Inf" ? TOP_EXP + 1 : LE_EXP.get(String(Number(le)));
        if (exp === undefined) continue;
        let arr = cum.get(k);
        if (!arr) cum.set(k, (arr = new Array<number>(CLASSIC_LE_EXP.length + 1).fill(0)));
        arr[exp - CLASSIC_LE_EXP[0]!] = num(s);
      }
      for (const [k, arr] of cum) {
        const h = hists.get(k)!;
        let below = 0;
        for (let i = 0; i < arr.length; i++) {
          const c = Math.max(0, arr[i]! - below);
          below = Math.max(below, arr[i]!);
          if (c > 0) h.addBucket(0, Math.min(CLASSIC_LE_EXP[0]! + i, TOP_EXP), c);
        }
      }
    });
    return [...byKey.values()];
  }
}
