// Rates over the time the data covers: an aggregator younger than a window must not spread its
// counts over time it never observed (as Prometheus' rate() extrapolates only over its samples).
import { test } from "node:test";
import assert from "node:assert/strict";
import { buildBatch, requests } from "../../test/support/batch-builder.ts";
import type { SeriesInput } from "../../test/support/batch-builder.ts";
import { testApp } from "./helpers.ts";
import type { TestApp } from "./helpers.ts";

const dst = (s: SeriesInput): SeriesInput => ({ ...s, labels: { reporter: "destination", connection_security_policy: "mutual_tls", ...s.labels } });
const SVC = "payment.shop.svc.cluster.local";
const WINDOWS = ["1m", "5m", "15m", "1h"];
const within5 = (got: number, want: number, what: string) =>
  assert.ok(Math.abs(got - want) <= 0.05 * want, `${what}: ${got} req/s, want ${want} ± 5%`);

/** One filter VM flushing every second for `seconds`, `perS` requests per second each way. */
async function feed(a: TestApp, seconds: number, perS: number, vm: string, firstWindowMs = 1000): Promise<void> {
  for (let i = 0; i < seconds; i++) {
    a.clock.now += 1000;
    const window: [number, number] = [a.clock.now - (i === 0 ? firstWindowMs : 1000), a.clock.now];
    const series = [requests(perS, { requestMs: 40, upstreamMs: 38 }, { destination_service: SVC }), dst(requests(perS, { requestMs: 10, upstreamMs: 9 }, { destination_service: SVC }))];
    const r = await a.post(buildBatch({ vm, seq: i + 1, window, series }));
    assert.equal(r.statusCode, 204, r.body);
  }
}

async function rates(a: TestApp, w: string): Promise<{ latency: number; graph: number; span: number }> {
  const l = (await a.get(`/api/v1/latency?destination_service=${SVC}&window=${w}`)).json();
  const g = (await a.get(`/api/v1/graph?window=${w}`)).json();
  assert.equal(l.groups.length, 1, JSON.stringify(l));
  assert.equal(g.edges.length, 1, JSON.stringify(g));
  return { latency: l.groups[0].rate_per_s, graph: g.edges[0].rate_per_s, span: l.span_seconds };
}

test("a fresh aggregator fed for 10 s at 55 req/s reports 55 req/s in every window", async () => {
  const a = testApp({ min_samples: 1 });
  try {
    a.clock.now += 4_300; // not on a slot boundary
    await feed(a, 10, 55, "a1b2c3d4e5f60718");
    for (const w of WINDOWS) {
      const r = await rates(a, w);
      within5(r.latency, 55, `latency ${w}`);
      within5(r.graph, 55, `graph ${w}`);
      assert.ok(r.span <= 10.5, `${w}: span ${r.span} s covers only the 10 s observed`);
    }
  } finally { await a.fastify.close(); }
});

test("a filter's first batch reporting time from before the aggregator started counts that time too", async () => {
  const a = testApp({ min_samples: 1 });
  try {
    // The first flush after a restart holds the 5 s the filter buffered while the aggregator was down.
    const vm = "0123456789abcdef";
    a.clock.now += 1000;
    assert.equal((await a.post(buildBatch({ vm, seq: 1, window: [a.clock.now - 6000, a.clock.now], series: [requests(6 * 20, { requestMs: 5 }, { destination_service: SVC })] }))).statusCode, 204);
    for (let i = 2; i <= 5; i++) {
      a.clock.now += 1000;
      assert.equal((await a.post(buildBatch({ vm, seq: i, window: [a.clock.now - 1000, a.clock.now], series: [requests(20, { requestMs: 5 }, { destination_service: SVC })] }))).statusCode, 204);
    }
    for (const w of WINDOWS) within5((await rates(a, w)).latency, 20, `latency ${w}`);
  } finally { await a.fastify.close(); }
});

test("once the data is older than a window, rates divide by the window's covered span", async () => {
  const a = testApp({ min_samples: 1 });
  try {
    await feed(a, 1, 30, "fedcba9876543210");
    a.clock.now += 2 * 60_000;
    await feed(a, 10, 30, "0fedcba987654321");
    const r = await rates(a, "1m");
    // 300 requests over the 1m window's slots (60 s and the current partial slot), not over 10 s.
    assert.ok(r.span >= 60 && r.span < 70, `span ${r.span}`);
    assert.equal(r.latency, 300 / r.span);
  } finally { await a.fastify.close(); }
});
