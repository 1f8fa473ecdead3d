// The aggregator keeps the resolution the filter sends: every window the filter can send (its
// buckets at any scale) merges into a stored histogram without lowering that scale, and windows
// whose values together span the whole range (50 µs – 30 s) keep the filter's first
// scale (3), which each of them arrives at: its 86 buckets cover 10.75 octaves there.
import { test } from "node:test";
import assert from "node:assert/strict";
import { ExpHist, MAX_SCALE, MIN_SCALE, observeUs, upperMs } from "../src/store/exp-histogram.ts";
import { makeConfig } from "../src/config.ts";
import { FILTER } from "./filter-window.ts";

const cap = makeConfig().histogram_buckets;

test("a full filter window at any scale merges at its own scale", () => {
  for (let s = MIN_SCALE; s <= MAX_SCALE; s++) {
    const win = new ExpHist(FILTER.buckets, s);
    // One value at the top of each of FILTER.buckets consecutive buckets from 1 s up (whole µs
    // there are far finer than the buckets).
    const first = 10 * 2 ** s;
    for (let i = first; i < first + FILTER.buckets; i++) observeUs(win, Math.floor(upperMs(i, s) * 1000));
    assert.equal(win.scale, s, `the window itself at scale ${s}`);
    const stored = new ExpHist(cap);
    stored.merge(win);
    assert.equal(stored.scale, s, `stored at scale ${s}`);
    assert.deepEqual([...stored.buckets()], [...win.buckets()]);
  }
});

test("windows at the filter's first scale whose values span 50 µs – 30 s together stay at it", () => {
  const stored = new ExpHist(cap);
  for (const [lo, hi] of [[50, 1_500], [1_500, 45_000], [45_000, 1.3e6], [1.3e6, 30e6]]) {
    const win = new ExpHist(FILTER.buckets, FILTER.firstScale);
    for (let us = lo; us <= hi; us = Math.ceil(us * 1.05)) observeUs(win, us);
    assert.equal(win.scale, 3, `window ${lo}–${hi} µs (at the filter's first scale, filter/assembly/exphist.ts)`);
    stored.merge(win);
  }
  assert.equal(stored.scale, 3);
});
