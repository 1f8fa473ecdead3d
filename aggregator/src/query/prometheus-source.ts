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
//
// Only what is there and what the view reads is asked: a label-values call (an index lookup, no
// samples read) names the timing families present in the window, so a Prometheus that stores
// native histograms gets no classic-form queries and one that scrapes text no native ones, and a
// view that reads only some timings (the graph: request) asks only for those.
import { AggError } from "../errors.ts";
import { ExpHist, CLASSIC_LE_EXP } from "../store/exp-histogram.ts";
import { WindowEntry } from "../store/windows.ts";
import { LABEL_NAMES, TIMING_NAMES } from "../wire/types.ts";
import { addNative } from "./native-shape.ts";
import { keyOf, num } from "./prom-vector.ts";
import type { PromVector } from "./prom-vector.ts";
import { edgesQuery, lives, selector, startTimesQuery, unevenIncrease, windowIncrease } from "./promql.ts";
import type { Special } from "./promql.ts";

const LE_EXP = new Map<string, number>(CLASSIC_LE_EXP.map((k) => [String(2 ** k), k]));
const TOP_EXP = CLASSIC_LE_EXP[CLASSIC_LE_EXP.length - 1]!;
/** As the local store (AggregatorState.spanMs): rates never divide by less than a second. */
const MIN_SPAN_MS = 1_000;
const ALL_TIMINGS: readonly number[] = TIMING_NAMES.map((_, i) => i);

export class PrometheusSource {
  /** `stepS`: the scrape interval of meshlat's job (prometheus_step_s). */
  constructor(private readonly baseUrl: string, private readonly stepS: number, private readonly timeoutMs = 10_000) {}

  /** GET `path` of the HTTP API with `params`; the answer's `data` when `ok` accepts it. */
  private async call<D>(path: string, params: Record<string, string>, ok: (data: unknown) => data is D, what: string): Promise<D> {
    const u = new URL(path, this.baseUrl.endsWith("/") ? this.baseUrl : this.baseUrl + "/");
    for (const [k, v] of Object.entries(params)) u.searchParams.set(k, v);
    let body: { status?: string; error?: string; data?: unknown };
    try {
      const res = await fetch(u, { signal: AbortSignal.timeout(this.timeoutMs) });
      body = await res.json() as typeof body;
    } catch (err) {
      throw new AggError("AGG_ERR_PROMETHEUS", `prometheus_url ${this.baseUrl}: ${(err as Error).message}`);
    }
    if (body.status !== "success" || !ok(body.data)) {
      throw new AggError("AGG_ERR_PROMETHEUS", `prometheus_url ${this.baseUrl}: ${body.error ?? "unexpected answer"} (${what})`);
    }
    return body.data;
  }

  private async get<T>(expr: string, timeS: number, resultType: "vector" | "matrix"): Promise<T[]> {
    const isResult = (d: unknown): d is { resultType: string; result?: T[] } => (d as { resultType?: string } | undefined)?.resultType === resultType;
    const data = await this.call("api/v1/query", { query: expr, time: String(timeS) }, isResult, `query ${expr}`);
    return data.result ?? [];
  }

  /** The timing families with series in [fromS, toS] (matching `matchers`): their names, classic (`_count`) or native (bare). */
  private async families(matchers: readonly string[], fromS: number, toS: number): Promise<Set<string>> {
    const sel = `{${[`__name__=~"meshlat_(${TIMING_NAMES.join("|")})_duration_milliseconds(_count)?"`, ...matchers].join(",")}}`;
    const isNames = (d: unknown): d is string[] => Array.isArray(d) && d.every((x) => typeof x === "string");
    return new Set(await this.call("api/v1/label/__name__/values", { "match[]": sel, start: String(fromS), end: String(toS) }, isNames, `names of ${sel}`));
  }

  private query(expr: string, timeS: number): Promise<PromVector[]> {
    return this.get<PromVector>(expr, timeS, "vector");
  }

  /**
   * One window entry per label set active in the window (ending at `nowMs`), optionally only
   * those matching `matchers` (e.g. matcher("destination_service", svc)), and the time the
   * window's data covers (the divisor of its rates). `timings`: the indexes (TIMING_NAMES) of the
   * timings the view reads; the entries' other timings stay empty.
   */
  async window(nowMs: number, windowMs: number, cap: number, matchers: readonly string[] = [], timings: readonly number[] = ALL_TIMINGS): Promise<{ entries: WindowEntry[]; spanMs: number }> {
    const step = this.stepS;
    // Evaluated at the next multiple of the step: subquery steps (native histograms) then end at
    // it exactly and cover everything scraped until now.
    const t = Math.ceil(nowMs / 1000 / step) * step;
    const w = Math.round(windowMs / 1000);
    const [starts, edges, present] = await Promise.all([
      this.get<{ metric: Record<string, string>; values: [number, string][] }>(startTimesQuery(w), t, "matrix"),
      this.query(edgesQuery(matchers, w), t),
      this.families(matchers, t - w, t),
    ]);
    const { restarts, firstScrapeMs } = lives(starts, t * 1000 - w * 1000);
    const edge = (kind: string) => edges.filter((r) => r.metric.meshlat_edge === kind).map((r) => r.metric.instance ?? "").filter((i) => i !== "" && !restarts.has(i));
    const drops = edge("drop"), stale = edge("stale").filter((i) => !drops.includes(i));
    const special: Special = { restarts, drops, stale };
    const inc = (metric: string, extra = "") => this.query(windowIncrease(metric, matchers, w, step, t, special, extra), t);
    // Each timing as classic buckets/sum/count (a Prometheus that scrapes text), or as native
    // histograms (one that scrapes protobuf): their counts, sums and bucket shape from the
    // histograms at the window's end and start, per series, and through the same increases for
    // the replicas that restarted, dropped or lost a series (native-shape.ts). Both forms only while a Prometheus changed its scrape in the window.
    const classicQueries = (f: string) => Promise.all([inc(`${f}_bucket`, ",le"), inc(`${f}_sum`), inc(`${f}_count`)]);
    const nativeQueries = (f: string) => {
      const nat = (of: (sel: string) => string) => {
        const q = unevenIncrease(f, matchers, w, step, t, special, of);
        return q ? this.query(q, t) : Promise.resolve([]);
      };
      return Promise.all([nat((x) => `histogram_count(${x})`), nat((x) => `histogram_sum(${x})`), this.query(selector(f, matchers), t), this.query(`${selector(f, matchers)} offset ${w}s`, t)]);
    };
    const family = (ti: number) => `meshlat_${TIMING_NAMES[ti]}_duration_milliseconds`;
    const wanted = new Set(timings);
    const forms = (suffix: string) => TIMING_NAMES.map((_, ti) => wanted.has(ti) && present.has(family(ti) + suffix));
    const [isClassic, isNative] = [forms("_count"), forms("")];
    const [counts, classic, native] = await Promise.all([
      inc("meshlat_requests_total"),
      Promise.all(TIMING_NAMES.map((_, ti) => (isClassic[ti] ? classicQueries(family(ti)) : Promise.resolve(undefined)))),
      Promise.all(TIMING_NAMES.map((_, ti) => (isNative[ti] ? nativeQueries(family(ti)) : Promise.resolve(undefined)))),
    ]);
    const spanMs = Math.max(MIN_SPAN_MS, Math.min(windowMs, nowMs - firstScrapeMs));
    const entries = this.toEntries(counts, classic, cap);
    addNative(entries, native, cap, new Set([...restarts.keys(), ...drops]), new Set([...restarts.keys(), ...drops, ...stale]));
    return { entries, spanMs };
  }

  /** `classic[ti]`: timing ti's [buckets, sums, counts] increases, or undefined when not asked. */
  private toEntries(counts: PromVector[], classic: (readonly PromVector[][] | undefined)[], cap: number): WindowEntry[] {
    const byKey = new Map<string, WindowEntry>();
    for (const s of counts) {
      const c = num(s);
      if (c === 0) continue;
      const e = new WindowEntry(LABEL_NAMES.map((n) => s.metric[n] ?? ""), cap);
      e.count = c;
      byKey.set(keyOf(s.metric), e);
    }
    classic.forEach((queried, ti) => {
      if (!queried) return;
      const [buckets, sums, ns] = queried as [PromVector[], PromVector[], PromVector[]];
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
