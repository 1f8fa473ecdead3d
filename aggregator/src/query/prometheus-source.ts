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
// Native histograms (protobuf scrapes): see addNative.
import { AggError } from "../errors.ts";
import { ExpHist, CLASSIC_LE_EXP, MAX_SCALE, MIN_SCALE } from "../store/exp-histogram.ts";
import { WindowEntry } from "../store/windows.ts";
import { LABEL_NAMES, TIMING_NAMES } from "../wire/types.ts";

/** A native histogram as the query API gives it: buckets are [boundary rule, lower, upper, count]. */
interface PromHistogram { count: string; sum: string; buckets?: [number, string, string, string][] }
interface PromVector { metric: Record<string, string>; value?: [number, string]; histogram?: [number, PromHistogram] }

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
export function windowIncrease(metric: string, matchers: readonly string[], windowS: number, stepS: number, resetInstances: readonly string[], extra = "", of?: (sel: string) => string): string {
  // A float function of a native histogram (histogram_count) has no range selector of its own in
  // 2.42 (last_over_time ignores histogram samples): it is sampled by a subquery at the step.
  const range = (m: string, r: number) => (of ? `${of(m)}[${r}s:${stepS}s]` : `${m}[${r}s]`);
  const at = (m: string) => (of ? of(m) : m);
  const lastMinusBase = (m: string) => {
    const last = `last_over_time(${range(m, windowS)})`;
    return `(${last} - (last_over_time(${range(m, GAP_S)} offset ${windowS}s) or ${last} * 0))`;
  };
  const sum = (perSeries: string) => `sum by (${BY}${extra}) (${perSeries})`;
  if (resetInstances.length === 0) return sum(lastMinusBase(selector(metric, matchers)));
  const others = selector(metric, [...matchers, anyOf("instance", resetInstances, "!~")]);
  const m = selector(metric, [...matchers, anyOf("instance", resetInstances)]);
  const steps = `sum_over_time(((${at(m)} - ${at(`${m} offset ${stepS}s`)}) >= 0 or ${at(m)} + 0)[${Math.max(stepS, windowS - stepS)}s:${stepS}s])`;
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

/** A sample's float value, at least 0 (NaN, e.g. from an empty histogram, counts as 0). */
const num = (s: PromVector): number => { const v = Number(s.value?.[1]); return v > 0 ? v : 0; };
const keyOf = (m: Record<string, string>) => LABEL_NAMES.map((n) => m[n] ?? "").join("\u0000");

/**
 * Adds one native histogram's buckets to `h`, times `sign` (-1: the window's start is
 * subtracted). Prometheus numbers native buckets as ExpHist does: bucket i of schema s has
 * upper bound 2^(i/2^s); the schema is read off a bucket's bounds.
 */
function addNativeBuckets(h: ExpHist, p: PromHistogram, sign: number): void {
  for (const [, lo, hi, c] of p.buckets ?? []) {
    const lower = Number(lo), upper = Number(hi), count = Number(c) * sign;
    if (!(upper > 0)) continue;
    if (!(lower > 0)) { h.addZero(count); continue; }
    const s = Math.round(-Math.log2(Math.log2(upper / lower)));
    if (s < MIN_SCALE || s > MAX_SCALE) continue;
    h.addBucket(s, Math.round(Math.log2(upper) * 2 ** s), count);
  }
}

/**
 * Native histograms into the entries: n and sum from the exact increases, the bucket shape
 * (which drives the quantiles) as end − start per series. A series whose count dropped or whose
 * replica restarted adds its end only; a gone replica's series add no shape (2.42 keeps no
 * last_over_time of a histogram), their counts and sums still count.
 */
function addNative(entries: WindowEntry[], native: PromVector[][], cap: number, restarted: ReadonlySet<string>): void {
  const byKey = new Map(entries.map((e) => [LABEL_NAMES.map((_, i) => e.labels[i]).join("\u0000"), e]));
  TIMING_NAMES.forEach((_, ti) => {
    const [ns, sums, ends, starts] = native.slice(ti * 4, ti * 4 + 4) as [PromVector[], PromVector[], PromVector[], PromVector[]];
    const hists = new Map<string, ExpHist>();
    for (const s of ns) {
      const k = keyOf(s.metric), e = byKey.get(k), n = num(s);
      if (!e || n === 0 || e.timings[ti]) continue; // a classic timing of the label set wins
      const h = new ExpHist(cap);
      h.n = Math.round(n);
      e.timings[ti] = h;
      hists.set(k, h);
    }
    for (const s of sums) {
      const h = hists.get(keyOf(s.metric));
      if (h) h.sumUs = Math.round(num(s) * 1000);
    }
    const start = new Map(starts.filter((s) => s.histogram).map((s) => [JSON.stringify(s.metric), s.histogram![1]]));
    for (const s of ends) {
      const h = hists.get(keyOf(s.metric));
      if (!h || !s.histogram) continue;
      const end = s.histogram[1];
      addNativeBuckets(h, end, 1);
      const was = start.get(JSON.stringify(s.metric));
      if (was && Number(was.count) <= Number(end.count) && !restarted.has(s.metric.instance ?? "")) addNativeBuckets(h, was, -1);
    }
  });
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
    // The same timings as native histograms (a Prometheus that scrapes protobuf): counts and sums
    // through the same increases; the bucket shape from the histograms at the window's end and
    // start, per series (see addNativeShape).
    const native = await Promise.all(TIMING_NAMES.flatMap((name) => {
      const f = `meshlat_${name}_duration_milliseconds`;
      const nat = (of: (sel: string) => string) => this.query(windowIncrease(f, matchers, w, step, restarted, "", of), t);
      return [nat((x) => `histogram_count(${x})`), nat((x) => `histogram_sum(${x})`), this.query(selector(f, matchers), t), this.query(`${selector(f, matchers)} offset ${w}s`, t)];
    }));
    const since = first.length > 0 ? num(first[0]!) * 1000 : -Infinity;
    const spanMs = Math.max(MIN_SPAN_MS, Math.min(windowMs, nowMs - since));
    const entries = this.toEntries(counts!, perTiming, cap);
    addNative(entries, native, cap, new Set(restarted));
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
