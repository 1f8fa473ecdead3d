import { test } from "node:test";
import assert from "node:assert/strict";
import { alternatingPairs, stoppedFalling, warmUp } from "./lib/steady.ts";

test("stoppedFalling: compares the medians of the last two windows", () => {
  const cases: { name: string; costs: number[]; window: number; tolerance: number; want: boolean }[] = [
    { name: "too few rounds for two windows", costs: [300, 300, 300, 300, 300], window: 3, tolerance: 0.1, want: false },
    { name: "still falling (JIT warm-up)", costs: [945, 584, 358, 289, 333, 321], window: 3, tolerance: 0.1, want: false },
    { name: "within the tolerance below", costs: [358, 289, 333, 321, 304, 263], window: 3, tolerance: 0.1, want: true },
    { name: "flat", costs: [250, 250, 250, 250], window: 2, tolerance: 0, want: true },
    { name: "rising settles too", costs: [200, 200, 260, 260], window: 2, tolerance: 0, want: true },
    { name: "one preempted round does not end the warm-up", costs: [600, 500, 400, 300, 9000, 250], window: 3, tolerance: 0.1, want: false },
    { name: "one cheap round does not prolong it", costs: [300, 300, 300, 300, 100, 300], window: 3, tolerance: 0.1, want: true },
  ];
  for (const c of cases) assert.equal(stoppedFalling(c.costs, c.window, c.tolerance), c.want, c.name);
  assert.throws(() => stoppedFalling([1, 2], 0, 0.1), RangeError);
  assert.throws(() => stoppedFalling([1, 2], 1, -1), RangeError);
});

test("warmUp runs at least minRounds, stops once settled, and at most maxRounds", async () => {
  const driver = (costs: number[]) => { let k = 0; return { round: async () => costs[Math.min(k++, costs.length - 1)], calls: () => k }; };
  const settling = driver([900, 600, 400, 300, 290, 300, 295, 290, 300]);
  const a = await warmUp(settling.round, { minRounds: 2, maxRounds: 20, window: 2, tolerance: 0.1 });
  assert.deepEqual(a, { costs: [900, 600, 400, 300, 290, 300, 295], settled: true }); // (300+295)/2 vs (300+290)/2
  assert.equal(settling.calls(), 7);

  const flat = driver([300]);
  assert.equal((await warmUp(flat.round, { minRounds: 5, maxRounds: 20, window: 1, tolerance: 0.1 })).costs.length, 5, "minRounds even when flat from the start");

  const falling = driver(Array.from({ length: 50 }, (_, k) => 1000 / (k + 1)));
  assert.deepEqual(await warmUp(falling.round, { minRounds: 1, maxRounds: 7, window: 2, tolerance: 0.05 }).then((r) => [r.costs.length, r.settled]), [7, false]);

  await assert.rejects(warmUp(flat.round, { minRounds: 0, maxRounds: 3, window: 1, tolerance: 0 }), RangeError);
  await assert.rejects(warmUp(flat.round, { minRounds: 4, maxRounds: 3, window: 1, tolerance: 0 }), RangeError);
});

test("alternatingPairs alternates which side runs first and pairs results by round", async () => {
  const order: string[] = [];
  let na = 0, nb = 0;
  const pairs = await alternatingPairs(4, async () => { order.push("a"); return ++na; }, async () => { order.push("b"); return `b${++nb}`; });
  assert.deepEqual(order, ["a", "b", "b", "a", "a", "b", "b", "a"]);
  assert.deepEqual(pairs, [
    { a: 1, b: "b1", aFirst: true }, { a: 2, b: "b2", aFirst: false },
    { a: 3, b: "b3", aFirst: true }, { a: 4, b: "b4", aFirst: false },
  ]);
  await assert.rejects(alternatingPairs(0, async () => 1, async () => 2), RangeError);
});
