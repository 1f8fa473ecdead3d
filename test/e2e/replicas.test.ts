// Several aggregator replicas behind Envoy's ring hash on :authority (the filter's default
// authority starts with its workload): the same traffic goes once to one replica and once to
// three, each set scraped by its own real Prometheus. With `prometheus_url`, the views of the
// three-replica set (/api/v1/latency, /graph, /overview) equal the one-replica set's, and the
// three replicas together expose no more label sets than the one — also after one of the three
// restarted and another went away for good (its workloads moving on the ring), and while the
// data is younger than the window (rates divide by the time it covers).
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { build } from "../../aggregator/src/app.ts";
import type { App } from "../../aggregator/src/app.ts";
import { makeConfig } from "../../aggregator/src/config.ts";
import { HashRing } from "../sidecar/ring-hash.ts";
import { batchValue, encodeBatch } from "../support/batch-builder.ts";
import type { Labels, SeriesInput } from "../support/batch-builder.ts";
import { seededRandom } from "../support/rand.ts";
import { Prometheus } from "./prometheus.ts";

const FQDN = "meshlat-aggregator.istio-system.svc.cluster.local";
const NS = ["shop", "bank"];
const CHAIN = ["frontend", "checkout", "payment"];
const TIERS = ["free", "premium", "unknown"];

/** `port`: listen there (a restart keeps its address, so Prometheus sees the same instance). */
async function replica(prometheusUrl = "", port = 0): Promise<App & { port: number }> {
  // The test Prometheus scrapes every second: that is the views' step.
  const app = build(makeConfig({ log_level: "silent", host: "127.0.0.1", shed_event_loop_delay_ms: 0, caller_identity: "off", prometheus_url: prometheusUrl, prometheus_step_s: 1 }));
  await app.fastify.listen({ host: "127.0.0.1", port });
  const addr = app.fastify.server.address();
  return Object.assign(app, { port: typeof addr === "object" && addr ? addr.port : 0 });
}

/** One proxy's batches: both reporters of its workload, tiers, errors, varied timings; VM ids from `vmBase` + 1. */
function batches(rand: () => number, vmBase = 0): { workload: string; ns: string; body: Uint8Array; requests: number }[] {
  const out: { workload: string; ns: string; body: Uint8Array; requests: number }[] = [];
  let vm = vmBase;
  for (const ns of NS) {
    CHAIN.forEach((wl, i) => {
      for (let seq = 1; seq <= 3; seq++) {
        const series: SeriesInput[] = [];
        let requests = 0;
        for (const tier of TIERS) {
          const code = rand() < 0.2 ? "503" : "200";
          const n = 1 + Math.floor(rand() * 30);
          const ms = Array.from({ length: n }, () => 1 + rand() * 40 * (i + 1));
          const timings = { request: ms, upstream: ms.map((v) => v * 0.8), proxy: ms.map((v) => v * 0.2), app: ms.map((v) => v * 0.6), network: ms.map((v) => v * 0.2) };
          const base: Partial<Labels> = { user_tier: tier, response_code: code, response_flags: code === "503" ? "UF" : "-" };
          if (i > 0) {
            series.push({ count: n, timings, labels: { ...base, reporter: "destination", source_workload: CHAIN[i - 1]!, source_namespace: ns, destination_service: `${wl}.${ns}.svc.cluster.local`, connection_security_policy: "mutual_tls" } });
            requests += n;
          }
          if (i < CHAIN.length - 1) {
            series.push({ count: n, timings, labels: { ...base, reporter: "source", source_workload: wl, source_namespace: ns, destination_service: `${CHAIN[i + 1]}.${ns}.svc.cluster.local` } });
            requests += n;
          }
        }
        const now = Date.now();
        out.push({ workload: wl, ns, requests, body: encodeBatch(batchValue({ vm: (++vm).toString(16).padStart(16, "0"), seq, window: [now - 1000, now], series, proxy: { workload: wl, namespace: ns } })) });
      }
    });
  }
  return out;
}

async function post(port: number, body: Uint8Array): Promise<void> {
  const r = await fetch(`http://127.0.0.1:${port}/v1/batches`, { method: "POST", headers: { "content-type": "application/msgpack" }, body });
  assert.equal(r.status, 204, await r.text());
}

/**
 * The answer without its span and rates, after checking that every rate is requests / span:
 * two Prometheus servers started apart have watched young data for different times.
 */
function spanFree(view: Record<string, unknown>): unknown {
  const span = view.span_seconds as number;
  assert.ok(span >= 1 && span <= (view.window_seconds as number), `span_seconds ${span} of ${view.window_seconds}`);
  const strip = (x: unknown): unknown => {
    if (Array.isArray(x)) return x.map(strip);
    if (!x || typeof x !== "object") return x;
    const o = { ...(x as Record<string, unknown>) };
    if ("rate_per_s" in o) {
      assertSame(o.rate_per_s, (o.requests as number) / span, "rate_per_s");
      delete o.rate_per_s;
    }
    delete o.span_seconds;
    return Object.fromEntries(Object.entries(o).map(([k, v]) => [k, strip(v)]));
  };
  return strip(view);
}

/** Floats summed in another order may differ in the last bits; everything else must be equal. */
function assertSame(a: unknown, b: unknown, path = "$"): void {
  if (typeof a === "number" && typeof b === "number") {
    assert.ok(Math.abs(a - b) <= 1e-9 * Math.max(1, Math.abs(a)), `${path}: ${a} != ${b}`);
  } else if (Array.isArray(a) && Array.isArray(b)) {
    assert.equal(a.length, b.length, `${path}: length`);
    a.forEach((x, i) => assertSame(x, b[i], `${path}[${i}]`));
  } else if (a && b && typeof a === "object" && typeof b === "object") {
    assert.deepEqual(Object.keys(a).sort(), Object.keys(b).sort(), `${path}: keys`);
    for (const k of Object.keys(a)) assertSame((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k], `${path}.${k}`);
  } else assert.equal(a, b, path);
}

describe("three replicas behind the ring hash, views from Prometheus", { timeout: 90_000 }, () => {
  let one: Awaited<ReturnType<typeof replica>>;
  let three: Awaited<ReturnType<typeof replica>>[];
  let promOne: Prometheus, promThree: Prometheus;
  let viewOne: Awaited<ReturnType<typeof replica>>, viewThree: Awaited<ReturnType<typeof replica>>;
  let total = 0;

  before(async () => {
    one = await replica();
    three = [await replica(), await replica(), await replica()];
    promOne = await Prometheus.start([{ job: "meshlat", targets: [`127.0.0.1:${one.port}`] }]);
    promThree = await Prometheus.start([{ job: "meshlat", targets: three.map((r) => `127.0.0.1:${r.port}`) }]);
    viewOne = await replica(promOne.url);
    viewThree = await replica(promThree.url);
    // Hosts keyed by stable names, not their ephemeral ports: where the workloads land must not
    // change from run to run (Envoy keys a host by its address, which a Deployment's pods keep).
    const ring = new HashRing(three, (r) => `replica-${three.indexOf(r)}`);
    for (const b of batches(seededRandom(5))) {
      const authority = `${b.workload}.${b.ns}.${FQDN}`;
      await post(one.port, b.body);
      await post(ring.pick(authority)!.port, b.body);
      total += b.requests;
    }
    for (const p of [promOne, promThree]) await p.waitFor("sum(meshlat_requests_total)", (v) => v === total, 20_000);
  });
  after(async () => {
    await promOne?.stop();
    await promThree?.stop();
    for (const a of [one, ...(three ?? []), viewOne, viewThree]) await a?.fastify.close();
  });

  test("the ring spreads workloads, and the three replicas expose no more label sets than one", async () => {
    const held = three.map((r) => r.state.store.size);
    assert.ok(held.filter((n) => n > 0).length >= 2, `label sets per replica: ${held}`);
    assert.equal(held.reduce((a, b) => a + b, 0), one.state.store.size);
    assert.equal(await promThree.scalar("count(meshlat_requests_total)"), await promOne.scalar("count(meshlat_requests_total)"));
  });

  for (const url of [
    "/api/v1/latency?destination_service=checkout.shop.svc.cluster.local&by=user_tier",
    "/api/v1/latency?destination_service=payment.bank.svc.cluster.local",
    "/api/v1/graph",
    "/api/v1/graph?namespace=bank",
  ]) {
    test(`${url}: three replicas answer as one`, async () => {
      const a = (await viewOne.fastify.inject({ method: "GET", url })).json();
      const b = (await viewThree.fastify.inject({ method: "GET", url })).json();
      assert.ok((a.groups ?? a.edges).length > 0, "the answer is not empty");
      assertSame(spanFree(b), spanFree(a));
    });
  }

  test("/api/v1/overview: graph and services from Prometheus equal across replica counts", async () => {
    const a = (await viewOne.fastify.inject({ method: "GET", url: "/api/v1/overview?by=region" })).json();
    const b = (await viewThree.fastify.inject({ method: "GET", url: "/api/v1/overview?by=region" })).json();
    assert.ok(a.services.length > 0);
    const [x, y] = [spanFree(a) as typeof a, spanFree(b) as typeof b];
    assertSame(y.graph, x.graph);
    assertSame(y.services, x.services);
  });

  test("counts and means from Prometheus equal the single replica's own store", async () => {
    const url = "/api/v1/latency?destination_service=checkout.shop.svc.cluster.local&by=user_tier";
    const local = (await one.fastify.inject({ method: "GET", url })).json();
    const prom = (await viewThree.fastify.inject({ method: "GET", url })).json();
    assert.equal(prom.groups.length, local.groups.length);
    for (let i = 0; i < local.groups.length; i++) {
      assert.equal(prom.groups[i].requests, local.groups[i].requests);
      assertSame(prom.groups[i].timings.request.mean_ms, local.groups[i].timings.request.mean_ms);
    }
  });

  test("Prometheus unreachable: 502 AGG_ERR_PROMETHEUS, ingest unaffected", async () => {
    const dead = await replica("http://127.0.0.1:9/");
    try {
      const r = await dead.fastify.inject({ method: "GET", url: "/api/v1/graph" });
      assert.equal(r.statusCode, 502);
      assert.equal(r.json().code, "AGG_ERR_PROMETHEUS");
    } finally {
      await dead.fastify.close();
    }
  });
});

/** meshlat_requests_total summed over a replica's own /metrics. */
async function ownRequests(r: App): Promise<number> {
  const body = (await r.fastify.inject({ method: "GET", url: "/metrics" })).body;
  let n = 0;
  for (const m of body.matchAll(/^meshlat_requests_total\{[^}]*\} (\d+)$/gm)) n += Number(m[1]);
  return n;
}

describe("a replica restarted, another gone for good, data younger than the window", { timeout: 120_000 }, () => {
  let ref: Awaited<ReturnType<typeof replica>>, viewRef: Awaited<ReturnType<typeof replica>>, view3: Awaited<ReturnType<typeof replica>>;
  let live: Awaited<ReturnType<typeof replica>>[] = [];
  let promRef: Prometheus, prom3: Prometheus;
  const firstScrape = [0, 0];
  let total = 0;
  const authority = (b: { workload: string; ns: string }) => `${b.workload}.${b.ns}.${FQDN}`;

  before(async () => {
    ref = await replica();
    const three = [await replica(), await replica(), await replica()];
    live = [...three];
    promRef = await Prometheus.start([{ job: "meshlat", targets: [`127.0.0.1:${ref.port}`] }]);
    prom3 = await Prometheus.start([{ job: "meshlat", targets: three.map((r) => `127.0.0.1:${r.port}`) }]);
    // Its first scrape comes some seconds after it is ready (discovery updates come every 5 s):
    // between now and when the poll sees it.
    firstScrape[0] = Date.now();
    await prom3.waitFor("count(meshlat_aggregator_series)", (v) => v === 3);
    firstScrape[1] = Date.now();
    viewRef = await replica(promRef.url);
    view3 = await replica(prom3.url);

    const send = async (list: ReturnType<typeof batches>, ring: HashRing<(typeof three)[number]>) => {
      for (const b of list) {
        await post(ref.port, b.body);
        await post(ring.pick(authority(b))!.port, b.body);
        total += b.requests;
      }
      await promRef.waitFor("sum(meshlat_requests_total)", (v) => v === total, 20_000);
      let sum = 0;
      for (const r of live) sum += await ownRequests(r);
      await prom3.waitFor("sum(meshlat_requests_total)", (v) => v === sum, 20_000);
    };
    // Stable host keys (not the ephemeral ports): the same workloads land on the same replicas in
    // every run, so the two chosen below both hold label sets; a replica back on its address keeps its key.
    const names = new Map(three.map((r, i) => [r, `replica-${i}`]));
    await send(batches(seededRandom(7)), new HashRing(three, (r) => names.get(r)!));

    // The two replicas holding the most label sets: one restarts on its address (its counters
    // start again from 0 under the same instance), the other goes away for good.
    const [restarted, gone] = [...three].sort((a, b) => b.state.store.size - a.state.store.size);
    assert.ok(restarted!.state.store.size > 0 && gone!.state.store.size > 0, "both hold label sets");
    await restarted!.fastify.close();
    await gone!.fastify.close();
    await prom3.waitFor("sum(up)", (v) => v === 1);
    const back = await replica("", restarted!.port);
    names.set(back, names.get(restarted!)!);
    live = [...three.filter((r) => r !== restarted && r !== gone), back];
    await prom3.waitFor("sum(up)", (v) => v === 2);
    // The gone replica's workloads move to the next replica on the ring (docs/scale.md).
    await send(batches(seededRandom(8), 100), new HashRing(live, (r) => names.get(r)!));
  });
  after(async () => {
    await promRef?.stop();
    await prom3?.stop();
    for (const a of [ref, viewRef, view3, ...live]) await a?.fastify.close();
  });

  test("what the replicas expose now misses the restarted and the gone replica's earlier counts", async () => {
    // The scenario is a real test of the views: summing the current counters undercounts.
    assert.ok(await prom3.scalar("sum(meshlat_requests_total)") < total);
  });

  for (const url of [
    "/api/v1/graph",
    "/api/v1/latency?destination_service=checkout.shop.svc.cluster.local&by=user_tier",
    "/api/v1/latency?destination_service=payment.bank.svc.cluster.local&by=user_tier,region",
  ]) {
    test(`${url}: the restarted and the gone replica count in full, as one replica that never failed`, async () => {
      const a = (await viewRef.fastify.inject({ method: "GET", url })).json();
      const b = (await view3.fastify.inject({ method: "GET", url })).json();
      assert.ok((a.groups ?? a.edges).length > 0, "the answer is not empty");
      assertSame(spanFree(b), spanFree(a));
      // And the counts are those the never-failed replica holds in its own store.
      const own = (await ref.fastify.inject({ method: "GET", url })).json();
      assert.deepEqual((b.groups ?? b.edges).map((x: { requests: number }) => x.requests), (own.groups ?? own.edges).map((x: { requests: number }) => x.requests));
    });
  }

  test("data younger than the window: rates divide by the time Prometheus has data for, not the window", async () => {
    const asked = Date.now();
    const g = (await view3.fastify.inject({ method: "GET", url: "/api/v1/graph?window=5m" })).json();
    const answered = Date.now();
    assert.equal(g.window_seconds, 300);
    // From the first scrape to when the view read the time: bounded by what this test saw.
    const [lo, hi] = [(asked - firstScrape[1]!) / 1000, (answered - firstScrape[0]!) / 1000];
    assert.ok(g.span_seconds >= lo - 0.1 && g.span_seconds <= hi + 0.1, `span_seconds ${g.span_seconds}, expected ${lo.toFixed(1)}–${hi.toFixed(1)} s`);
    spanFree(g); // every rate_per_s = requests / span_seconds
    const e = g.edges[0];
    assert.ok(e.rate_per_s > e.requests / 300 * 2, `rate ${e.rate_per_s} for ${e.requests} requests in ${g.span_seconds} s`);
  });
});

describe("a restart after which the counters pass their old values (no drop for resets() to see)", { timeout: 90_000 }, () => {
  test("the restart is read from meshlat_aggregator_start_time_seconds: both lives count", async () => {
    let agg = await replica();
    const port = agg.port;
    const prom = await Prometheus.start([{ job: "meshlat", targets: [`127.0.0.1:${port}`] }]);
    const view = await replica(prom.url);
    const send = async (vm: string, n: number) => {
      const series = [{ count: n, labels: { source_workload: "frontend", source_namespace: "shop", destination_service: "checkout.shop.svc.cluster.local" } }];
      await post(agg.port, encodeBatch(batchValue({ vm, seq: 1, series, proxy: { workload: "frontend", namespace: "shop" } })));
      await prom.waitFor("sum(meshlat_requests_total)", (v) => v === n);
    };
    try {
      await send("00000000000000a1", 5);
      await agg.fastify.close();
      await prom.waitFor("sum(up)", (v) => v === 0);
      agg = await replica("", port);
      await send("00000000000000a2", 50);
      assert.equal(await prom.scalar("sum(resets(meshlat_requests_total[5m]))"), 0, "no drop in the counter");
      const g = (await view.fastify.inject({ method: "GET", url: "/api/v1/graph" })).json();
      assert.equal(g.edges[0].requests, 55);
    } finally {
      await prom.stop();
      await view.fastify.close();
      await agg.fastify.close();
    }
  });
});
