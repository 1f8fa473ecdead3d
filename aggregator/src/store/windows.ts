// Sliding windows for the APIs: rings of time slots, each holding the per-series deltas merged
// in that slot as exponential histograms. Memory follows activity: a series takes room only in
// the slots in which it received data, and a histogram only for the buckets its values reached.
// A batch is merged into the finest ring only; a fine slot is folded into the coarser rings
// once, when a newer fine slot starts, so the coarse rings cost a merge per series per fine
// slot instead of per batch.
import { ExpHist } from "./exp-histogram.ts";
import type { Bounds } from "./v1-buckets.ts";
import type { StoredSeries } from "./series-store.ts";
import { addWireTiming } from "./wire-timing.ts";
import { keepSlowest } from "./exemplars.ts";
import type { Exemplar } from "./exemplars.ts";
import type { WireSeries } from "../wire/types.ts";
import { smallInt } from "../wire/flat-batch.ts";
import type { FlatBatch } from "../wire/flat-batch.ts";
import { TIMING_NAMES } from "../wire/types.ts";

export const WINDOWS_MS: Readonly<Record<string, number>> = Object.freeze({ "1m": 60_000, "5m": 300_000, "15m": 900_000, "1h": 3_600_000 });
const N_TIMINGS = TIMING_NAMES.length;

/** One series' deltas in one slot. Views are valid until the next ingest. */
export class WindowEntry {
  count = 0;
  readonly timings: (ExpHist | null)[] = new Array(N_TIMINGS).fill(null);
  /** The slot's slowest traced requests of this series, slowest first (bounded). */
  readonly slowest: Exemplar[] = [];
  /** Slots holding this entry: a folded slot's entry is shared, not copied, and copied before it changes. */
  refs = 1;
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

  /** Adds series `i` of a flat batch but its timings (series-store.ts merges those with the series'): with them, the same as add() of that series read by the general path. */
  addFlatPoint(fb: FlatBatch, i: number): void {
    this.count += smallInt(fb.count[i]!);
    const trace = fb.exTrace[i];
    if (trace != null) keepSlowest(this.slowest, { traceId: trace, valueMs: fb.exValue[i]! / 1000, timeMs: fb.exTime[i]! });
  }

  /** Adds another entry of the same series (a finer slot folded into a coarser one). */
  merge(o: WindowEntry): void {
    this.count += o.count;
    for (let t = 0; t < N_TIMINGS; t++) {
      const h = o.timings[t];
      if (h && h.n > 0) (this.timings[t] ??= new ExpHist(this.cap)).merge(h);
    }
    for (const x of o.slowest) keepSlowest(this.slowest, x);
  }
}

class Slot {
  no = -1;
  private readonly index = new Map<string, WindowEntry>(); // series key → entry
  constructor(private readonly cap: number) {}

  get size(): number { return this.index.size; }

  reset(no: number): void {
    this.no = no;
    for (const e of this.index.values()) e.refs--;
    this.index.clear();
  }

  /** The series' entry, to change: made when missing, copied when other slots share it. */
  private entry(key: string, labels: readonly string[]): WindowEntry {
    let e = this.index.get(key);
    if (!e) {
      e = new WindowEntry(labels, this.cap);
      this.index.set(key, e);
    } else if (e.refs > 1) {
      e.refs--;
      const own = new WindowEntry(e.labels, this.cap);
      own.merge(e);
      this.index.set(key, own);
      e = own;
    }
    return e;
  }

  /**
   * The series' entry, to change. A fine ring's slot remembers it on the series (`cache`), so a
   * series' next point in the same slot skips the index: the remembered entry is used only
   * while it is this slot's (same slot, same number) and not shared (a folded slot shares
   * entries with the coarse rings; then entry() copies it first).
   */
  entryFor(s: StoredSeries, cache: boolean): WindowEntry {
    if (cache) {
      const e = s.winEntry;
      if (e != null && s.winSlot === this && s.winNo === this.no && e.refs === 1) return e;
    }
    const e = this.entry(s.key, s.labels);
    if (cache) { s.winEntry = e; s.winSlot = this; s.winNo = this.no; }
    return e;
  }

  /**
   * Merges every entry of `o` (a finer slot within this one) into this slot. A series this slot
   * has no entry for shares `o`'s: a label set active in one fine slot then costs one entry, not
   * one per ring.
   */
  fold(o: Slot): void {
    for (const [key, e] of o.index) {
      if (this.index.has(key)) this.entry(key, e.labels).merge(e);
      else { e.refs++; this.index.set(key, e); }
    }
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

  /** The slot for time `t`, reset when it held an older one; null when `t` is older than the ring covers. */
  private slotFor(t: number): Slot | null {
    const no = Math.floor(t / this.slotMs);
    const slot = this.slots[no % this.slots.length]!;
    if (slot.no !== no) {
      if (slot.no > no) return null; // older than the ring covers
      slot.reset(no);
    }
    return slot;
  }

  /** The series' entry to change at time `t` (Slot.entryFor), or null when `t` is older than the ring covers. */
  entryAt(t: number, s: StoredSeries, cache: boolean): WindowEntry | null {
    return this.slotFor(t)?.entryFor(s, cache) ?? null;
  }

  /** The oldest data the ring holds is this old (its slots, the current one included). */
  get horizonMs(): number { return this.slots.length * this.slotMs; }

  /** Folds `slot` (of a finer ring) into the slot holding time `t`, its start. */
  fold(t: number, slot: Slot): void {
    this.slotFor(t)?.fold(slot);
  }

  /** The slot numbered `no` while the ring still holds it. */
  slotNo(no: number): Slot | null {
    if (no < 0) return null; // -Infinity: nothing written yet
    const slot = this.slots[no % this.slots.length]!;
    return slot.no === no ? slot : null;
  }

  /** First slot read for a window: enough whole slots before the current (partial) one to cover it. */
  first(now: number, windowMs: number): number {
    return Math.floor(now / this.slotMs) - Math.ceil(windowMs / this.slotMs);
  }

  /** Whether a window read at `now` covers the time `t` (its slot is one of those read). */
  covers(t: number, now: number, windowMs: number): boolean {
    const no = Math.floor(t / this.slotMs);
    return no >= this.first(now, windowMs) && no <= Math.floor(now / this.slotMs);
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
 *
 * Batches merge into the finest ring. The newest fine slot written (the head) is the only one
 * not yet in the coarse rings: it is folded into them when a batch opens a newer fine slot, and
 * a coarse query reads it directly. A late batch (for a fine slot older than the head, already
 * folded) merges into every ring at once. Folding needs every coarse slot to be whole fine
 * slots (60 s a multiple of `slotMs`); otherwise every batch merges into every ring.
 *
 * Kept only when the views read them: with `prometheus_url` the views come from Prometheus and
 * an unkept ring holds nothing (`keep` false) — a label set active in every slot holds ~36
 * entries here, ~70 KB after an hour (measured, bench/lib/memory-child.ts), 13x its series.
 */
export class WindowRing {
  private readonly rings: Ring[];
  private readonly fine: Ring;
  private readonly coarse: Ring[];
  private readonly folds: boolean;
  /** Number of the newest fine slot written: the one slot not yet folded into the coarse rings. */
  private head = -Infinity;
  /** Scratch of entriesFor(). */
  readonly hit: WindowEntry[] = [];
  constructor(readonly slotMs: number, cap: number, readonly keep = true) {
    // window_slot_s is at most 60, so the minute ring is never finer than the configured slots.
    this.rings = [...(slotMs < 60_000 ? [new Ring(slotMs, 60_000, cap)] : []), new Ring(60_000, 900_000, cap), new Ring(300_000, 3_600_000, cap)];
    this.fine = this.rings[0]!;
    this.coarse = this.rings.slice(1);
    this.folds = 60_000 % slotMs === 0;
  }

  /** The longest a key may name an entry here (label-ids.ts keeps a key's ids that long). */
  get horizonMs(): number {
    if (!this.keep) return 0;
    return Math.max(...this.rings.map((r) => r.horizonMs));
  }

  add(t: number, s: StoredSeries, w: WireSeries, from: Bounds | null): void {
    const hit = this.hit;
    for (let k = this.entriesFor(t, s), j = 0; j < k; j++) hit[j]!.add(w, from);
  }

  /**
   * Puts in `hit` the entries a point of series `s` at time `t` changes, returns how many: the
   * fine slot's, and for a late point (its fine slot already folded) the coarse rings' too.
   * Valid until the next call.
   */
  entriesFor(t: number, s: StoredSeries): number {
    if (!this.keep) return 0;
    const hit = this.hit;
    let k = 0;
    if (!this.folds) {
      for (const r of this.rings) {
        const e = r.entryAt(t, s, r === this.fine);
        if (e) hit[k++] = e;
      }
      return k;
    }
    const no = Math.floor(t / this.fine.slotMs);
    if (no > this.head) {
      this.foldHead();
      this.head = no;
    }
    const e = this.fine.entryAt(t, s, true);
    if (e) hit[k++] = e;
    if (no < this.head) {
      for (const r of this.coarse) {
        const c = r.entryAt(t, s, false);
        if (c) hit[k++] = c;
      }
    }
    return k;
  }

  private foldHead(): void {
    const slot = this.fine.slotNo(this.head);
    if (!slot) return;
    const t = this.head * this.fine.slotMs;
    for (const r of this.coarse) r.fold(t, slot);
  }

  /** Entries of the slots within `windowMs` before `now` (one per series per slot of the ring read). */
  *entries(now: number, windowMs: number): Iterable<WindowEntry> {
    const ring = this.ring(windowMs);
    yield* ring.entries(now, windowMs);
    if (ring === this.fine || !this.folds) return;
    const head = this.fine.slotNo(this.head);
    if (head && ring.covers(this.head * this.fine.slotMs, now, windowMs)) yield* head.views();
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
