// Exemplar capture through the shipped .wasm in the project's host: what reading a request's
// trace headers costs. While a root's traffic carries trace headers, on_request_headers reads
// the whole request-header map (proxy_get_header_map_pairs) instead of the tier header's value
// (proxy_get_header_map_value): tier and trace id in one call. Without trace headers only every
// 64th request does, to notice them. Either way a request makes the same number of host calls
// as before exemplars existed (test/filter/artifact.test.ts), and capturing allocates nothing
// (test/filter/memory.test.ts runs traced requests too).
import { test } from "node:test";
import assert from "node:assert/strict";
import { runRequest } from "../host/index.ts";
import type { RequestSpec, Vm } from "../host/index.ts";
import { seededRandom } from "../support/rand.ts";
import { decodeMsgpack } from "../../aggregator/src/wire/decode.ts";
import { validateBatch } from "../../aggregator/src/wire/validate.ts";
import { L } from "../../aggregator/src/wire/types.ts";
import { harness, oneBatchBody, BASE_CONFIG, OUTBOUND } from "./helpers.ts";
import type { Harness } from "./helpers.ts";

const ID = "4bf92f3577b34da6a3ce929d0e0e4736";
const REQ: [string, string][] = [[":method", "GET"], [":path", "/"], [":authority", "payments:8080"], ["x-user-tier", "premium"]];
const PAIRS = "env.proxy_get_header_map_pairs";
const VALUE = "env.proxy_get_header_map_value";

function spec(upstreamMs: number, trace: [string, string][]): RequestSpec {
  return {
    info: { clusterName: OUTBOUND, upstreamLocality: { region: "us-east-1" } },
    requestHeaders: [...REQ, ...trace],
    responseHeaders: [[":status", "200"]],
    upstreamMs,
  };
}

const traceSets: [string, [string, string][]][] = [
  ["a sampled traceparent", [["traceparent", `00-${ID}-00f067aa0ba902b7-01`]]],
  ["an unsampled traceparent", [["traceparent", `00-${ID}-00f067aa0ba902b7-00`]]],
  ["B3", [["x-b3-traceid", ID], ["x-b3-sampled", "1"]]],
  ["malformed", [["traceparent", `00-${ID.toUpperCase()}-00f067aa0ba902b7-01`], ["x-b3-traceid", "0".repeat(32)]]],
];

/** Host calls by function over `n` requests of random latency, with `trace` headers. */
function callsOver(vm: Vm, run: (ms: number) => void, n: number): Map<string, number> {
  const rand = seededRandom(16);
  vm.resetHostCalls();
  for (let i = 0; i < n; i++) run(0.1 + rand() * 20);
  return new Map(vm.hostCalls);
}
const total = (m: Map<string, number>) => [...m.values()].reduce((a, b) => a + b, 0);

test("trace headers cost no host call: the same number per request with any trace headers as without", async () => {
  const h = await harness({ ...BASE_CONFIG, flush_interval_ms: 60_000 });
  try {
    const vm = h.plugin.workers[0]!;
    const without = callsOver(vm, (ms) => runRequest(vm, h.clock, spec(ms, [])), 640);
    // without trace headers: the tier header's value, and every 64th request the whole map
    assert.equal(without.get(VALUE), 630);
    assert.equal(without.get(PAIRS), 640 + 10);
    for (const [name, trace] of traceSets) {
      const traced = callsOver(vm, (ms) => runRequest(vm, h.clock, spec(ms, trace)), 640);
      assert.equal(total(traced), total(without), name);
      // the first 64th request noticed the trace headers: from then on every request reads the map
      assert.ok((traced.get(VALUE) ?? 0) < 64, `${name}: ${traced.get(VALUE)} value reads`);
    }
    assert.equal(h.posts.length, 0, "one window throughout");
  } finally {
    h.stop();
  }
});

test("the whole map is read while the traffic carries trace headers; a window without them ends that", async () => {
  const h = await harness({ ...BASE_CONFIG, flush_interval_ms: 1000 });
  try {
    const vm = h.plugin.workers[0]!;
    const traced = spec(1, traceSets[0]![1]);
    const plain = spec(1, []);
    const calls = (s: RequestSpec, n: number) => callsOver(vm, () => runRequest(vm, h.clock, s), n);
    // plain traffic: requests 1..63 read the tier's value, the 64th probes the whole map
    assert.equal(calls(plain, 63).get(VALUE), 63);
    assert.equal(calls(plain, 1).get(VALUE), undefined, "the probe");
    // trace headers appear: noticed by the next probe, 64 requests on
    assert.equal(calls(traced, 63).get(VALUE), 63);
    assert.equal(calls(traced, 1).get(VALUE), undefined, "the probe finds them");
    assert.equal(calls(traced, 50).get(VALUE), undefined, "from then on: the whole map");
    assert.equal(calls(plain, 5).get(VALUE), undefined, "still, within the window");
    h.clock.advanceMs(1000); // the window had trace headers: the mode stays
    await h.plugin.settle();
    assert.equal(calls(plain, 5).get(VALUE), undefined);
    h.clock.advanceMs(1000); // a window without any: back to the tier's value
    await h.plugin.settle();
    assert.equal(calls(plain, 5).get(VALUE), 5);
  } finally {
    h.stop();
  }
});

// ---- on the wire: the 4th element of a v2 series, read by the aggregator's own decoder ----

const LIMITS = { maxSeries: 70000, maxStrings: 700000, maxBounds: 128, maxLabelLength: 1024, maxTimingBuckets: 160 };
const SAMPLED = `00-${ID}-00f067aa0ba902b7-01`;
const FAST = ["00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01", "00-80f198ee56343ba864fe8b2a57d3eff7-e457b5a2e4d86bd1-01"];
const CART = "outbound|8080||cart.shop.svc.cluster.local";

function req(cluster: string, upstreamMs: number, trace: [string, string][], tier = "premium"): RequestSpec {
  return {
    info: { clusterName: cluster, upstreamLocality: { region: "us-east-1" } },
    requestHeaders: [[":method", "GET"], [":path", "/"], [":authority", "x:8080"], ["x-user-tier", tier], ...trace],
    responseHeaders: [[":status", "200"]],
    upstreamMs,
  };
}

/** Runs the requests and closes the window; the batch as the aggregator validates it, its series keyed "<service> <tier>". */
async function window(h: Harness, specs: RequestSpec[]): Promise<Map<string, { count: number; exemplar?: { traceId: string; valueUs: number; timeMs: number } }>> {
  const b = validateBatch(decodeMsgpack(await oneBatchBody(h, specs)), LIMITS);
  return new Map(b.series.map((s) => [`${s.labels[L.destination_service]} ${s.labels[L.user_tier]}`, { count: s.count, ...(s.exemplar ? { exemplar: s.exemplar } : {}) }]));
}

/** 64 traced requests on a series of their own: the probe has seen trace headers, so every request reads them. */
const warmUp = (): RequestSpec[] => Array.from({ length: 64 }, () => req("outbound|8080||warm.shop.svc.cluster.local", 0.1, [["traceparent", FAST[0]!]]));

test("wire: each series carries its slowest traced request — trace id, total time, wall-clock end", async () => {
  const h = await harness(BASE_CONFIG);
  try {
    const vm = h.plugin.workers[0]!;
    for (const s of warmUp()) runRequest(vm, h.clock, s);
    const specs = [
      req(OUTBOUND, 3, [["traceparent", FAST[0]!]]),
      req(OUTBOUND, 250, [["traceparent", SAMPLED]]), // the slowest traced: 250 ms upstream, no body
      req(OUTBOUND, 400, []), // slower, but carries no trace id
      req(OUTBOUND, 7, [["traceparent", FAST[1]!]]),
      req(CART, 12, [["x-b3-traceid", "a3ce929d0e0e4736"]]),
      req(OUTBOUND, 2, [], "free"), // a series without any trace header
    ];
    // the wall-clock end of the 250 ms request: what the manual clock reads when it ends
    let endMs = 0;
    for (const [i, s] of specs.entries()) {
      runRequest(vm, h.clock, s);
      if (i === 1) endMs = Number(h.clock.wallNs() / 1_000_000n);
    }
    const got = await window(h, []);
    assert.deepEqual(got.get("payments.shop.svc.cluster.local premium"), { count: 4, exemplar: { traceId: ID, valueUs: 250_000, timeMs: endMs } });
    assert.deepEqual(got.get("cart.shop.svc.cluster.local premium")?.exemplar, { traceId: "a3ce929d0e0e4736", valueUs: 12_000, timeMs: got.get("cart.shop.svc.cluster.local premium")!.exemplar!.timeMs });
    assert.deepEqual(got.get("payments.shop.svc.cluster.local free"), { count: 1 }, "no trace header: no exemplar");

    // the next window starts without exemplars
    const next = await window(h, [req(OUTBOUND, 1, [])]);
    assert.deepEqual(next.get("payments.shop.svc.cluster.local premium"), { count: 1 });
  } finally {
    h.stop();
  }
});

const malformed: [string, [string, string][]][] = [
  ["an all-zero trace id", [["traceparent", `00-${"0".repeat(32)}-00f067aa0ba902b7-01`]]],
  ["an all-zero B3 id", [["x-b3-traceid", "0".repeat(16)]]],
  ["a short trace id", [["traceparent", `00-${ID.slice(2)}-00f067aa0ba902b7-01`]]],
  ["a 20-digit B3 id", [["x-b3-traceid", ID.slice(0, 20)]]],
  ["non-hex", [["traceparent", `00-${ID.slice(0, 31)}g-00f067aa0ba902b7-01`]]],
  ["upper-case hex", [["x-b3-traceid", ID.toUpperCase()]]],
  ["version ff", [["traceparent", `ff-${ID}-00f067aa0ba902b7-01`]]],
  ["version 00 with a suffix", [["traceparent", `${SAMPLED}-extra`]]],
  ["a repeated traceparent", [["traceparent", SAMPLED], ["traceparent", SAMPLED]]],
];

test("wire: malformed trace headers never become exemplars, however slow the request", async () => {
  const h = await harness({ ...BASE_CONFIG, flush_interval_ms: 60_000 }); // all in one window
  try {
    const specs = [...warmUp(), req(OUTBOUND, 5, [["traceparent", FAST[1]!]])];
    malformed.forEach(([, headers], i) => specs.push(req(OUTBOUND, 100 + i, headers), req(CART, 100 + i, headers)));
    const got = await window(h, specs);
    assert.equal(got.get("payments.shop.svc.cluster.local premium")?.exemplar?.traceId, "80f198ee56343ba864fe8b2a57d3eff7", "the fast valid one stays");
    assert.equal(got.get("payments.shop.svc.cluster.local premium")?.exemplar?.valueUs, 5_000);
    assert.deepEqual(got.get("cart.shop.svc.cluster.local premium"), { count: malformed.length }, "only malformed headers: none");
  } finally {
    h.stop();
  }
});

for (const sampledOnly of [true, false]) {
  test(`wire: exemplars_sampled_only ${sampledOnly}: an unsampled trace ${sampledOnly ? "is left out" : "counts"}`, async () => {
    const h = await harness({ ...BASE_CONFIG, ...(sampledOnly ? {} : { exemplars_sampled_only: false }) });
    try {
      const got = await window(h, [
        ...warmUp(),
        req(OUTBOUND, 5, [["traceparent", FAST[1]!]]),
        req(OUTBOUND, 80, [["traceparent", `00-${ID}-00f067aa0ba902b7-00`]]),
        req(CART, 90, [["x-b3-traceid", "a3ce929d0e0e4736"], ["x-b3-sampled", "0"]]),
      ]);
      assert.equal(got.get("payments.shop.svc.cluster.local premium")?.exemplar?.traceId, sampledOnly ? "80f198ee56343ba864fe8b2a57d3eff7" : ID);
      assert.equal(got.get("cart.shop.svc.cluster.local premium")?.exemplar?.traceId, sampledOnly ? undefined : "a3ce929d0e0e4736");
    } finally {
      h.stop();
    }
  });
}
