// The filter's worked example in docs/wire-format.md (bytes from the real encoder) must decode
// and validate here to exactly the documented values: the two parts stay in step.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { decodeMsgpack } from "../src/wire/decode.ts";
import { validateBatch } from "../src/wire/validate.ts";
import { isExpTiming, TIMING_NAMES } from "../src/wire/types.ts";
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
  assert.equal(b.v, 2);
  assert.equal(b.vm, expected.vm);
  assert.equal(b.seq, expected.seq);
  assert.deepEqual(b.window, expected.window);
  assert.deepEqual(b.proxy, expected.proxy);
  assert.deepEqual(b.counters, expected.counters);
  const one = { reporter: "source", source_workload: "checkout", source_namespace: "shop", destination_service: "payments.shop.svc.cluster.local", response_code: "200", response_flags: "-", connection_security_policy: "unknown", user_tier: "premium", region: "eu-west-1", peer_region: "us-east-1" };
  const two = { ...one, response_code: "503", response_flags: "UH", user_tier: "unknown", peer_region: "unknown" };
  assert.deepEqual(b.series.map((s) => s.labels), [Object.values(one), Object.values(two)]);
  // Each timing as the table between the worked-example-timings markers shows it.
  const rows = /<!-- worked-example-timings:begin -->([\s\S]*?)<!-- worked-example-timings:end -->/.exec(section)?.[1]
    ?.split("\n").filter((l) => /^\| \d/.test(l)).map((l) => l.split("|").slice(1, -1).map((c) => c.trim()));
  assert.ok(rows?.length, "the worked example's timings table");
  const read = b.series.flatMap((s, i) => s.timings.flatMap((t, k) => {
    if (t === null || !isExpTiming(t)) return [];
    const buckets = t.counts.map((c, j) => [t.offset + j, c]).filter(([, c]) => c! > 0).map(([j, c]) => `${j}: ${c}`).join(", ");
    return [[String(i + 1), TIMING_NAMES[k]!, String(t.n), String(t.sumUs), String(t.scale), String(t.zero), buckets || "—"]];
  }));
  assert.deepEqual(read, rows);
  assert.deepEqual(b.series.map((s) => s.count), [2, 1]);
  // The reference encoder, fed the example's readable inputs, produces the same bytes: the
  // filter and the encoder the aggregator's tests use agree on every byte of v2.
  const again = encodeBatch(batchValue({
    v: 2, vm: expected.vm, seq: expected.seq, window: expected.window, proxy: expected.proxy, counters: expected.counters,
    series: [
      { labels: one, count: 2, timings: { request: [20, 100], upstream: [20, 100], proxy: [0, 0], app: [12.5, 31.25], network: [7.5, 68.75] } },
      { labels: two, count: 1, timings: { request: [0.3], upstream: [0.3], proxy: [0] } },
    ],
  }));
  assert.equal(Buffer.from(again).toString("hex"), bytes.toString("hex"));
});
