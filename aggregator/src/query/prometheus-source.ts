// Window entries read from Prometheus instead of the local store, for `prometheus_url`: with
// several replicas each holds only the workloads pinned to it (docs/scale.md), so the views
// sum meshlat's series across replicas in PromQL and feed the same pure computations
// (query/latency.ts, query/graph.ts) as the local store does: the JSON is the same.
//
// Per label set: the counter and the classic buckets/sum/count of each timing, as the change
// over the window (`now - offset`, a label set absent at the window's start counting from 0).
// Summing `by` the ten labels drops instance/pod, i.e. adds the replicas. The classic buckets
// are powers of two in ms (CLASSIC_LE_MS), exact bucket boundaries of the scale-0 exponential
// histogram, so quantiles come at that resolution; counts and sums are exact.
import { AggError } from "../errors.ts";
import { ExpHist, CLASSIC_LE_EXP } from "../store/exp-histogram.ts";
import { WindowEntry } from "../store/windows.ts";
import { LABEL_NAMES, TIMING_NAMES } from "../wire/types.ts";

interface PromVector { metric: Record<string, string>; value: [number, string] }

const BY = LABEL_NAMES.join(",");
const LE_EXP = new Map<string, number>(CLASSIC_LE_EXP.map((k) => [String(2 ** k), k]));
const TOP_EXP = CLASSIC_LE_EXP[CLASSIC_LE_EXP.length - 1]!;

/** PromQL: the change of `metric` (summed across replicas) over `windowS`; `extra` are further `by` labels. */
export function windowDelta(metric: string, selector: string, windowS: number, extra = ""): string {
  const by = `sum by (${BY}${extra}) `;
  const cur = `${by}(${metric}${selector})`;
  return `${cur} - (${by}(${metric}${selector} offset ${windowS}s) or ${cur} * 0)`;
}

/** A label matcher for one label value (PromQL string escaping). */
export function matcher(name: string, value: string): string {
  return `{${name}=${JSON.stringify(value)}}`;
}

export class PrometheusSource {
  constructor(private readonly baseUrl: string, private readonly timeoutMs = 10_000) {}

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
   * those matching `selector` (e.g. matcher("destination_service", svc)).
   */
  async entries(nowMs: number, windowMs: number, cap: number, selector = ""): Promise<WindowEntry[]> {
    const t = nowMs / 1000;
    const w = Math.round(windowMs / 1000);
    const [counts, ...perTiming] = await Promise.all([
      this.query(windowDelta("meshlat_requests_total", selector, w), t),
      ...TIMING_NAMES.flatMap((name) => {
        const f = `meshlat_${name}_duration_milliseconds`;
        return [this.query(windowDelta(`${f}_bucket`, selector, w, ",le"), t), this.query(windowDelta(`${f}_sum`, selector, w), t), this.query(windowDelta(`${f}_count`, selector, w), t)];
      }),
    ]);
    const byKey = new Map<string, WindowEntry>();
    const keyOf = (m: Record<string, string>) => LABEL_NAMES.map((n) => m[n] ?? "").join("\u0000");
    for (const s of counts!) {
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
