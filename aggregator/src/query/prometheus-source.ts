// Window entries read from Prometheus instead of the local store, for `prometheus_url`: with
// several replicas each holds only the workloads pinned to it (docs/scale.md), so the views
// sum meshlat's series across replicas in PromQL and feed the same pure computations
// (query/latency.ts, query/graph.ts) as the local store does: the JSON is the same.
//
// Per label set: the counter and the classic buckets/sum/count of each timing, as their increase
// over the window per series (per replica), then summed `by` the ten labels (dropping
// instance/pod adds the replicas). Why not `increase()`: Prometheus extrapolates it (promql/
// functions.go, extrapolatedRate) and drops the first sample of a series that starts inside the
// range — a label set seen once (one 503) would count 0, and counts would not be whole numbers.
// Instead, per series (see windowIncrease): the last value in the window minus the last value
// before it (0 for a series born inside it), which keeps a replica that went away (its last
// sample) and bridges missed scrapes; a series with a counter reset in the window (a restarted
// replica) is summed step by step instead, each step's drop counting as a restart from 0. The
// classic buckets are powers of two in ms (CLASSIC_LE_MS), exact bucket boundaries of the
// scale-0 exponential histogram, so quantiles come at that resolution; counts and sums are exact.
import { AggError } from "../errors.ts";
import { ExpHist, CLASSIC_LE_EXP } from "../store/exp-histogram.ts";
import { WindowEntry } from "../store/windows.ts";
import { LABEL_NAMES, TIMING_NAMES } from "../wire/types.ts";

interface PromVector { metric: Record<string, string>; value: [number, string] }

const BY = LABEL_NAMES.join(",");
const LE_EXP = new Map<string, number>(CLASSIC_LE_EXP.map((k) => [String(2 ** k), k]));
const TOP_EXP = CLASSIC_LE_EXP[CLASSIC_LE_EXP.length - 1]!;
/** As the local store (AggregatorState.spanMs): rates never divide by less than a second. */
const MIN_SPAN_MS = 1_000;
/** Prometheus' default lookback delta: a series silent for longer counts as gone (or restarted). */
export const GAP_S = 300;

/** `metric{m1,m2}`; `matchers` are PromQL label matchers (see matcher()). */
export function selector(metric: string, matchers: readonly string[]): string {
  return matchers.length ? `${metric}{${matchers.join(",")}}` : metric;
}

/** A label matcher for one label value (PromQL string escaping). */
export function matcher(name: string, value: string): string {
  return `${name}=${JSON.stringify(value)}`;
}

/** A matcher for any of `values` exactly (`op` "!~": for none of them); RE2 metacharacters escaped. */
export function anyOf(name: string, values: readonly string[], op: "=~" | "!~" = "=~"): string {
  return `${name}${op}${JSON.stringify(values.map((v) => v.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")).join("|"))}`;
}

/**
 * PromQL: the increase of counter `metric` over the `windowS` ending at the evaluation time,
 * per series, summed `by` the ten labels (`extra`: further `by` labels, e.g. ",le").
 * - Instances without a restart or reset: last value in the window − last value in the GAP_S
 *   before it (or 0). A replica gone inside the window keeps its last sample; a missed scrape
 *   changes nothing.
 * - `resetInstances` (resetInstancesQuery): the sum of the increases between steps of `stepS`
 *   (the scrape interval), a step whose value dropped or that follows a gap counting its whole
 *   value (the counter restarted from 0). Costs window/step evaluations per series: only the
 *   restarted replicas' series pay it.
 */
export function windowIncrease(metric: string, matchers: readonly string[], windowS: number, stepS: number, resetInstances: readonly string[], extra = ""): string {
  const lastMinusBase = (m: string) => {
    const last = `last_over_time(${m}[${windowS}s])`;
    return `(${last} - (last_over_time(${m}[${GAP_S}s] offset ${windowS}s) or ${last} * 0))`;
  };
  const sum = (perSeries: string) => `sum by (${BY}${extra}) (${perSeries})`;
  if (resetInstances.length === 0) return sum(lastMinusBase(selector(metric, matchers)));
  const others = selector(metric, [...matchers, anyOf("instance", resetInstances, "!~")]);
  const m = selector(metric, [...matchers, anyOf("instance", resetInstances)]);
  const steps = `sum_over_time(((${m} - ${m} offset ${stepS}s) >= 0 or ${m} + 0)[${Math.max(stepS, windowS - stepS)}s:${stepS}s])`;
  return sum(`${lastMinusBase(others)} or ${steps}`);
}

/**
 * PromQL: the instances that restarted in the window or just before it (their start time
 * changed), or with a request counter reset (a label set that expired after series_ttl_s and
 * came back: its timings expire with it). A restart is caught even when the new counters passed
 * the old values, which resets() misses.
 */
export function resetInstancesQuery(matchers: readonly string[], windowS: number): string {
  const r = `${windowS + GAP_S}s`;
  return `count by (instance) (changes(meshlat_aggregator_start_time_seconds[${r}]) > 0) or count by (instance) (resets(${selector("meshlat_requests_total", matchers)}[${r}]) > 0)`;
}

/**
 * PromQL: the time (Unix s) of the oldest scrape of any replica within the window. With data
 * younger than the window, rates divide by the time since then, not by the nominal window
 * (the local store does the same, AggregatorState.spanMs).
 */
export function firstScrapeQuery(windowS: number, stepS: number): string {
  return `min(min_over_time(timestamp(meshlat_aggregator_series)[${windowS}s:${stepS}s]))`;
}

export class PrometheusSource {
  /** `stepS`: the scrape interval of meshlat's job (prometheus_step_s). */
  constructor(private readonly baseUrl: string, private readonly stepS: number, private readonly timeoutMs = 10_000) {}

  private async query(expr: string, timeS: number): Promise<PromVector[]> {
    const u = new URL("api/v1/query", this.baseUrl.endsWith("/") ? this.baseUrl : this.baseUrl + "/");
    u.searchParams.set("query", expr);
    u.searchParams.set("time", String(timeS));
    let body: { status?: string; error?: string; data?: { resultType?: string; result?: PromVector[] } };
    try {
      const res = await fetch(u, { signal: AbortSignal.timeout(this.timeoutMs) });
      body = await res.json() as typeof body;
    } catch (err) {
      throw new AggError("AGG_ERR_PROMETHEUS", `prometheus_url ${this.baseUrl}: ${(err as Error).message}`);
    }
    if (body.status !== "success" || body.data?.resultType !== "vector") {
      throw new AggError("AGG_ERR_PROMETHEUS", `prometheus_url ${this.baseUrl}: ${body.error ?? "unexpected answer"} (query ${expr})`);
    }
    return body.data.result ?? [];
  }

  /**
   * One window entry per label set active in the window (ending at `nowMs`), optionally only
   * those matching `matchers` (e.g. matcher("destination_service", svc)), and the time the
   * window's data covers (the divisor of its rates).
   */
  async window(nowMs: number, windowMs: number, cap: number, matchers: readonly string[] = []): Promise<{ entries: WindowEntry[]; spanMs: number }> {
    const step = this.stepS;
    // Evaluated at the next multiple of the step: the subquery steps then end at it exactly and
    // cover everything scraped until now.
    const t = Math.ceil(nowMs / 1000 / step) * step;
    const w = Math.round(windowMs / 1000);
    const [resets, first] = await Promise.all([this.query(resetInstancesQuery(matchers, w), t), this.query(firstScrapeQuery(w, step), t)]);
    const restarted = resets.map((r) => r.metric.instance ?? "").filter(Boolean);
    const inc = (metric: string, extra = "") => this.query(windowIncrease(metric, matchers, w, step, restarted, extra), t);
    const [counts, ...perTiming] = await Promise.all([
      inc("meshlat_requests_total"),
      ...TIMING_NAMES.flatMap((name) => {
        const f = `meshlat_${name}_duration_milliseconds`;
        return [inc(`${f}_bucket`, ",le"), inc(`${f}_sum`), inc(`${f}_count`)];
      }),
    ]);
    const since = first.length > 0 ? Number(first[0]!.value[1]) * 1000 : -Infinity;
    const spanMs = Math.max(MIN_SPAN_MS, Math.min(windowMs, nowMs - since));
    return { entries: this.toEntries(counts!, perTiming, cap), spanMs };
  }

  private toEntries(counts: PromVector[], perTiming: PromVector[][], cap: number): WindowEntry[] {
    const byKey = new Map<string, WindowEntry>();
    const keyOf = (m: Record<string, string>) => LABEL_NAMES.map((n) => m[n] ?? "").join("\u0000");
    for (const s of counts) {
      const c = Math.max(0, Number(s.value[1]));
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
        const n = Math.max(0, Number(s.value[1]));
        if (!e || n === 0) continue;
        const h = new ExpHist(cap);
        h.n = n;
        e.timings[ti] = h;
        hists.set(keyOf(s.metric), h);
      }
      for (const s of sums) {
        const h = hists.get(keyOf(s.metric));
        if (h) h.sumUs = Math.round(Number(s.value[1]) * 1000);
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
        arr[exp - CLASSIC_LE_EXP[0]!] = Math.max(0, Number(s.value[1]));
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
