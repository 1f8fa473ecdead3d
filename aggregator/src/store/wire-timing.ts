// One validated wire timing (v1 classic buckets or v2 exponential) into an exponential histogram.
import { ExpHist } from "./exp-histogram.ts";
import { addV1Timing } from "./v1-buckets.ts";
import type { Bounds } from "./v1-buckets.ts";
import { isExpTiming } from "../wire/types.ts";
import type { ExpTiming, Timing } from "../wire/types.ts";

export function addWireTiming(h: ExpHist, t: Timing | ExpTiming, v1: Bounds | null): void {
  if (isExpTiming(t)) {
    h.addTotals(t.n, t.sumUs);
    h.addZero(t.zero);
    h.addCounts(t.scale, t.offset, t.counts);
  } else {
    addV1Timing(h, t, v1!);
  }
}
