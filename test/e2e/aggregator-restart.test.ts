// The aggregator is killed (SIGKILL) and restarted on the same address while the mesh keeps
// serving: no request fails or waits because of telemetry, the batches the filters buffered
// during the outage arrive after the restart, and nothing is counted twice — the new
// aggregator's totals equal exactly what the load generator sent after the kill.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { LoadGenerator, type LoadStats } from "../sidecar/load-generator.ts";
import { startStack, svc, type Stack } from "./stack.ts";

const BEFORE = 200;
const DURING = 200;
const AFTER = 100;

function clone(s: LoadStats): LoadStats {
  return { ...s, byStatus: new Map(s.byStatus), byTier: new Map(s.byTier) };
}

describe("aggregator killed and restarted mid-run", { timeout: 120_000 }, () => {
  let stack: Stack;
  let lg: LoadGenerator;
  let edge: string;
  let during: LoadStats;
  let total: LoadStats;
  let oldTotal = 0;
  let failedFlushes = 0;
  let outageMeanMs = 0;
  let baseMeanMs = 0;

  async function edgeCount(): Promise<number> {
    return stack.prom.scalar(`sum(meshlat_requests_total{reporter="destination",${edge}})`);
  }

  before(async () => {
    stack = await startStack({
      mesh: {
        // Keep every batch of the outage: 1 s at 250 ms flushes is well under 64 per VM.
        pluginConfig: { max_buffered_batches: 64 },
        services: [
          { name: "frontend", region: "us-east-1", calls: ["checkout"] },
          { name: "checkout", region: "us-east-1", calls: ["payment"] },
          { name: "payment", region: "eu-west-1" },
        ],
      },
    });
    edge = svc(stack.mesh, "frontend");
    // 250 req/s: the 200 requests of the outage span ~0.8 s, i.e. several 250 ms flushes.
    lg = new LoadGenerator({ ...stack.mesh.entry(), concurrency: 4, rps: 250, seed: 5 });
    let t = performance.now();
    await lg.runCount(BEFORE);
    baseMeanMs = (performance.now() - t) / BEFORE;
    // Quiesce so that no batch is in flight at the kill (an in-flight batch that the old
    // process merged but never acknowledged would be resent: unavoidable without persistence).
    oldTotal = await stack.prom.waitFor(`sum(meshlat_requests_total{reporter="destination",${edge}})`, (v) => v === BEFORE, 20_000);
    await stack.aggregator.kill("SIGKILL");
    const mark = clone(lg.stats);
    t = performance.now();
    await lg.runCount(DURING);
    outageMeanMs = (performance.now() - t) / DURING;
    during = clone(lg.stats);
    during.completed -= mark.completed;
    during.failed -= mark.failed;
    for (const [c, n] of mark.byStatus) during.byStatus.set(c, (during.byStatus.get(c) ?? 0) - n);
    await stack.aggregator.spawn();
    await lg.runCount(AFTER);
    total = lg.stats;
    // Flushed: every reporter/destination pair (destination: 3 services; source: the two
    // in-mesh hops) holds what was sent after the kill (or more: double counting, reported below).
    await stack.prom
      .waitFor(`count(sum by (reporter, destination_service) (meshlat_requests_total) >= ${DURING + AFTER})`, (v) => v === 5, 30_000)
      .catch(() => {});
    failedFlushes = await stack.prom.scalar(`sum(meshlat_filter_failed_flushes_total)`);
  });
  after(async () => {
    lg?.close();
    await stack?.stop();
  });

  test("the old aggregator had counted exactly the requests before the kill", () => {
    assert.equal(oldTotal, BEFORE);
  });

  test("every request during the outage succeeded, without waiting on telemetry", () => {
    assert.equal(during.failed, 0);
    assert.equal(during.completed, DURING);
    assert.equal(during.byStatus.get(200), DURING);
    assert.ok(outageMeanMs < baseMeanMs * 3 + 5, `mean ${outageMeanMs.toFixed(2)} ms during the outage vs ${baseMeanMs.toFixed(2)} ms before`);
    assert.deepEqual(stack.mesh.filterErrors(), { frontend: 0, checkout: 0, payment: 0 });
  });

  test("buffered batches arrived and nothing was double counted, at every reporter", async () => {
    assert.equal(total.completed, BEFORE + DURING + AFTER);
    assert.equal(await edgeCount(), DURING + AFTER);
    // Each hop's both reporters saw every request exactly once too.
    const r = await stack.prom.query(`sum by (reporter, destination_service) (meshlat_requests_total)`);
    assert.equal(r.length, 5, JSON.stringify(r));
    for (const s of r) assert.equal(s.value, DURING + AFTER, `${s.metric.reporter} ${s.metric.destination_service}`);
  });

  test("the filters counted the failed flushes of the outage", () => {
    assert.ok(failedFlushes > 0, `meshlat_filter_failed_flushes_total = ${failedFlushes}`);
  });
});
