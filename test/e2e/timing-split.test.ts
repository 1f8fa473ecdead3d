// Where the time goes, end to end through Prometheus: injected network delay on one hop moves
// that hop's `network` timing and not `app`; injected app delay moves `app` and the latency
// API says `application`; and the mesh's view minus the app's own histogram equals meshlat's
// proxy + network. Phases are compared through exact counter deltas (sum and count), read
// once everything a phase produced has been flushed and scraped.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { LoadGenerator } from "../sidecar/load-generator.ts";
import { startStack, svc, type Stack } from "./stack.ts";

const PER_PHASE = 120;
const NET_DELAY_MS = 40;
const APP_DELAY_MS = 60;
/**
 * "Did not move": the timing did not absorb the injected delay. One-sided, because slower
 * phases queue less in this single-process mesh (less event-loop contention shows up as
 * slightly lower network/proxy times), which is noise, not a shift of the delay.
 */
const STILL_MS = 8;
const notMoved = (d: number) => d < STILL_MS && d > -3 * STILL_MS;
/** "Moved by the injected delay": timer jitter on a starved machine blurs the baseline. */
const movedBy = (d: number, delay: number) => d > delay * 0.7 && d < delay + 30;

type Timing = "request" | "upstream" | "proxy" | "app" | "network";
type Snapshot = Record<Timing, { sum: number; count: number }> & {
  appOwn: { sum: number; count: number };
  /** network of the other hop, frontend → checkout. */
  otherNet: { sum: number; count: number };
};

describe("timing split under injected delays", { timeout: 120_000 }, () => {
  let stack: Stack;
  let lg: LoadGenerator;
  let sent = 0;
  let hop: string;
  const snaps: Snapshot[] = [];
  let verdictAfterNetworkPhase = "";

  /** Exact totals for the checkout → payment hop as checkout's sidecar reported it. */
  async function snapshot(): Promise<Snapshot> {
    const s = {} as Snapshot;
    for (const t of ["request", "upstream", "proxy", "app", "network"] as Timing[]) {
      const m = `meshlat_${t}_duration_milliseconds`;
      s[t] = { sum: await stack.prom.scalar(`sum(${m}_sum{${hop}})`), count: await stack.prom.scalar(`sum(${m}_count{${hop}})`) };
    }
    const other = `reporter="source",source_workload="frontend",${svc(stack.mesh, "checkout")}`;
    s.otherNet = {
      sum: await stack.prom.scalar(`sum(meshlat_network_duration_milliseconds_sum{${other}})`),
      count: await stack.prom.scalar(`sum(meshlat_network_duration_milliseconds_count{${other}})`),
    };
    s.appOwn = {
      sum: 1000 * (await stack.prom.scalar(`sum(http_request_duration_seconds_sum{job="payment"})`)),
      count: await stack.prom.scalar(`sum(http_request_duration_seconds_count{job="payment"})`),
    };
    return s;
  }

  async function phase(): Promise<void> {
    await lg.runCount(PER_PHASE);
    sent += PER_PHASE;
    // Flushed and scraped: both the hop's source reporter and the app agree with the sender.
    await stack.prom.waitFor(`sum(meshlat_requests_total{${hop}})`, (v) => v === sent, 20_000);
    await stack.prom.waitFor(`sum(http_request_duration_seconds_count{job="payment"})`, (v) => v === sent, 10_000);
    await stack.prom.waitFor(`sum(meshlat_requests_total{reporter="source",source_workload="frontend"})`, (v) => v === sent, 10_000);
    snaps.push(await snapshot());
  }

  /** Mean of a timing over phase i (between snapshots i-1 and i). */
  function mean(i: number, t: Timing | "appOwn" | "otherNet"): number {
    const a = i === 0 ? { sum: 0, count: 0 } : snaps[i - 1][t];
    const b = snaps[i][t];
    return (b.sum - a.sum) / (b.count - a.count);
  }

  before(async () => {
    stack = await startStack({
      mesh: {
        services: [
          { name: "frontend", region: "us-east-1", delayMs: 1, calls: ["checkout"] },
          { name: "checkout", region: "us-east-1", delayMs: 2, calls: ["payment"] },
          { name: "payment", region: "eu-west-1", delayMs: 5 },
        ],
      },
    });
    hop = `reporter="source",source_workload="checkout",${svc(stack.mesh, "payment")}`;
    // Concurrency 2: enough traffic per phase, little queueing inside the one-process mesh.
    lg = new LoadGenerator({ ...stack.mesh.entry(), concurrency: 2, seed: 3 });
    await phase(); // 0: baseline
    stack.mesh.setNetworkDelay("checkout", "payment", NET_DELAY_MS);
    await phase(); // 1: network delay on checkout → payment
    verdictAfterNetworkPhase = findVerdicts(await latencyApi())[0] ?? "(none)";
    stack.mesh.setNetworkDelay("checkout", "payment", 0);
    stack.mesh.setAppDelay("payment", 5 + APP_DELAY_MS);
    await phase(); // 2: app delay in payment
  });
  after(async () => {
    lg?.close();
    await stack?.stop();
  });

  test("every request of every phase was observed with app and network timings", () => {
    for (let i = 0; i < snaps.length; i++) {
      for (const t of ["request", "upstream", "proxy", "app", "network"] as Timing[]) {
        const n = snaps[i][t].count - (i === 0 ? 0 : snaps[i - 1][t].count);
        assert.equal(n, PER_PHASE, `phase ${i} ${t} count`);
      }
    }
  });

  test("network delay on the hop moves network, not app and not proxy", (t) => {
    const dNet = mean(1, "network") - mean(0, "network");
    const dApp = mean(1, "app") - mean(0, "app");
    const dProxy = mean(1, "proxy") - mean(0, "proxy");
    t.diagnostic(`+${NET_DELAY_MS} ms on the hop: network ${dNet.toFixed(2)} ms, app ${dApp.toFixed(2)} ms, proxy ${dProxy.toFixed(2)} ms`);
    assert.ok(notMoved(dProxy), `proxy moved by ${dProxy.toFixed(2)} ms`);
    assert.ok(movedBy(dNet, NET_DELAY_MS), `network moved by ${dNet.toFixed(2)} ms`);
    assert.ok(notMoved(dApp), `app moved by ${dApp.toFixed(2)} ms`);
    // Only that hop: frontend → checkout's network stays put (checkout's own app time, from
    // its Server-Timing, absorbs its slower call).
    const dOther = mean(1, "otherNet") - mean(0, "otherNet");
    t.diagnostic(`other hop (frontend → checkout) network moved by ${dOther.toFixed(2)} ms`);
    assert.ok(notMoved(dOther), `frontend → checkout network moved by ${dOther.toFixed(2)} ms`);
  });

  test("app delay moves app, not network", (t) => {
    const dApp = mean(2, "app") - mean(0, "app");
    const dNet = mean(2, "network") - mean(0, "network");
    t.diagnostic(`+${APP_DELAY_MS} ms in payment: app ${dApp.toFixed(2)} ms, network ${dNet.toFixed(2)} ms`);
    assert.ok(movedBy(dApp, APP_DELAY_MS), `app moved by ${dApp.toFixed(2)} ms`);
    assert.ok(notMoved(dNet), `network moved by ${dNet.toFixed(2)} ms`);
  });

  test("mesh-observed minus the app's own histogram equals meshlat's proxy + network (±1 ms + 5%)", (t) => {
    for (let i = 0; i < snaps.length; i++) {
      const observed = mean(i, "request") - mean(i, "appOwn");
      const split = mean(i, "proxy") + mean(i, "network");
      const tol = 1 + 0.05 * mean(i, "request");
      t.diagnostic(`phase ${i}: request ${mean(i, "request").toFixed(3)} − app-own ${mean(i, "appOwn").toFixed(3)} = ${observed.toFixed(3)} ms; proxy ${mean(i, "proxy").toFixed(3)} + network ${mean(i, "network").toFixed(3)} = ${split.toFixed(3)} ms`);
      assert.ok(Math.abs(observed - split) <= tol, `phase ${i}: request − app-own = ${observed.toFixed(3)} ms, proxy + network = ${split.toFixed(3)} ms`);
    }
  });

  /** The aggregator's latency API for payment over the last minute (all phases so far). */
  async function latencyApi(): Promise<unknown> {
    const res = await fetch(`${stack.aggregator.url}/api/v1/latency?destination_service=${stack.mesh.fqdn("payment")}&window=1m`);
    assert.equal(res.status, 200);
    return res.json();
  }

  test("the latency API blamed the network while the hop was slow", () => {
    assert.equal(verdictAfterNetworkPhase, "network");
  });

  test("the latency API blames the application once payment is slow", async () => {
    const body = await latencyApi();
    const verdicts = findVerdicts(body);
    assert.ok(verdicts.length > 0, `no verdict in ${JSON.stringify(body).slice(0, 500)}`);
    assert.equal(verdicts[0], "application", JSON.stringify(body).slice(0, 800));
  });
});

/** Every `verdict` string in a JSON value, outermost first (the service-level one). */
function findVerdicts(v: unknown): string[] {
  const out: string[] = [];
  const queue: unknown[] = [v];
  while (queue.length) {
    const x = queue.shift();
    if (Array.isArray(x)) queue.push(...x);
    else if (x && typeof x === "object") {
      for (const [k, val] of Object.entries(x)) {
        if (k === "verdict" && typeof val === "string") out.push(val);
        else queue.push(val);
      }
    }
  }
  return out;
}
