// The reader's reused flat batch (wire/flat-batch.ts) does not keep the room one outsized batch
// needed: a large (or hostile) batch must not hold its scratch memory for good.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readV2 } from "../src/wire/read-v2.ts";
import { buildBatch, requests } from "../../test/support/batch-builder.ts";

const LIMITS = { maxSeries: 100_000, maxStrings: 100_000, maxBounds: 64, maxLabelLength: 64, maxTimingBuckets: 160 };
const batch = (n: number) => buildBatch({ v: 2, series: Array.from({ length: n }, (_, i) => requests(2, { requestMs: 1 + (i % 50), upstreamMs: 0.5, appMs: 0.2 }, { destination_service: `svc-${i}` })) });

test("after an outsized batch, normal batches give its scratch back", () => {
  const small = batch(10), large = batch(20_000);
  const before = readV2(small, LIMITS)!;
  const room = () => ({ series: before.count.length, strings: before.strStart.length, buckets: before.bIdx.length });
  const normal = room();
  assert.equal(readV2(large, LIMITS)!.n, 20_000);
  const big = room();
  assert.ok(big.series >= 20_000 && big.strings >= 20_000 && big.buckets >= 60_000, JSON.stringify(big));
  for (let i = 0; i < 2; i++) assert.equal(readV2(small, LIMITS)!.n, 10);
  assert.deepEqual(room(), normal);
});
