// The filter's worked example in docs/wire-format.md (bytes from the real encoder) must decode
// and validate here to exactly the documented values: the two parts stay in step.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { decodeMsgpack } from "../src/wire/decode.ts";
import { validateBatch } from "../src/wire/validate.ts";
import { isExpTiming } from "../src/wire/types.ts";
import { batchValue, encodeBatch } from "../../test/support/batch-builder.ts";

const doc = readFileSync(new URL("../../docs/wire-format.md", import.meta.url), "utf8");
const section = /<!-- worked-example:begin -->([\s\S]*)<!-- worked-example:end -->/.exec(doc)?.[1] ?? "";
const hex = /```hex\n([\s\S]*?)```/.exec(section)?.[1];
const json = /```json\n([\s\S]*?)```/.exec(section)?.[1];
const limits = { maxSeries: 100, maxStrings: 100, maxBounds: 128, maxLabelLength: 1024, maxTimingBuckets: 160 };

test("the filter's worked example validates to its documented content", () => {
  // The example exists (filter/assembly/encode.ts keeps it); losing it must fail, not skip.
  assert.ok(hex && json, "docs/wire-format.md worked example (hex and json blocks between the markers)");
  const bytes = Buffer.from(hex!.split("\n").map((l) => l.slice(6)).join(" ").replace(/\s+/g, ""), "hex");
  const expected = JSON.parse(json!);
  const b = validateBatch(decodeMsgpack(bytes), limits);
  assert.equal(b.vm, expected.vm);
  assert.equal(b.seq, expected.seq);
  assert.deepEqual(b.window, expected.window);
  assert.deepEqual(b.boundsUs, expected.bounds_us);
  assert.deepEqual(b.proxy, expected.proxy);
  assert.deepEqual(b.counters, expected.counters);
  assert.equal(b.series.length, expected.series.length);
  b.series.forEach((s, i) => {
    const [idx, count, timings] = expected.series[i];
    assert.deepEqual(s.labels, idx.map((k: number) => expected.strings[k]));
    assert.equal(s.count, count);
    assert.deepEqual(s.timings.map((t) => (t && !isExpTiming(t) ? [t.n, t.sumUs, t.buckets] : null)), timings);
  });
  // The batch builder encodes the same value to the same bytes (same integer widths).
  const again = encodeBatch({ ...batchValue(), ...expected });
  assert.equal(Buffer.from(again).toString("hex"), bytes.toString("hex"));
});
