// The filter's exponential histogram (filter/assembly/exphist.ts, compiled alone through the
// test/fixtures/assembly/exphist.ts fixture with the filter's options) against the aggregator's
// bucket convention and the reference encoder's recording (test/support/batch-builder.ts):
// same bucket for every value, same scale, offset and counts for every window.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { indexOfMs } from "../../aggregator/src/wire/exp-buckets.ts";
import { expTimingOf } from "../support/batch-builder.ts";
import { seededRandom } from "../support/rand.ts";

interface ExpHistFixture {
  newTiming(): number; clearTiming(tp: number): void; recordUs(tp: number, us: bigint): void; idx3(us: bigint): number;
  scale(tp: number): number; offset(tp: number): number; len(tp: number): number; count(tp: number, j: number): number;
  zero(tp: number): number; n(tp: number): number; sum(tp: number): bigint; _start(): void;
}

const module = new WebAssembly.Module(readFileSync(new URL("../fixtures/build/exphist.wasm", import.meta.url)));
const x = new WebAssembly.Instance(module, {
  wasi_snapshot_preview1: {
    proc_exit: (code: number) => { throw new Error(`proc_exit(${code})`); },
    fd_write: () => 0,
  },
}).exports as unknown as ExpHistFixture;
x._start();

const rnd = seededRandom(11);
const gauss = () => Math.sqrt(-2 * Math.log(1 - rnd())) * Math.cos(2 * Math.PI * rnd());

test("index3: every value lands in the aggregator's bucket at scale 3; powers of two in ms are upper bounds", () => {
  const values = [1, 2, 7, 25, 62, 63, 125, 250, 500, 999, 1000, 1001, 1024, 2000, 4096, 12345, 65536000, 30e6, 4294967296000];
  for (let k = -9; k <= 32; k++) values.push(Math.round(1000 * 2 ** k));
  // Around every scale-3 boundary: the µs just below, at and above it.
  for (let k = -9; k < 32; k++) for (let j = 1; j < 8; j++) { const b = Math.round(1000 * 2 ** (k + j / 8)); values.push(Math.max(1, b - 1), b, b + 1); }
  for (let i = 0; i < 20000; i++) values.push(Math.max(1, Math.round(Math.exp(Math.log(20000) + 3 * gauss()))));
  for (const us of values) assert.equal(x.idx3(BigInt(us)), indexOfMs(us / 1000, 3), `${us} µs`);
});

function read(tp: number) {
  const counts = Array.from({ length: x.len(tp) }, (_, j) => x.count(tp, j));
  return { n: x.n(tp), sumUs: Number(x.sum(tp)), scale: x.scale(tp), zero: x.zero(tp), offset: x.offset(tp), counts };
}

const windows: [string, () => number, number][] = [
  ["one value", () => 20000, 1],
  ["narrow (stays at the first scale)", () => Math.round(20000 + 200 * gauss()), 500],
  ["lognormal (downscales)", () => Math.round(Math.exp(Math.log(20000) + gauss())), 2000],
  ["zeros and values", () => (rnd() < 0.3 ? 0 : Math.round(1 + rnd() * 900)), 500],
  ["the whole range: 1 µs .. 2^32 ms", () => Math.round(2 ** (rnd() * 42)), 3000],
  ["rising (extends upwards)", (() => { let v = 50; return () => (v = Math.round(v * 1.01)); })(), 800],
  ["falling (extends downwards)", (() => { let v = 30e6; return () => (v = Math.max(1, Math.round(v * 0.99))); })(), 800],
];
for (const [name, draw, count] of windows) {
  test(`a window records like the reference encoder: ${name}`, () => {
    const tp = x.newTiming();
    const values = Array.from({ length: count }, draw);
    for (const us of values) x.recordUs(tp, BigInt(us));
    const got = read(tp);
    assert.deepEqual(got, expTimingOf(values.map((us) => us / 1000)));
    assert.ok(got.counts.length <= 86);
    if (got.counts.length) assert.ok(got.counts[0]! > 0 && got.counts[got.counts.length - 1]! > 0, "counts start and end occupied");
    x.clearTiming(tp);
    assert.deepEqual(read(tp), { n: 0, sumUs: 0, scale: 3, zero: 0, offset: 0, counts: [] }, "zeroed memory is an empty timing at the first scale, 3");
  });
}

/** The raw timing one scale coarser (bucket i → ((i-1) >> 1) + 1). */
function downscaled(t: ReturnType<typeof read>) {
  const off = ((t.offset - 1) >> 1) + 1;
  const counts: number[] = [];
  t.counts.forEach((c, j) => { const k = ((t.offset + j - 1) >> 1) + 1 - off; counts[k] = (counts[k] ?? 0) + c; });
  return { ...t, scale: t.scale - 1, offset: off, counts: Array.from(counts, (c) => c ?? 0) };
}

test("a count past 65,535 in one window turns the timing wide (u32 counts), exact, keeping its scale while it fits 43 buckets", () => {
  const tp = x.newTiming();
  for (let i = 0; i < 70000; i++) x.recordUs(tp, 20000n);
  x.recordUs(tp, 30000n);
  const got = read(tp);
  assert.equal(got.scale, 3);
  assert.equal(got.n, 70001);
  assert.equal(got.counts[0], 70000);
  assert.equal(got.counts.at(-1), 1);
  assert.deepEqual(got, expTimingOf([...new Array<number>(70000).fill(20), 30]));
  x.clearTiming(tp);
  assert.deepEqual(read(tp), { n: 0, sumUs: 0, scale: 3, zero: 0, offset: 0, counts: [] }, "the next window starts narrow at scale 3");
});

test("going wide with more than 43 buckets in use downscales: counts exact, one scale coarser", () => {
  const tp = x.newTiming();
  // 60 values one scale-3 bucket apart (60 buckets: fits 86 narrow, not 43 wide) ...
  const values = Array.from({ length: 60 }, (_, k) => Math.round(1000 * 2 ** ((k - 30.5) / 8)));
  for (const us of values) x.recordUs(tp, BigInt(us));
  const narrow = read(tp);
  assert.equal(narrow.scale, 3);
  assert.equal(narrow.counts.length, 60);
  // ... then the first bucket past u16.
  for (let i = 0; i < 65535; i++) x.recordUs(tp, BigInt(values[0]!));
  const all = [...values, ...new Array<number>(65535).fill(values[0]!)];
  const got = read(tp);
  assert.equal(got.n, all.length);
  assert.equal(got.sumUs, all.reduce((a, b) => a + b, 0));
  assert.deepEqual(got, downscaled(expTimingOf(all.map((us) => us / 1000))));
  assert.equal(got.scale, 2);
  assert.ok(got.counts.length <= 43);
  // Later values still land exactly (the wide fast path and its extension).
  x.recordUs(tp, BigInt(values[30]!));
  x.recordUs(tp, 5_000_000n);
  const more = [...all, values[30]!, 5_000_000];
  const after = read(tp);
  assert.equal(after.n, more.length);
  assert.equal(after.counts.reduce((a, b) => a + b, 0) + after.zero, more.length);
  assert.ok(after.counts.length <= 43 && after.scale < 2);
});
