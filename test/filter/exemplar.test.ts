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
import { harness, BASE_CONFIG, OUTBOUND } from "./helpers.ts";

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
