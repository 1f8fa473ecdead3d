// Summing window entries into per-group aggregates (count + the five histograms).
import { ExpHist } from "../store/exp-histogram.ts";
import type { WindowEntry } from "../store/windows.ts";
import { keepSlowest } from "../store/exemplars.ts";
import type { Exemplar } from "../store/exemplars.ts";
import { TIMING_NAMES } from "../wire/types.ts";

export class Agg {
  count = 0;
  readonly timings: (ExpHist | null)[] = TIMING_NAMES.map(() => null);
  /** The group's slowest traced requests, slowest first (bounded). */
  readonly slowest: Exemplar[] = [];
  add(e: WindowEntry): void {
    this.count += e.count;
    for (const x of e.slowest) keepSlowest(this.slowest, x);
    for (let t = 0; t < this.timings.length; t++) {
      if (e.n(t) === 0) continue;
      e.addTimingTo(t, (this.timings[t] ??= new ExpHist(e.cap)));
    }
  }
  mean(t: number): number | null {
    return this.timings[t]?.meanMs() ?? null;
  }
  n(t: number): number {
    return this.timings[t]?.n ?? 0;
  }
}

export function aggOf<K>(m: Map<K, Agg>, k: K): Agg {
  let a = m.get(k);
  if (!a) { a = new Agg(); m.set(k, a); }
  return a;
}

export const isOverflow = (labels: readonly string[]): boolean => labels[0] === "overflow";
