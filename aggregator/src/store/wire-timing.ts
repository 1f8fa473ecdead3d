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

/** Series s's timings of a flat batch into `hs` (one per timing, made with bucket cap `cap` when missing). */
export function addFlatTimings(hs: (ExpHist | null)[], cap: number, fb: FlatBatch, s: number): void {
  const mask = fb.tmask[s]!;
  for (let t = 0; t < NT; t++) {
    if (!(mask & (1 << t))) continue;
    const k = s * NT + t;
    const h = hs[t] ?? (hs[t] = new ExpHist(cap));
    h.addTotals(smallInt(fb.tn[k]!), smallInt(fb.tsum[k]!));
    h.addZero(smallInt(fb.tzero[k]!));
    const len = fb.tlen[k]!;
    if (len > 0) h.addSparse(fb.tscale[k]!, fb.toff[k]!, fb.toff[k]! + len - 1, fb.bIdx, fb.bCnt, fb.tb0[k]!, fb.tb1[k]!);
  }
}
