// Sliding windows for the APIs: rings of time slots, each holding the per-series deltas merged
// in that slot. Memory follows activity: a series takes room only in the slots in which it
// received data, and a slot keeps all its entries in one growing Float32Array (a slab), so an
// entry costs its numbers plus one Map entry — no object or typed array per entry.
import { mapping } from "./histogram.ts";
import type { Bounds, Hist } from "./histogram.ts";
import type { StoredSeries } from "./series-store.ts";
import type { WireSeries } from "../wire/types.ts";
import { TIMING_NAMES } from "../wire/types.ts";

export const WINDOWS_MS: Readonly<Record<string, number>> = Object.freeze({ "1m": 60_000, "5m": 300_000, "15m": 900_000, "1h": 3_600_000 });
const N_TIMINGS = TIMING_NAMES.length;

/**
 * A read view of one series' deltas in one slot. Layout at `off`: [count, then per timing: n,
 * sum_us, one count per bucket of `bounds`]. Float32 is exact for counts below 2^24 per series
 * per slot (280k requests/s for a minute) and keeps sums to ~1e-7 relative, plenty for API
 * means; /metrics never reads the windows. Views are valid until the next ingest.
 */
export class WindowEntry {
  private readonly stride: number;
  constructor(readonly labels: readonly string[], readonly bounds: Bounds, private readonly data: Float32Array, private readonly off: number) {
    this.stride = bounds.us.length + 3;
  }

  get count(): number { return this.data[this.off]!; }

  n(t: number): number { return this.data[this.off + 1 + t * this.stride]!; }

  /** Adds timing `t` into `h`; false when this entry has no samples of it. */
  addTimingTo(t: number, h: Hist): boolean {
    const o = this.off + 1 + t * this.stride;
    const n = this.data[o]!;
    if (n === 0) return false;
    h.addDense(n, this.data[o + 1]!, this.data, o + 2, this.bounds);
    return true;
  }
}

const entrySize = (b: Bounds) => 1 + N_TIMINGS * (b.us.length + 3);

class Slot {
  no = -1;
  private readonly index = new Map<string, number>(); // series key → entry number
  private labels: (readonly string[])[] = [];
  private bounds: Bounds[] = [];
  private offs: number[] = [];
  private data = new Float32Array(0);
  private used = 0;

  get size(): number { return this.offs.length; }

  reset(no: number): void {
    this.no = no;
    this.index.clear();
    this.labels = [];
    this.bounds = [];
    this.offs = [];
    // Keep the slab for reuse unless the slot was far busier than it is likely to be again.
    if (this.data.length > 4 * this.used + 65536) this.data = new Float32Array(0);
    else this.data.fill(0, 0, this.used);
    this.used = 0;
  }

  add(s: StoredSeries, w: WireSeries, from: Bounds): void {
    let e = this.index.get(s.key);
    if (e === undefined) {
      const need = entrySize(from);
      if (this.used + need > this.data.length) {
        const grown = new Float32Array(Math.max(1024, 2 * (this.used + need)));
        grown.set(this.data.subarray(0, this.used));
        this.data = grown;
      }
      e = this.offs.length;
      this.index.set(s.key, e);
      this.labels.push(s.labels);
      this.bounds.push(from);
      this.offs.push(this.used);
      this.used += need;
    }
    const bounds = this.bounds[e]!;
    const d = this.data;
    const base = this.offs[e]!;
    const stride = bounds.us.length + 3;
    const m = from === bounds ? null : mapping(from, bounds);
    d[base]! += w.count;
    for (let t = 0; t < w.timings.length; t++) {
      const wt = w.timings[t];
      if (!wt) continue;
      const o = base + 1 + t * stride;
      d[o]! += wt.n;
      d[o + 1]! += wt.sumUs;
      const b = wt.buckets;
      for (let i = 0; i < b.length; i += 2) d[o + 2 + (m ? m[b[i]!]! : b[i]!)]! += b[i + 1]!;
    }
  }

  *views(): Iterable<WindowEntry> {
    for (let e = 0; e < this.offs.length; e++) yield new WindowEntry(this.labels[e]!, this.bounds[e]!, this.data, this.offs[e]!);
  }
}

/** One ring of equal slots covering `spanMs`. */
class Ring {
  private readonly slots: Slot[];
  constructor(readonly slotMs: number, readonly spanMs: number) {
    const n = Math.ceil(spanMs / slotMs) + 1;
    this.slots = Array.from({ length: n }, () => new Slot());
  }

  add(t: number, s: StoredSeries, w: WireSeries, from: Bounds): void {
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
  constructor(readonly slotMs: number) {
    // window_slot_s is at most 60, so the minute ring is never finer than the configured slots.
    this.rings = [...(slotMs < 60_000 ? [new Ring(slotMs, 60_000)] : []), new Ring(60_000, 900_000), new Ring(300_000, 3_600_000)];
  }

  add(t: number, s: StoredSeries, w: WireSeries, from: Bounds): void {
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
