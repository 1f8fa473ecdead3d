// Cross-part contract: batches the built filter really sends pass the aggregator's own wire
// decoder and validator (aggregator/src/wire) with its default limits — worked example,
// overflow, hostile label values, a retried batch after an outage — and merge exactly with an
// older (v1) filter's batches in one aggregator.
import { test } from "node:test";
import assert from "node:assert/strict";
import { runRequest, ManualClock } from "../host/index.ts";
import { decodeMsgpack } from "../../aggregator/src/wire/decode.ts";
import { validateBatch } from "../../aggregator/src/wire/validate.ts";
import { LABEL_NAMES } from "../../aggregator/src/wire/types.ts";
import { parseExposition, sample, testApp } from "../../aggregator/test/helpers.ts";
import { buildBatch, requests } from "../support/batch-builder.ts";
import { harness, workedExample, BASE_CONFIG, OUTBOUND, INBOUND, REQ } from "./helpers.ts";

const LIMITS = { maxSeries: 70000, maxStrings: 700000, maxBounds: 128, maxLabelLength: 1024, maxTimingBuckets: 160 };

test("the worked example validates", async () => {
  const b = validateBatch(decodeMsgpack(await workedExample()), LIMITS);
  assert.equal(b.series.length, 2);
});

test("busy, hostile and overflowing batches validate", async () => {
  const h = await harness({ ...BASE_CONFIG, max_series: 16 });
  try {
    const vm = h.plugin.workers[0]!;
    let down = true;
    h.respond = () => ({ headers: [[":status", down ? "503" : "204"]] });
    for (let round = 0; round < 3; round++) {
      for (let i = 0; i < 60; i++) {
        runRequest(vm, h.clock, {
          info: {
            clusterName: i % 2 ? `outbound|80||svc-${i}.ns.svc.cluster.local` : INBOUND,
            responseFlags: i * 97,
            upstreamLocality: { region: "x".repeat(i * 10) },
            properties: { "filter_state\u0000downstream_peer": { workload: "w".repeat(i * 20), namespace: "ns" } },
          },
          requestHeaders: [...REQ, [":authority", `Host-${i}.example:${i}`], ["x-user-tier", "é".repeat(i)]],
          responseHeaders: [[":status", String(100 + i * 7)], ["server-timing", `app;dur=${i / 3}`]],
          upstreamMs: i / 7,
        });
      }
      h.clock.advanceMs(1000);
      await h.plugin.settle();
    }
    down = false;
    runRequest(vm, h.clock, { info: { clusterName: OUTBOUND }, requestHeaders: REQ, responseHeaders: [[":status", "200"]] });
    for (let i = 0; i < 10; i++) {
      h.clock.advanceMs(1000);
      await h.plugin.settle();
    }
    assert.ok(h.posts.length >= 4);
    for (const p of h.posts) {
      const b = validateBatch(decodeMsgpack(p.body), LIMITS);
      assert.ok(b.series.length <= 17);
    }
  } finally {
    h.stop();
  }
});

test("a wall clock stepped backwards (NTP) never yields an inverted window, which the aggregator would reject", async () => {
  // proxy_get_current_time_nanoseconds is the dispatcher's wall clock (envoy
  // source/extensions/common/wasm/context.cc getCurrentTimeNanoseconds): it can jump.
  class SteppingClock extends ManualClock {
    back = 0n;
    override wallNs(): bigint { return super.wallNs() - this.back; }
  }
  const clock = new SteppingClock({ wallNs: 1_700_000_000_000_000_000n });
  const h = await harness(BASE_CONFIG, { clock });
  try {
    const vm = h.plugin.workers[0]!;
    runRequest(vm, h.clock, { info: { clusterName: OUTBOUND }, requestHeaders: REQ, responseHeaders: [[":status", "200"]] });
    clock.back = 5_000_000_000n; // 5 s back, before this window's start
    h.clock.advanceMs(1000);
    await h.plugin.settle();
    runRequest(vm, h.clock, { info: { clusterName: OUTBOUND }, requestHeaders: REQ, responseHeaders: [[":status", "200"]] });
    h.clock.advanceMs(1000);
    await h.plugin.settle();
    assert.equal(h.posts.length, 2);
    for (const p of h.posts) {
      const b = validateBatch(decodeMsgpack(p.body), LIMITS);
      assert.ok(b.window[0] <= b.window[1], JSON.stringify(b.window));
    }
  } finally {
    h.stop();
  }
});

test("a label value with a NUL byte (forged peer metadata) becomes 'other' and the batch still validates", async () => {
  const h = await harness(BASE_CONFIG);
  try {
    const vm = h.plugin.workers[0]!;
    runRequest(vm, h.clock, {
      info: { clusterName: INBOUND, mtls: true, properties: { "filter_state\u0000downstream_peer": { workload: "evil\u0000name", namespace: "web" } } },
      requestHeaders: REQ, responseHeaders: [[":status", "200"]],
    });
    h.clock.advanceMs(1000);
    await h.plugin.settle();
    assert.equal(h.posts.length, 1);
    const b = validateBatch(decodeMsgpack(h.posts[0]!.body), LIMITS);
    assert.equal(b.series[0]!.labels[1], "other");
    assert.equal(b.series[0]!.labels[2], "web");
  } finally {
    h.stop();
  }
});

test("mixed fleet: the built filter's v2 batch and a v1 batch (reference encoder) for one label set, one aggregator, counts exact", async () => {
  const h = await harness(BASE_CONFIG);
  const a = testApp();
  try {
    const vm = h.plugin.workers[0]!;
    for (let i = 0; i < 7; i++) {
      runRequest(vm, h.clock, { info: { clusterName: OUTBOUND }, requestHeaders: REQ, responseHeaders: [[":status", "200"], ["server-timing", "app;dur=6"]], upstreamMs: 12 });
    }
    h.clock.advanceMs(1000);
    await h.plugin.settle();
    assert.equal(h.posts.length, 1);
    const v2 = h.posts[0]!.body;
    const [s] = validateBatch(decodeMsgpack(v2), LIMITS).series;
    const labels = Object.fromEntries(LABEL_NAMES.map((n, i) => [n, s!.labels[i]!])) as Record<(typeof LABEL_NAMES)[number], string>;
    const v1 = buildBatch({ v: 1, vm: "00000000000000a1", series: [requests(3, { requestMs: 12, upstreamMs: 12, appMs: 6 }, labels)] });
    assert.equal((await a.post(v2)).statusCode, 204);
    assert.equal((await a.post(v1)).statusCode, 204);
    const p = parseExposition(await a.scrape());
    assert.equal(sample(p, "meshlat_requests_total", labels), 10);
    assert.equal(sample(p, "meshlat_request_duration_milliseconds_count", labels), 10);
    assert.equal(sample(p, "meshlat_request_duration_milliseconds_sum", labels), 120);
    assert.equal(sample(p, "meshlat_app_duration_milliseconds_sum", labels), 60);
    assert.equal(sample(p, "meshlat_network_duration_milliseconds_sum", labels), 60);
    // The filter's 7 requests at 12 ms are exact at le=16; v1's 3 sit in its (10, 25] ms bucket, counted at 32.
    assert.equal(sample(p, "meshlat_request_duration_milliseconds_bucket", { ...labels, le: "16" }), 7);
    assert.equal(sample(p, "meshlat_request_duration_milliseconds_bucket", { ...labels, le: "32" }), 10);
  } finally {
    h.stop();
    await a.fastify.close();
  }
});
