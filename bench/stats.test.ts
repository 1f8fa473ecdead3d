import { test } from "node:test";
import assert from "node:assert/strict";
import { summarize, quantileSorted, pairedRatios, relativeIqr } from "./lib/stats.ts";
import { interleave } from "./lib/interleave.ts";

test("summarize: quartiles by linear interpolation", () => {
  const cases: { name: string; in: number[]; median: number; q1: number; q3: number }[] = [
    { name: "single", in: [5], median: 5, q1: 5, q3: 5 },
    { name: "odd", in: [3, 1, 2], median: 2, q1: 1.5, q3: 2.5 },
    { name: "even", in: [4, 1, 3, 2], median: 2.5, q1: 1.75, q3: 3.25 },
    { name: "outlier does not move the median", in: [10, 10, 10, 10, 1000], median: 10, q1: 10, q3: 10 },
  ];
  for (const c of cases) {
    const s = summarize(c.in);
    assert.equal(s.median, c.median, c.name);
    assert.equal(s.q1, c.q1, c.name);
    assert.equal(s.q3, c.q3, c.name);
    assert.equal(s.n, c.in.length, c.name);
  }
});

test("summarize and quantile: error cases", () => {
  assert.throws(() => summarize([]), RangeError);
  assert.throws(() => summarize([1, NaN]), RangeError);
  assert.throws(() => quantileSorted([1], 1.5), RangeError);
});

test("pairedRatios pairs round by round and refuses unpaired or zero denominators", () => {
  assert.deepEqual(pairedRatios([2, 6], [1, 3]), [2, 2]);
  assert.throws(() => pairedRatios([1], [1, 2]), RangeError);
  assert.throws(() => pairedRatios([1], [0]), RangeError);
  assert.equal(relativeIqr(summarize([9, 10, 11])), 0.1);
});

test("interleave rotates the order per round and times with the injected clock", async () => {
  let t = 0n;
  const order: string[] = [];
  const mk = (name: string, costNs: bigint) => ({ name, run: (n: number) => { order.push(name); t += costNs * BigInt(n); } });
  const res = await interleave([mk("a", 10n), mk("b", 30n)], { rounds: 3, iterations: 4, warmupRounds: 1, now: () => t });
  assert.deepEqual(order, ["a", "b", "a", "b", "b", "a", "a", "b"]);
  assert.deepEqual(res.map((r) => r.perRound), [[10, 10, 10], [30, 30, 30]]);
  assert.equal(res[1].summary.median, 30);
  await assert.rejects(interleave([], { rounds: 1, iterations: 1 }), RangeError);
});
