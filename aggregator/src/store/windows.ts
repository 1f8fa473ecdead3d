// Sliding windows for the APIs: rings of time slots, each holding the per-series deltas merged
// in that slot as exponential histograms. Memory follows activity: a series takes room only in
// the slots in which it received data, and a histogram only for the buckets its values reached.
import { ExpHist } from "./exp-histogram.ts";
import type { Bounds } from "./v1-buckets.ts";
import type { StoredSeries } from "./series-store.ts";
import { addWireTiming } from "./wire-timing.ts";
import { keepSlowest } from "./exemplars.ts";
import type { Exemplar } from "./exemplars.ts";
import type { WireSeries } from "../wire/types.ts";
import { TIMING_NAMES } from "../wire/types.ts";

export const WINDOWS_MS: Readonly<Record<string, number>> = Object.freeze({ "1m": 60_000, "5m": 300_000, "15m": 900_000, "1h": 3_600_000 });
const N_TIMINGS = TIMING_NAMES.length;

/** One series' deltas in one slot. Views are valid until the next ingest. */
export class WindowEntry {
  count = 0;
  readonly timings: (ExpHist | null)[] = new Array(N_TIMINGS).fill(null);
  /** The slot's slowest traced requests of this series, slowest first (bounded). */
  readonly slowest: Exemplar[] = [];
  constructor(readonly labels: readonly string[], readonly cap: number) {}

  n(t: number): number { return this.timings[t]?.n ?? 0; }

  /** Adds timing `t` into `h`; false when this entry has no samples of it. */
  addTimingTo(t: number, h: ExpHist): boolean {
    const e = this.timings[t];
    if (!e || e.n === 0) return false;
    h.merge(e);
    return true;
  }

  add(w: WireSeries, from: Bounds | null): void {
    this.count += w.count;
    for (let t = 0; t < w.timings.length; t++) {
      const wt = w.timings[t];
      if (wt) addWireTiming((this.timings[t] ??= new ExpHist(this.cap)), wt, from);
    }
    const x = w.exemplar;
    if (x) keepSlowest(this.slowest, { traceId: x.traceId, valueMs: x.valueUs / 1000, timeMs: x.timeMs });
  }
}

class Slot {
  no = -1;
  private readonly index = new Map<string, WindowEntry>(); // series key → entry
  constructor(private readonly cap: number) {}

  get size(): number { return this.index.size; }

  reset(no: number): void {
    this.no = no;
    this.index.clear();
  }

  add(s: StoredSeries, w: WireSeries, from: Bounds | null): void {
    let e = this.index.get(s.key);
    if (!e) { e = new WindowEntry(s.labels, this.cap); this.index.set(s.key, e); }
    e.add(w, from);
  }

  views(): Iterable<WindowEntry> {
    return this.index.values();
  }
}

/** One ring of equal slots covering `spanMs`. */
class Ring {
  private readonly slots: Slot[];
  constructor(readonly slotMs: number, readonly spanMs: number, cap: number) {
    const n = Math.ceil(spanMs / slotMs) + 1;
    this.slots = Array.from({ length: n }, () => new Slot(cap));
  }

  add(t: number, s: StoredSeries, w: WireSeries, from: Bounds | null): void {
    const no = Math.floor(t / this.slotMs);
    const slot = this.slots[no % this.slots.length]!;
    if (slot.no !== no) {
      if (slot.no > no) return; // older than the ring covers
      slot.reset(no);
    }
    slot.add(s, w, from);
  }

  /** First slot read for a window: enough whole slots before the current (partial) one to cover it. */
  private first(now: number, windowMs: number): number {
    return Math.floor(now / this.slotMs) - Math.ceil(windowMs / this.slotMs);
  }

  *entries(now: number, windowMs: number): Iterable<WindowEntry> {
    const last = Math.floor(now / this.slotMs);
    const first = this.first(now, windowMs);
    for (const slot of this.slots) {
      if (slot.no < first || slot.no > last) continue;
      yield* slot.views();
    }
  }

  /** Milliseconds the entries of a window cover: from the first slot's start to now (≥ windowMs, < windowMs + slot). */
  coveredMs(now: number, windowMs: number): number {
    return now - this.first(now, windowMs) * this.slotMs;
  }

  get size(): number {
    let n = 0;
    for (const s of this.slots) n += s.size;
    return n;
  }
}

/**
 * Three rings: fine slots (`slotMs`) for the last minute, one-minute slots for 15 minutes and
 * five-minute slots for the hour, so a series active in every slot costs ~36 window entries,
 * not 361. A query uses the finest ring that covers its window.
 */
export class WindowRing {
  private readonly rings: Ring[];
  constructor(readonly slotMs: number, cap: number) {
    // window_slot_s is at most 60, so the minute ring is never finer than the configured slots.
    this.rings = [...(slotMs < 60_000 ? [new Ring(slotMs, 60_000, cap)] : []), new Ring(60_000, 900_000, cap), new Ring(300_000, 3_600_000, cap)];
  }

  add(t: number, s: StoredSeries, w: WireSeries, from: Bounds | null): void {
    for (const r of this.rings) r.add(t, s, w, from);
  }

  /** Entries of the slots within `windowMs` before `now` (one per series per slot). */
  entries(now: number, windowMs: number): Iterable<WindowEntry> {
    return this.ring(windowMs).entries(now, windowMs);
  }

  /** The time those entries cover — what rates divide by (a window's slots cover a little more than it). */
  coveredMs(now: number, windowMs: number): number {
    return this.ring(windowMs).coveredMs(now, windowMs);
  }

  private ring(windowMs: number): Ring {
    return this.rings.find((r) => r.spanMs >= windowMs) ?? this.rings[this.rings.length - 1]!;
  }

  /** Window entries held (all rings): the windows' memory is proportional to this. */
  get size(): number {
    return this.rings.reduce((n, r) => n + r.size, 0);
  }
}
