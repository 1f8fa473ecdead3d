// Label ids (store/label-ids.ts): a series key is built from interned label ids, so an id must
// never name two values while a key made from it may still be in use (the windows hold keys for
// their horizon), and values nothing references must not pile up.
import { test } from "node:test";
import assert from "node:assert/strict";
import { LabelIds, idAt, keyOf } from "../src/store/label-ids.ts";
import { AggregatorState } from "../src/store/state.ts";
import { makeConfig } from "../src/config.ts";
import { batchValue, encodeBatch, requests } from "../../test/support/batch-builder.ts";
import { readBatch } from "../src/wire/read-batch.ts";

const LIMITS = { maxSeries: 10_000, maxStrings: 100_000, maxBounds: 64, maxLabelLength: 64, maxTimingBuckets: 160 };

test("a key holds its label ids, ids beyond 16 bits included", () => {
  const ids = Int32Array.of(0, 1, 65_535, 65_536, 1 << 20, 7, 8, 9, 10, 2 ** 31 - 1);
  const k = keyOf(ids, 0);
  assert.equal(k.length, 20);
  assert.deepEqual(Array.from({ length: 10 }, (_, i) => idAt(k, i)), [...ids]);
});

test("values never referenced are dropped at a sweep; a value referenced once keeps its id for retainMs after its last reference", () => {
  const t = new LabelIds(60_000);
  const kept = t.id("kept");
  t.ref(kept);
  const gone = t.id("gone");
  t.ref(gone);
  t.unref(gone, 1_000);
  for (let i = 0; i < 5000; i++) t.id(`lookup-${i}`); // looked up only (e.g. label sets folded into overflow)
  t.sweep(30_000);
  assert.equal(t.size, 2, "only the referenced value and the recently released one remain");
  assert.equal(t.id("gone"), gone, "released 29 s ago: same id, so keys made from it still name it");
  for (let i = 0; i < 5000; i++) t.id(`again-${i}`);
  t.sweep(61_001);
  assert.equal(t.size, 1, "released 60 s ago: dropped");
  assert.equal(t.value(kept), "kept");
  const reused = t.id("new value");
  assert.ok(reused <= 5001, `a freed id is reused (got ${reused})`);
  assert.equal(t.value(reused), "new value");
});

test("a label set that expired and came back merges into the same window entries; another label set never does", () => {
  let now = 1_767_268_800_000;
  const state = new AggregatorState(makeConfig({ series_ttl_s: 10, max_series: 100_000, max_series_per_namespace: 100_000, max_exposition_bytes: 2 ** 36 }), () => now);
  let seq = 0;
  const send = (service: string) => {
    const body = encodeBatch(batchValue({ v: 2, vm: "0123456789abcdef", seq: ++seq, window: [now - 1000, now], series: [requests(2, { requestMs: 3 }, { destination_service: service })] }));
    assert.equal(state.ingest(readBatch(body, LIMITS)), "accepted");
  };
  send("a.ns");
  now += 20_000;
  state.expireIdle(now); // "a.ns" expires: its values' ids are released
  assert.equal(state.store.size, 0);
  now += 1_000;
  // Churn many new values: a sweep runs, but ids of "a.ns" stay while the windows may hold its key.
  for (let i = 0; i < 30; i++) {
    const body = encodeBatch(batchValue({ v: 2, vm: "0123456789abcdef", seq: ++seq, window: [now - 1000, now], series: Array.from({ length: 200 }, (_, j) => requests(1, { requestMs: 1 }, { destination_service: `churn-${i}-${j}` })) }));
    state.ingest(readBatch(body, LIMITS));
  }
  send("b.ns");
  send("a.ns");
  now += 10_000;
  send("b.ns"); // a new fine slot: the last one folds into the coarse slots that hold a.ns's first point
  const hour = [...state.windows.entries(now, 3_600_000)];
  const count = (svc: string) => hour.filter((e) => e.labels[3] === svc).reduce((n, e) => n + e.count, 0);
  assert.equal(count("a.ns"), 4, "both points of a.ns, under its own labels");
  assert.equal(count("b.ns"), 4);
  assert.equal(count("churn-0-0"), 1);
  for (const e of hour) assert.ok(!e.labels.includes(""), "no entry names a dropped value");
});
