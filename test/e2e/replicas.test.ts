// Several aggregator replicas behind Envoy's ring hash on :authority (the filter's default
// authority starts with its workload): the same traffic goes once to one replica and once to
// three, each set scraped by its own real Prometheus. With `prometheus_url`, the views of the
// three-replica set (/api/v1/latency, /graph, /overview) equal the one-replica set's, and the
// three replicas together expose no more label sets than the one.
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

async function replica(prometheusUrl = ""): Promise<App & { port: number }> {
  const app = build(makeConfig({ log_level: "silent", host: "127.0.0.1", shed_event_loop_delay_ms: 0, caller_identity: "off", prometheus_url: prometheusUrl }));
  await app.fastify.listen({ host: "127.0.0.1", port: 0 });
  const addr = app.fastify.server.address();
  return Object.assign(app, { port: typeof addr === "object" && addr ? addr.port : 0 });
}

/** One proxy's batches: both reporters of its workload, tiers, errors, varied timings. */
function batches(rand: () => number): { workload: string; ns: string; body: Uint8Array; requests: number }[] {
  const out: { workload: string; ns: string; body: Uint8Array; requests: number }[] = [];
  let vm = 0;
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
    const ring = new HashRing(three, (r) => String(r.port));
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
      assertSame(b, a);
    });
  }

  test("/api/v1/overview: graph and services from Prometheus equal across replica counts", async () => {
    const a = (await viewOne.fastify.inject({ method: "GET", url: "/api/v1/overview?by=region" })).json();
    const b = (await viewThree.fastify.inject({ method: "GET", url: "/api/v1/overview?by=region" })).json();
    assert.ok(a.services.length > 0);
    assertSame(b.graph, a.graph);
    assertSame(b.services, a.services);
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
