// The filter's timing window as the aggregator's tests model it, its shape read from the filter's
// source (filter/assembly/exphist.ts) so that the model follows it.
import { readFileSync } from "node:fs";
import { ExpHist, indexOfMs, observeUs } from "../src/store/exp-histogram.ts";

const EXPHIST_SRC = readFileSync(new URL("../../filter/assembly/exphist.ts", import.meta.url), "utf8");
const filterConst = (name: string) => Number(new RegExp(`export const ${name}: i32 = (\\d+);`).exec(EXPHIST_SRC)![1]);
/** Buckets of a narrow window, of a wide one, and the scale a window starts at (its finest). */
export const FILTER = { buckets: filterConst("BUCKETS"), wideBuckets: filterConst("WIDE_BUCKETS"), firstScale: filterConst("FIRST_SCALE") };
/** A narrow timing's counts are u16: a count past this turns the window wide. */
export const NARROW_MAX = 0xffff;

/**
 * One timing's window as the filter records it: from FIRST_SCALE down as the values' range
 * demands within BUCKETS buckets; once a count would pass 65,535, WIDE_BUCKETS buckets (u32
 * counts in the same bytes) for the rest of the window, coarser again if the range needs it.
 */
export class FilterWindow {
  h = new ExpHist(FILTER.buckets, FILTER.firstScale);
  wide = false;
  observe(us: number): void {
    observeUs(this.h, us);
    if (this.wide || us === 0) return;
    if (this.h.counts[indexOfMs(us / 1000, this.h.scale) - this.h.offset]! > NARROW_MAX) {
      const w = new ExpHist(FILTER.wideBuckets, this.h.scale);
      w.merge(this.h);
      this.h = w;
      this.wide = true;
    }
  }
}
