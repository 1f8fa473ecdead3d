// The latency API's `slowest`: per service / tier / window, the slowest traced requests the
// filters reported (wire v2 exemplars), slowest first, at most SLOWEST_KEPT, only from the window.
import { test } from "node:test";
import assert from "node:assert/strict";
import { buildBatch, requests } from "../../test/support/batch-builder.ts";
import type { SeriesInput } from "../../test/support/batch-builder.ts";
import { testApp, windowAt } from "./helpers.ts";
import { SLOWEST_KEPT, keepSlowest } from "../src/store/exemplars.ts";
import type { Exemplar } from "../src/store/exemplars.ts";

const SVC = "checkout.shop.svc.cluster.local";
const id = (n: number) => n.toString(16).padStart(32, "0");

test("keepSlowest: a bounded top-k, slowest first", () => {
  const list: Exemplar[] = [];
  for (const v of [5, 9, 1, 7, 7, 3, 12, 2]) keepSlowest(list, { traceId: id(v), valueMs: v, timeMs: 0 }, 4);
  assert.deepEqual(list.map((e) => e.valueMs), [12, 9, 7, 7]);
});

test("latency API: each tier's slowest trace ids in the window, slowest first; none without trace headers", async () => {
  const a = testApp({ trace_url_template: "http://jaeger.tracing:16686/trace/{trace_id}?uiEmbed=v0" });
  try {
    const t = a.clock.now;
    let seq = 1;
    const post = (series: SeriesInput[]) =>
      a.post(buildBatch({ v: 2, vm: "00000000000000bb", seq: seq++, window: windowAt(a.clock.now), series }));
    // An old batch, outside the 1m window by the time of the query.
    assert.equal((await post([{ ...requests(1, { requestMs: 5000 }, { user_tier: "premium" }), exemplar: { traceId: id(999), valueUs: 5_000_000, timeMs: t } }])).statusCode, 204);
    a.clock.now += 120_000;
    for (let i = 1; i <= 8; i++) {
      const r = await post([
        { ...requests(1, { requestMs: 100 * i }, { user_tier: "premium" }), exemplar: { traceId: id(i), valueUs: 100_000 * i, timeMs: a.clock.now } },
        requests(3, { requestMs: 10 * i }, { user_tier: "free" }), // no trace header
      ]);
      assert.equal(r.statusCode, 204, r.body);
      a.clock.now += 1000;
    }
    const r = await a.get(`/api/v1/latency?destination_service=${SVC}&window=1m&by=user_tier`);
    assert.equal(r.statusCode, 200, r.body);
    const groups = r.json().groups as { user_tier: string; slowest: { trace_id: string; request_ms: number; time_ms: number; trace_url: string | null }[] }[];
    const premium = groups.find((g) => g.user_tier === "premium")!;
    assert.deepEqual(premium.slowest.map((s) => [s.trace_id, s.request_ms]), [8, 7, 6, 5, 4].map((i) => [id(i), 100 * i]));
    assert.equal(premium.slowest.length, SLOWEST_KEPT);
    assert.equal(premium.slowest[0]!.trace_url, `http://jaeger.tracing:16686/trace/${id(8)}?uiEmbed=v0`, "the configured template, trace id filled in");
    assert.ok(premium.slowest.every((s) => s.time_ms > t), "the old, slower request is outside the window");
    assert.deepEqual(groups.find((g) => g.user_tier === "free")!.slowest, []);
  } finally { await a.fastify.close(); }
});

test("latency API: without trace_url_template the slowest requests carry no link", async () => {
  const a = testApp();
  try {
    await a.post(buildBatch({ v: 2, series: [{ ...requests(1, { requestMs: 30 }), exemplar: { traceId: id(1), valueUs: 30_000, timeMs: a.clock.now } }] }));
    const g = (await a.get(`/api/v1/latency?destination_service=${SVC}`)).json().groups[0];
    assert.deepEqual(g.slowest, [{ trace_id: id(1), request_ms: 30, time_ms: a.clock.now, trace_url: null }]);
  } finally { await a.fastify.close(); }
});
