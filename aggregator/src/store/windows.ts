// Sliding windows for the APIs: a ring of time slots (window_slot_s each, covering 15 minutes),
// each holding the per-series deltas merged in that slot. Memory follows activity: a series
// takes room only in the slots in which it received data.
import { Hist } from "./histogram.ts";
import type { Bounds } from "./histogram.ts";
import type { StoredSeries } from "./series-store.ts";
import type { WireSeries } from "../wire/types.ts";
import { TIMING_NAMES } from "../wire/types.ts";

export const WINDOWS_MS: Readonly<Record<string, number>> = Object.freeze({ "1m": 60_000, "5m": 300_000, "15m": 900_000 });
const SPAN_MS = 900_000;

export interface WindowEntry {
  readonly labels: readonly string[];
  count: number;
  readonly timings: (Hist | null)[];
}

interface Slot { no: number; readonly entries: Map<string, WindowEntry> }

export class WindowRing {
  private readonly slots: Slot[];
  constructor(readonly slotMs: number) {
    const n = Math.ceil(SPAN_MS / slotMs) + 1;
    this.slots = Array.from({ length: n }, () => ({ no: -1, entries: new Map() }));
  }

  add(t: number, s: StoredSeries, w: WireSeries, from: Bounds): void {
    const no = Math.floor(t / this.slotMs);
    const slot = this.slots[no % this.slots.length]!;
    if (slot.no !== no) {
      if (slot.no > no) return; // older than the ring covers
      slot.no = no;
      slot.entries.clear();
    }
    let e = slot.entries.get(s.key);
    if (!e) { e = { labels: s.labels, count: 0, timings: TIMING_NAMES.map(() => null) }; slot.entries.set(s.key, e); }
    e.count += w.count;
    for (let i = 0; i < w.timings.length; i++) {
      const wt = w.timings[i];
      if (!wt) continue;
      let h = e.timings[i];
      if (!h) h = e.timings[i] = new Hist(s.timings[i]?.bounds ?? from);
      h.addWire(wt, from);
    }
  }

  /** Entries of the slots within `windowMs` before `now` (one per series per slot). */
  *entries(now: number, windowMs: number): Iterable<WindowEntry> {
    const last = Math.floor(now / this.slotMs);
    const first = last - Math.ceil(windowMs / this.slotMs) + 1;
    for (const slot of this.slots) {
      if (slot.no < first || slot.no > last) continue;
      yield* slot.entries.values();
    }
  }
}
