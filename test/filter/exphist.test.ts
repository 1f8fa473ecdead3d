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
  newTiming(): number; clearTiming(tp: number): void; recordUs(tp: number, us: bigint): void; idx8(us: bigint): number;
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

test("index8: every value lands in the aggregator's bucket at scale 8; powers of two in ms are upper bounds", () => {
  const values = [1, 2, 7, 25, 62, 63, 125, 250, 500, 999, 1000, 1001, 1024, 2000, 4096, 12345, 65536000, 30e6, 4294967296000];
  for (let k = -9; k <= 32; k++) values.push(Math.round(1000 * 2 ** k));
  for (let i = 0; i < 20000; i++) values.push(Math.max(1, Math.round(Math.exp(Math.log(20000) + 3 * gauss()))));
  for (const us of values) assert.equal(x.idx8(BigInt(us)), indexOfMs(us / 1000, 8), `${us} µs`);
});

function read(tp: number) {
  const counts = Array.from({ length: x.len(tp) }, (_, j) => x.count(tp, j));
  return { n: x.n(tp), sumUs: Number(x.sum(tp)), scale: x.scale(tp), zero: x.zero(tp), offset: x.offset(tp), counts };
}

const windows: [string, () => number, number][] = [
  ["one value", () => 20000, 1],
  ["narrow (stays at scale 8)", () => Math.round(20000 + 200 * gauss()), 500],
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
    assert.ok(got.counts.length <= 44);
    if (got.counts.length) assert.ok(got.counts[0]! > 0 && got.counts[got.counts.length - 1]! > 0, "counts start and end occupied");
    x.clearTiming(tp);
    assert.deepEqual(read(tp), { n: 0, sumUs: 0, scale: 8, zero: 0, offset: 0, counts: [] }, "zeroed memory is an empty timing at scale 8");
  });
}
