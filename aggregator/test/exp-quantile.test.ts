// The latency API's quantile interpolation (store/exp-quantile.ts): a monotone cubic through the
// cumulative counts at the bucket boundaries, in log space.
import { test } from "node:test";
import assert from "node:assert/strict";
import { ExpHist, upperMs } from "../src/store/exp-histogram.ts";
import { quantileOf } from "../src/store/exp-quantile.ts";
import { makeConfig } from "../src/config.ts";
import { FilterWindow } from "./filter-window.ts";

/** A histogram at `scale` with these counts from bucket `offset` on. */
const hist = (scale: number, offset: number, counts: number[], zero = 0) => ({ zero, scale, offset, len: counts.length, counts });

test("cubic: at a bucket boundary the quantile is the boundary (the curve passes through the exact counts)", () => {
  const h = hist(2, 20, [5, 30, 40, 20, 5]);
  let cum = 0;
  for (let j = 0; j < h.counts.length; j++) {
    cum += h.counts[j]!;
    const got = quantileOf(h, cum / 100)!;
    assert.ok(Math.abs(got - upperMs(20 + j, 2)) < 1e-9 * got, `q=${cum / 100}: ${got} vs ${upperMs(20 + j, 2)}`);
  }
});

test("cubic: non-decreasing in q and inside the bucket that holds the rank", () => {
  const h = hist(3, -7, [1, 0, 0, 9, 120, 3, 0, 44, 2, 0, 0, 0, 1], 4);
  let prev = -1;
  for (let k = 0; k <= 1000; k++) {
    const q = k / 1000, got = quantileOf(h, q)!;
    assert.ok(got >= prev, `q=${q}: ${got} < ${prev}`);
    for (const interp of ["exponential", "linear"] as const) {
      // Same bucket as PromQL's interpolations pick: only the position inside it differs.
      const other = quantileOf(h, q, interp)!;
      if (other === 0 || got === 0) { assert.equal(got, other, `q=${q}`); continue; }
      const i = Math.ceil(Math.log2(other) * 8 - 1e-9);
      assert.ok(got >= upperMs(i - 1, 3) * (1 - 1e-12) && got <= upperMs(i, 3) * (1 + 1e-12), `q=${q}: ${got} outside (${upperMs(i - 1, 3)}, ${upperMs(i, 3)}]`);
    }
    prev = got;
  }
});

test("cubic: where the counts are even across buckets it is PromQL's exponential interpolation", () => {
  const h = hist(4, 100, [50, 50, 50, 50, 50, 50]);
  for (const q of [0.2, 0.3, 0.45, 0.6, 0.75]) { // inside the interior buckets
    assert.ok(Math.abs(quantileOf(h, q)! - quantileOf(h, q, "exponential")!) < 1e-9, `q=${q}`);
  }
});

test("cubic: a lone bucket is read symmetrically in log space (its median at the geometric middle)", () => {
  const h = hist(0, 4, [10]);
  assert.ok(Math.abs(quantileOf(h, 0.5)! - Math.SQRT2 * 8) < 1e-9);
  assert.ok(quantileOf(h, 0.99)! < quantileOf(h, 0.99, "exponential")!, "nothing above: the top thins out");
});

test("cubic: a uniform distribution's p99 below its hard edge follows the density of the bucket beneath", () => {
  // 1 – 100 ms as the filter sends it (windows at its first scale, 3: buckets 9% wide), merged as
  // the store merges them. 100 ms lies in (98.7, 107.6], whose counts end at 100: PromQL's
  // interpolations spread them over the whole bucket and put p99 near 100.8 ms (1.8% high), the
  // cubic near 99.9 ms (0.9%).
  const stored = new ExpHist(makeConfig().histogram_buckets);
  for (let k = 0; k < 10; k++) {
    const win = new FilterWindow();
    for (let us = 1000 + k; us < 100_000; us += 10) win.observe(us);
    stored.merge(win.h);
  }
  assert.equal(stored.scale, 3, "the filter sends 1 – 100 ms at scale 3 and the store keeps it");
  const exact = 99_010 / 1000;
  const err = (interp: "cubic" | "exponential" | "linear") => Math.abs(stored.quantileMs(0.99, interp)! - exact) / exact;
  assert.ok(err("cubic") < 0.012, `cubic ${err("cubic")}`);
  assert.ok(err("exponential") > 0.015 && err("linear") > 0.015, `PromQL ${err("exponential")} / ${err("linear")}`);
});
