// Validated wire timings into exponential histograms: one timing of a general-path batch (v1
// classic buckets or v2 exponential), or a series' timings of a flat batch (wire/flat-batch.ts).
import { ExpHist } from "./exp-histogram.ts";
import { addV1Timing } from "./v1-buckets.ts";
import type { Bounds } from "./v1-buckets.ts";
import { isExpTiming } from "../wire/types.ts";
import type { ExpTiming, Timing } from "../wire/types.ts";
import { NT, smallInt } from "../wire/flat-batch.ts";
import type { FlatBatch } from "../wire/flat-batch.ts";

export function addWireTiming(h: ExpHist, t: Timing | ExpTiming, v1: Bounds | null): void {
  if (isExpTiming(t)) {
    h.addTotals(t.n, t.sumUs);
    h.addZero(t.zero);
    h.addCounts(t.scale, t.offset, t.counts);
  } else {
    addV1Timing(h, t, v1!);
  }
}

/**
 * Series s's timings of a flat batch into `first` and into the timings of `more[0..nMore)` (a
 * series and its window entries: each timing is read once for all of them). Histograms are
 * made with bucket cap `cap` when missing.
 */
export function addFlatTimings(first: (ExpHist | null)[], more: readonly { readonly timings: (ExpHist | null)[] }[], nMore: number, cap: number, fb: FlatBatch, s: number): void {
  const mask = fb.tmask[s]!;
  for (let t = 0; t < NT; t++) {
    if (!(mask & (1 << t))) continue;
    const k = s * NT + t;
    const n = smallInt(fb.tn[k]!), sumUs = smallInt(fb.tsum[k]!), zero = smallInt(fb.tzero[k]!);
    const len = fb.tlen[k]!, scale = fb.tscale[k]!, lo = fb.toff[k]!, b0 = fb.tb0[k]!, b1 = fb.tb1[k]!;
    for (let j = -1; j < nMore; j++) {
      const hs = j < 0 ? first : more[j]!.timings;
      const h = hs[t] ?? (hs[t] = new ExpHist(cap));
      h.addTotals(n, sumUs);
      h.addZero(zero);
      if (len > 0) h.addSparse(scale, lo, lo + len - 1, fb.bIdx, fb.bCnt, b0, b1);
    }
  }
}
