// Native histograms from the Prometheus query API into window entries (prometheus-source.ts):
// n and sum come from exact per-series increases (promql.ts); the bucket shape, which the
// quantiles read, is end − start per series at native resolution.
import { ExpHist, MAX_SCALE, MIN_SCALE } from "../store/exp-histogram.ts";
import type { WindowEntry } from "../store/windows.ts";
import { LABEL_NAMES } from "../wire/types.ts";
import { keyOf, num } from "./prom-vector.ts";
import type { PromHistogram, PromVector } from "./prom-vector.ts";

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
 * last_over_time of a histogram), their counts and sums still count. `native[ti]`: timing ti's
 * [counts, sums, ends, starts], or undefined when not asked.
 */
export function addNative(entries: WindowEntry[], native: (readonly PromVector[][] | undefined)[], cap: number, restarted: ReadonlySet<string>): void {
  const byKey = new Map(entries.map((e) => [LABEL_NAMES.map((_, i) => e.labels[i]).join("\u0000"), e]));
  native.forEach((queried, ti) => {
    if (!queried) return;
    const [ns, sums, ends, starts] = queried as [PromVector[], PromVector[], PromVector[], PromVector[]];
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
