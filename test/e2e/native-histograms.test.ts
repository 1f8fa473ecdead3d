// Exponential histograms end to end against Debian's Prometheus 2.42: one Prometheus with
// --enable-feature=native-histograms scrapes the aggregator's protobuf exposition and answers
// histogram_quantile over rate() of the native histograms within 5% of the exact quantile of the
// values sent; one without the feature scrapes text and gets classic buckets whose counts are
// exact; the latency API answers within 5% too. The values travel as the filter's own wire v2
// batches: each one a request through the built .wasm in the project's proxy-wasm host (manual
// clock), posted to the aggregator process.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { AggregatorProcess } from "../sidecar/aggregator-process.ts";
import { Prometheus } from "./prometheus.ts";
import { FilterRunner } from "../sidecar/filter-runner.ts";
import { ManualClock } from "../host/index.ts";
import { loadFilter } from "./stack.ts";
import { seededRandom } from "../support/rand.ts";
import { CLASSIC_LE_MS } from "../../aggregator/src/store/exp-histogram.ts";
import { readFileSync } from "node:fs";
import { build } from "../../aggregator/src/app.ts";
import { makeConfig } from "../../aggregator/src/config.ts";
import { fileURLToPath } from "node:url";

const DASHBOARD = fileURLToPath(new URL("../../wasmplugin/deploy/grafana/meshlat-dashboard.json", import.meta.url));

const rnd = seededRandom(2026);
const gauss = () => Math.sqrt(-2 * Math.log(1 - rnd())) * Math.cos(2 * Math.PI * rnd());
const ms = (us: number) => Math.round(Math.max(50, Math.min(30e6, us))) / 1000;
/** Values in ms (whole µs, 50 µs – 30 s) per destination service. */
const SHAPES: Record<string, () => number> = {
  "lognormal.e2e.svc.cluster.local": () => ms(Math.exp(Math.log(20000) + 0.8 * gauss())),
  "bimodal.e2e.svc.cluster.local": () => ms(rnd() < 0.8 ? Math.exp(Math.log(2000) + 0.3 * gauss()) : Math.exp(Math.log(200000) + 0.3 * gauss())),
  "uniform.e2e.svc.cluster.local": () => ms(1000 + rnd() * 99000),
};
const WINDOWS = 20, PER_WINDOW = 250;

let agg: AggregatorProcess, native: Prometheus, classic: Prometheus, filter: FilterRunner;
const sent = new Map<string, number[]>(); // values after the first scrape (what rate() sees)
const all = new Map<string, number[]>();

const AGG_CLUSTER = "outbound|9464||meshlat-aggregator.istio-system.svc.cluster.local";
const FLUSH_MS = 60_000; // longer than any value: one window's requests make one batch
const clock = new ManualClock({ wallNs: BigInt(Date.now()) * 1_000_000n });

/** A label set with all five timings, as most requests have. */
const FULL = { svc: "full.e2e.svc.cluster.local", ms: 12, appMs: 6 };

/**
 * One flush window through the filter: every request starts at once, gets its response
 * headers (and ends) after its value, so the filter measures request = upstream = the value
 * (whole µs); then the window's tick posts the batch and the aggregator's answer is awaited.
 */
async function post(bySvc: Map<string, number[]>, withFull = false): Promise<void> {
  const reqs = [...bySvc].flatMap(([svc, values]) => values.map((ms) => ({ svc, ms, app: undefined as number | undefined })));
  if (withFull) reqs.push({ svc: FULL.svc, ms: FULL.ms, app: FULL.appMs });
  const streams = reqs.map((r) => {
    const s = filter.stream({ clusterName: `outbound|8080||${r.svc}` });
    s.requestHeaders([[":method", "GET"], [":path", "/"], [":authority", `${r.svc.split(".")[0]}:8080`]], true);
    return { ...r, s, ns: BigInt(Math.round(r.ms * 1000)) * 1000n };
  });
  streams.sort((a, b) => (a.ns < b.ns ? -1 : a.ns > b.ns ? 1 : 0));
  let now = 0n;
  for (const r of streams) {
    clock.advanceNs(r.ns - now);
    now = r.ns;
    r.s.responseHeaders(r.app === undefined ? [[":status", "200"]] : [[":status", "200"], ["server-timing", `app;dur=${r.app}`]], true);
    r.s.end();
  }
  clock.advanceNs(BigInt(FLUSH_MS) * 1_000_000n - now);
  await filter.plugin.settle();
  assert.ok(filter.healthy && filter.errors === 0, "the filter ran every request");
}

const draw = () => new Map(Object.entries(SHAPES).map(([svc, f]) => [svc, Array.from({ length: PER_WINDOW }, f)]));

before(async () => {
  agg = await AggregatorProcess.start();
  filter = await FilterRunner.start({
    module: await loadFilter(), clock, aggregatorUrl: () => agg.url,
    config: { aggregator_cluster: AGG_CLUSTER, flush_interval_ms: FLUSH_MS },
    node: { id: "sidecar~10.0.0.1~frontend-1.shop~shop.svc.cluster.local", metadata: { WORKLOAD_NAME: "frontend", NAMESPACE: "shop" }, locality: { region: "eu-west-1" } },
  });
  const job = [{ job: "meshlat-aggregator", targets: [`127.0.0.1:${agg.port}`] }];
  [native, classic] = await Promise.all([Prometheus.start(job, { features: ["native-histograms"] }), Prometheus.start(job)]);
  // A first window, scraped before the rest, so rate() over the rest has a starting sample.
  const first = draw();
  for (const [svc, v] of first) all.set(svc, [...v]);
  await post(first, true);
  await native.waitFor(`count(histogram_count(meshlat_request_duration_milliseconds))`, (v) => v === 4);
  await classic.waitFor(`count(meshlat_request_duration_milliseconds_count)`, (v) => v === 4);
  for (let w = 0; w < WINDOWS; w++) {
    const d = draw();
    for (const [svc, v] of d) { all.get(svc)!.push(...v); sent.set(svc, [...(sent.get(svc) ?? []), ...v]); }
    await post(d);
  }
  const total = (WINDOWS + 1) * PER_WINDOW * 3 + 1;
  await native.waitFor(`sum(histogram_count(meshlat_request_duration_milliseconds))`, (v) => v === total);
  await classic.waitFor(`sum(meshlat_request_duration_milliseconds_count)`, (v) => v === total);
});

after(async () => {
  filter?.stop();
  await Promise.all([native?.stop(), classic?.stop()]);
  await agg?.kill();
});

const exact = (values: number[], q: number) => { const s = [...values].sort((a, b) => a - b); return s[Math.ceil(q * s.length) - 1]!; };

test("native histograms: Prometheus scrapes protobuf and stores one series per histogram", async () => {
  // Scraped as protobuf: no _bucket/_sum/_count series, one native histogram per label set.
  assert.deepEqual(await native.query(`meshlat_request_duration_milliseconds_bucket`), []);
  const u = new URL("/api/v1/query", native.url);
  u.searchParams.set("query", `meshlat_request_duration_milliseconds{destination_service="lognormal.e2e.svc.cluster.local"}`);
  const body = (await (await fetch(u)).json()) as { data: { result: { histogram?: [number, { count: string; buckets: unknown[] }] }[] } };
  assert.equal(body.data.result.length, 1);
  assert.equal(Number(body.data.result[0]!.histogram![1].count), (WINDOWS + 1) * PER_WINDOW);
  // Series per label set: the request counter and the five timing histograms.
  assert.equal(await native.scalar(`count({__name__=~"meshlat_.*", destination_service="${FULL.svc}"})`), 6);
  assert.equal(await classic.scalar(`count({__name__=~"meshlat_.*", destination_service="${FULL.svc}"})`), 1 + 5 * (CLASSIC_LE_MS.length + 3));
});

for (const q of [0.5, 0.9, 0.99]) {
  test(`native histograms: histogram_quantile(${q}, rate(...[1m])) is within the target error of the exact quantile`, async (t) => {
    const r = await native.query(`histogram_quantile(${q}, sum by (destination_service) (rate(meshlat_request_duration_milliseconds[1m])))`);
    assert.equal(r.length, 4);
    for (const s of r) {
      if (s.metric.destination_service === FULL.svc) continue;
      const svc = s.metric.destination_service!;
      const want = exact(sent.get(svc)!, q);
      const err = Math.abs(s.value - want) / want;
      // Prometheus 2.42 interpolates linearly inside a bucket: the filter's windows start at
      // scale 3 (9% buckets) so that even a uniform distribution's p99, just under its hard upper
      // edge inside a bucket reaching past it, stays within the target.
      const limit = 0.05;
      t.diagnostic(`${svc.split(".")[0]} p${q * 100}: ${(err * 100).toFixed(2)}% (${s.value.toFixed(3)} vs ${want} ms)`);
      assert.ok(err <= limit, `${svc} p${q * 100}: Prometheus ${s.value.toFixed(3)} ms vs exact ${want} ms (${(err * 100).toFixed(2)}%)`);
    }
  });
}

test("the latency API's p50, p95 and p99 are within the target error of the exact quantile of every value sent", async (t) => {
  for (const [svc, values] of all) {
    const r = await fetch(`${agg.url}/api/v1/latency?destination_service=${svc}&window=5m`);
    assert.equal(r.status, 200, await r.clone().text());
    const groups = ((await r.json()) as { groups: { timings: { request: { samples: number; p50_ms: number; p95_ms: number; p99_ms: number } } }[] }).groups;
    assert.equal(groups.length, 1);
    const got = groups[0]!.timings.request;
    assert.equal(got.samples, values.length);
    for (const [q, v] of [[0.5, got.p50_ms], [0.95, got.p95_ms], [0.99, got.p99_ms]] as const) {
      const want = exact(values, q);
      const err = Math.abs(v - want) / want;
      t.diagnostic(`${svc.split(".")[0]} p${q * 100}: ${(err * 100).toFixed(2)}% (${v.toFixed(3)} vs ${want} ms)`);
      assert.ok(err <= 0.05, `${svc} p${q * 100}: API ${v.toFixed(3)} ms vs exact ${want} ms (${(err * 100).toFixed(2)}%)`);
    }
  }
});

test("without the feature: classic buckets at powers of two in ms hold exact counts", async () => {
  for (const [svc, values] of all) {
    const r = await classic.query(`meshlat_request_duration_milliseconds_bucket{destination_service="${svc}"}`);
    assert.equal(r.length, CLASSIC_LE_MS.length + 1);
    for (const s of r) {
      const le = s.metric.le === "+Inf" ? Infinity : Number(s.metric.le);
      assert.equal(s.value, values.filter((v) => v <= le).length, `${svc} le=${s.metric.le}`);
    }
  }
});

test("every histogram query of the shipped Grafana dashboard returns data from native and from classic histograms", async () => {
  const d = JSON.parse(readFileSync(DASHBOARD, "utf8")) as { panels: { title: string; targets?: { expr: string }[] }[] };
  const vars: Record<string, string> = { reporter: "source", service: ".*", tier: ".*", region: ".*", namespace: "shop", __rate_interval: "1m" };
  let n = 0;
  for (const p of d.panels) {
    for (const t of p.targets ?? []) {
      if (!t.expr.includes("_duration_milliseconds")) continue; // counters only: test/e2e/queries.test.ts
      const expr = t.expr.replace(/\$(\w+)/g, (m, v: string) => vars[v] ?? m);
      for (const [name, prom] of [["native", native], ["classic", classic]] as const) {
        const r = await prom.query(expr);
        assert.ok(r.length > 0, `${name}: panel "${p.title}" returned nothing for: ${expr.slice(0, 300)}`);
      }
      n++;
    }
  }
  assert.ok(n >= 10, `only ${n} panel queries`);
});

test("the views from Prometheus: native histograms give the classic ones' counts and means, and quantiles near the exact ones", async () => {
  const view = (url: string) => build(makeConfig({ log_level: "silent", caller_identity: "off", prometheus_url: url, prometheus_step_s: 1 }));
  const [n, c] = [view(native.url), view(classic.url)];
  try {
    for (const [svc, values] of all) {
      const url = `/api/v1/latency?destination_service=${svc}`;
      const [a, b] = await Promise.all([n.fastify.inject({ method: "GET", url }), c.fastify.inject({ method: "GET", url })]);
      const [gn, gc] = [a.json().groups[0], b.json().groups[0]];
      assert.equal(gn.requests, values.length);
      assert.equal(gc.requests, values.length);
      const [tn, tc] = [gn.timings.request, gc.timings.request];
      assert.ok(tn, `${svc}: no request timing from native histograms`);
      assert.equal(tn.samples, values.length);
      assert.equal(tn.samples, tc.samples);
      assert.ok(Math.abs(tn.mean_ms - tc.mean_ms) <= 1e-9 * tc.mean_ms, `${svc} mean ${tn.mean_ms} vs ${tc.mean_ms}`);
      // Native resolution (wire v2 keeps buckets ~0.3% wide) against powers of two for classic.
      const want = exact(values, 0.5);
      assert.ok(Math.abs(tn.p50_ms - want) / want <= 0.05, `${svc} p50 native ${tn.p50_ms} vs exact ${want}`);
    }
  } finally {
    await n.fastify.close();
    await c.fastify.close();
  }
});
