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
 * Native histograms into the entries, summed per label set across replicas. A series of a replica
 * in `uneven` (restarted, a counter drop, a series lost at an edge) has its n and sum from the
 * exact increases (promql.ts unevenIncrease); any other series from its histograms at the window's
 * end and start, end − start (or end, born inside the window), which is the same difference
 * without asking Prometheus for it again. The bucket shape (which drives the quantiles) is
 * end − start per series; a series whose count dropped or whose replica restarted (`restarted`)
 * adds its end only; a gone replica's series add no shape (2.42 keeps no last_over_time of a
 * histogram), their counts and sums still count. `native[ti]`: timing ti's [counts, sums, ends,
 * starts], or undefined when not asked.
 */
export function addNative(entries: WindowEntry[], native: (readonly PromVector[][] | undefined)[], cap: number, restarted: ReadonlySet<string>, uneven: ReadonlySet<string>): void {
  const byKey = new Map(entries.map((e) => [LABEL_NAMES.map((_, i) => e.labels[i]).join("\u0000"), e]));
  native.forEach((queried, ti) => {
    if (!queried) return;
    const [ns, sums, ends, starts] = queried as [PromVector[], PromVector[], PromVector[], PromVector[]];
    const start = new Map(starts.filter((s) => s.histogram).map((s) => [JSON.stringify(s.metric), s.histogram![1]]));
    const totals = new Map<string, { n: number; sum: number }>();
    const add = (k: string, n: number, sum: number) => {
      const t = totals.get(k);
      if (t) { t.n += n; t.sum += sum; } else totals.set(k, { n, sum });
    };
    for (const s of ns) add(keyOf(s.metric), num(s), 0);
    for (const s of sums) add(keyOf(s.metric), 0, num(s));
    for (const s of ends) {
      if (!s.histogram || uneven.has(s.metric.instance ?? "")) continue;
      const end = s.histogram[1], was = start.get(JSON.stringify(s.metric));
      const from = was && Number(was.count) <= Number(end.count) ? was : undefined;
      add(keyOf(s.metric), Number(end.count) - Number(from?.count ?? 0), Math.max(0, Number(end.sum) - Number(from?.sum ?? 0)));
    }
    const hists = new Map<string, ExpHist>();
    for (const [k, t] of totals) {
      const e = byKey.get(k), n = Math.round(t.n);
      if (!e || n <= 0 || e.timings[ti]) continue; // a classic timing of the label set wins
      const h = new ExpHist(cap);
      h.n = n;
      h.sumUs = Math.round(t.sum * 1000);
      e.timings[ti] = h;
      hists.set(k, h);
    }
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
