// The sliding windows (store/windows.ts): batches merge into the finest ring, fine slots fold
// into the coarse rings when a newer one starts, and every window reads exactly the deltas whose
// time falls in the slots it covers, late batches included.
import { test } from "node:test";
import assert from "node:assert/strict";
import { WINDOWS_MS, WindowRing } from "../src/store/windows.ts";
import type { StoredSeries } from "../src/store/series-store.ts";
import type { ExpTiming, WireSeries } from "../src/wire/types.ts";
import { TIMING_NAMES } from "../src/wire/types.ts";

const T0 = Date.UTC(2026, 0, 1, 12, 0, 0);
const CAP = 160;

const series = (k: number): StoredSeries => ({ key: `s${k}`, labels: [`s${k}`] }) as unknown as StoredSeries;

/** A point of `count` requests of `ms` each (scale 0: bucket k holds (2^(k-1), 2^k] ms). */
function point(count: number, ms: number): WireSeries {
  const k = Math.ceil(Math.log2(ms));
  const t: ExpTiming = { n: count, sumUs: count * ms * 1000, scale: 0, zero: 0, offset: k, counts: [count] };
  return { labels: [], count, timings: TIMING_NAMES.map((_, i) => (i === 0 ? t : null)) };
}

function totals(r: WindowRing, now: number, windowMs: number): { count: number; n: number; bySeries: Map<string, number> } {
  let count = 0, n = 0;
  const bySeries = new Map<string, number>();
  for (const e of r.entries(now, windowMs)) {
    count += e.count;
    n += e.n(0);
    bySeries.set(e.labels[0]!, (bySeries.get(e.labels[0]!) ?? 0) + e.count);
  }
  return { count, n, bySeries };
}

test("a batch merges into the finest ring only; its slot folds into the coarse rings when a newer slot starts", () => {
  const r = new WindowRing(10_000, CAP);
  r.add(T0 + 1_000, series(1), point(3, 2), null);
  r.add(T0 + 2_000, series(1), point(4, 2), null);
  assert.equal(r.size, 1, "one entry: the fine slot's");
  // The coarse windows read the head slot before it is folded.
  assert.equal(totals(r, T0 + 5_000, WINDOWS_MS["5m"]!).count, 7);
  assert.equal(totals(r, T0 + 5_000, WINDOWS_MS["1h"]!).count, 7);
  r.add(T0 + 11_000, series(2), point(1, 4), null);
  assert.equal(r.size, 4, "the first fine slot folded into both coarse rings; the new head is fine only");
  for (const w of Object.values(WINDOWS_MS)) {
    const t = totals(r, T0 + 12_000, w);
    assert.deepEqual([t.count, t.n], [8, 8], `window ${w}`);
  }
  const s1 = (w: number) => [...r.entries(T0 + 12_000, w)].find((e) => e.labels[0] === "s1");
  assert.ok(s1(WINDOWS_MS["1m"]!) === s1(WINDOWS_MS["5m"]!) && s1(WINDOWS_MS["5m"]!) === s1(WINDOWS_MS["1h"]!), "a series alone in its coarse slots shares the fine entry");
  r.add(T0 + 3_000, series(1), point(2, 2), null); // late, into the folded slot: every ring gets it once
  for (const w of Object.values(WINDOWS_MS)) assert.equal(totals(r, T0 + 12_000, w).count, 10, `window ${w}`);
  assert.ok(s1(WINDOWS_MS["1m"]!) !== s1(WINDOWS_MS["5m"]!), "a shared entry is copied before it changes");
});

test("every window reads exactly the deltas of the slots it covers: in-order, late and idle traffic (seeded)", () => {
  let x = 12345;
  const rnd = () => ((x = (x * 1103515245 + 12345) >>> 0) / 2 ** 32);
  for (const slotMs of [10_000, 1_000, 60_000, 7_000]) {
    const r = new WindowRing(slotMs, CAP);
    const sent: { t: number; key: string; count: number }[] = [];
    let now = T0 + Math.floor(rnd() * 60_000);
    for (let step = 0; step < 600; step++) {
      now += rnd() < 0.05 ? Math.floor(rnd() * 400_000) : Math.floor(rnd() * 3_000); // now and then an idle gap
      const late = rnd() < 0.2 ? Math.floor(rnd() * 30_000) : 0;
      const t = now - late;
      const key = `s${Math.floor(rnd() * 5)}`;
      const count = 1 + Math.floor(rnd() * 9);
      r.add(t, series(+key.slice(1)), point(count, 1 + rnd() * 100), null);
      sent.push({ t, key, count });
      if (step % 7 !== 0) continue;
      for (const [name, w] of Object.entries(WINDOWS_MS)) {
        // The ring a window reads: fine slots for the minute, then 1-minute, then 5-minute slots.
        const ringMs = w <= 60_000 && slotMs < 60_000 ? slotMs : w <= 900_000 ? 60_000 : 300_000;
        const first = Math.floor(now / ringMs) - Math.ceil(w / ringMs), last = Math.floor(now / ringMs);
        const want = new Map<string, number>();
        for (const p of sent) {
          const no = Math.floor(p.t / ringMs);
          if (no >= first && no <= last) want.set(p.key, (want.get(p.key) ?? 0) + p.count);
        }
        const got = totals(r, now, w);
        assert.deepEqual(new Map([...got.bySeries].sort()), new Map([...want].sort()), `slot ${slotMs} ms, step ${step}, window ${name}`);
        assert.equal(got.n, got.count);
      }
    }
  }
});

test("an unkept ring (the views come from Prometheus) holds nothing: no entries, no key horizon", () => {
  const kept = new WindowRing(10_000, CAP), unkept = new WindowRing(10_000, CAP, false);
  for (let k = 0; k < 50; k++) for (const r of [kept, unkept]) r.add(T0 + k * 10_000, series(k % 5), point(2, 3), null);
  assert.ok(kept.size > 0);
  assert.equal(unkept.size, 0);
  assert.deepEqual([...unkept.entries(T0 + 500_000, WINDOWS_MS["1h"]!)], []);
  assert.ok(kept.horizonMs > 0);
  assert.equal(unkept.horizonMs, 0, "no window entry names a key: label ids need not outlive their series");
});
