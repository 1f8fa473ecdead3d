// The VM's linear memory stops growing after warm-up: 1,000,000 requests (mixed labels, with
// a flush every 10,000) must not grow it by a single page. AssemblyScript's allocator grows
// memory in big steps when it runs out, so any per-request or per-flush garbage would show.
// The loop drives the stream callbacks directly (no clock steps) to stay fast.
import { test } from "node:test";
import assert from "node:assert/strict";
import type { StreamInfo } from "../host/index.ts";
import { harness, BASE_CONFIG, OUTBOUND, INBOUND } from "./helpers.ts";

const TOTAL = 1_000_000;
const WARMUP = 50_000;
const FLUSH_EVERY = 10_000;

test(`linear memory does not grow over ${TOTAL} requests after warm-up`, { timeout: 240_000 }, async () => {
  const h = await harness(BASE_CONFIG);
  try {
    const vm = h.plugin.workers[0]!;
    const tiers = ["free", "premium", "Gold", ""];
    const infos: StreamInfo[] = [
      { clusterName: OUTBOUND, upstreamLocality: { region: "us-east-1" } },
      { clusterName: "outbound|80||other.shop.svc.cluster.local", responseFlags: 0x20 },
      { clusterName: INBOUND, mtls: true, properties: { "filter_state\u0000downstream_peer": { workload: "web", namespace: "shop" } } },
    ];
    // trace headers on half the requests: capturing an exemplar's trace id allocates nothing
    const traces: [string, string][][] = [[], [["traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"]], [["x-b3-traceid", "a3ce929d0e0e4736"]], []];
    const reqs = tiers.map((t, i) => [[":method", "GET"], [":path", "/"], [":authority", "payments:8080"], ["x-user-tier", t], ...traces[i]!] as [string, string][]);
    const resps = [
      [[":status", "200"], ["server-timing", "db;dur=1, app;dur=2.5"]],
      [[":status", "503"]],
      [[":status", "200"], ["content-type", "text/plain"]],
    ] as [string, string][][];
    let baseline = 0;
    for (let i = 0; i < TOTAL + WARMUP; i++) {
      const s = vm.stream(infos[i % 3]!);
      s.requestHeaders(reqs[i & 3]!, true);
      s.responseHeaders(resps[i % 3]!, true);
      s.log();
      s.done();
      if (i % FLUSH_EVERY === FLUSH_EVERY - 1) {
        vm.tick();
        await h.plugin.settle();
      }
      if (i === WARMUP - 1) baseline = vm.memoryBytes();
      if (process.env.MEM_DEBUG && i % FLUSH_EVERY === 0) console.log(i, vm.memoryBytes());
    }
    assert.equal(vm.failed, false);
    assert.equal(vm.memoryBytes(), baseline, `grew from ${baseline} to ${vm.memoryBytes()} bytes`);
    const last = h.batches().at(-1)!;
    assert.equal(last.counters.requests, TOTAL + WARMUP);
    assert.equal(last.counters.dropped_batches, 0);
  } finally {
    h.stop();
  }
});
