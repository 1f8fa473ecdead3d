// From a slow request to its trace, end to end: the sample mesh (frontend → checkout →
// payment, test/sidecar/) runs the built filter; its apps propagate the trace context. Traced
// fast requests, untraced ones, and one crafted slow request with a known `traceparent` go in
// at frontend. The filters send the exemplars in their v2 batches to the aggregator (its own
// process, with trace_url_template); Debian's Prometheus 2.42 with exemplar storage scrapes it.
// The crafted request must come back as the exemplar of the bucket that holds its time
// (/api/v1/query_exemplars), as the slowest traced request in the latency API, and as a link on
// the page (Chromium through playwright-core); untraced traffic shows none.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import http from "node:http";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import type { Browser } from "playwright-core";
import { loadModule } from "../host/index.ts";
import { AggregatorProcess } from "../sidecar/aggregator-process.ts";
import { DEFAULT_SERVICES, Mesh } from "../sidecar/mesh.ts";
import { CLASSIC_LE_MS } from "../../aggregator/src/store/exp-histogram.ts";
import { bucketOf } from "../../aggregator/src/metrics/exemplar-format.ts";
import { poll } from "../support/poll.ts";
import { seededRandom } from "../support/rand.ts";
import { launchChromium } from "../web/stack.ts";
import { Prometheus } from "./prometheus.ts";

declare const document: any;

const TRACE = "4bf92f3577b34da6a3ce929d0e0e4736";
const TEMPLATE = "http://tempo.example:3200/trace/{trace_id}";
const SLOW_APP_MS = 700;

let agg: AggregatorProcess, mesh: Mesh, prom: Prometheus, browser: Browser;
let frontend = "";
let sentAtMs = 0;
let clientMs = 0;

/** One request into the mesh at frontend; resolves with the client's elapsed ms. */
function send(headers: Record<string, string>): Promise<number> {
  const { port, authority } = mesh.entry();
  const t0 = performance.now();
  return new Promise((resolve, reject) => {
    const r = http.request({ host: "127.0.0.1", port, path: "/", headers: { host: authority, ...headers } }, (res) => {
      res.resume();
      res.on("end", () => (res.statusCode === 200 ? resolve(performance.now() - t0) : reject(new Error(`status ${res.statusCode}`))));
    });
    r.on("error", reject);
    r.end();
  });
}

const rand = seededRandom(16);
const hex = (n: number) => Array.from({ length: n }, () => Math.floor(rand() * 16).toString(16)).join("");
const traceparent = (id: string) => `00-${id}-${hex(16)}-01`;

before(async () => {
  const module = await loadModule(readFileSync(fileURLToPath(new URL("../../filter/build/meshlat.wasm", import.meta.url))));
  agg = await AggregatorProcess.start({ args: ["--trace-url-template", TEMPLATE] });
  // No payment errors: every request of the test must answer 200.
  const services = DEFAULT_SERVICES.map((s) => ({ ...s, errorRate: 0 }));
  mesh = await Mesh.start({ services, module, aggregatorUrl: agg.url, pluginConfig: { flush_interval_ms: 1000 } });
  frontend = mesh.fqdn("frontend");
  prom = await Prometheus.start([{ job: "meshlat", targets: [`127.0.0.1:${agg.port}`] }], { features: ["exemplar-storage"] });
  browser = await launchChromium();

  // Untraced traffic in one tier; traced traffic in another (each sidecar notices trace headers
  // within 64 of its requests, and keeps reading them while every window has some); then the
  // crafted slow request, then more fast traffic of both kinds.
  for (let i = 0; i < 20; i++) await send({ "x-user-tier": "free" });
  for (let i = 0; i < 120; i++) await send({ "x-user-tier": "premium", traceparent: traceparent(hex(32)) });
  mesh.setAppDelay("frontend", SLOW_APP_MS);
  sentAtMs = Date.now();
  clientMs = await send({ "x-user-tier": "premium", traceparent: traceparent(TRACE) });
  mesh.setAppDelay("frontend", DEFAULT_SERVICES[0]!.delayMs!);
  for (let i = 0; i < 20; i++) await send({ "x-user-tier": "premium", traceparent: traceparent(hex(32)) });
  for (let i = 0; i < 20; i++) await send({ "x-user-tier": "free" });
});

after(async () => {
  await browser?.close();
  await prom?.stop();
  await mesh?.close();
  await agg?.kill();
});

test("Prometheus stores the crafted request as the exemplar of the bucket that holds its time", { timeout: 60_000 }, async () => {
  const sel = `meshlat_request_duration_milliseconds_bucket{destination_service="${frontend}",reporter="destination",user_tier="premium"}`;
  const got = await poll(() => prom.exemplars(sel, sentAtMs), (d) => d.some((s) => s.exemplars.some((e) => e.labels.trace_id === TRACE)), { timeoutMs: 30_000, intervalMs: 500, what: "the crafted request's exemplar" });
  const withTrace = got.filter((s) => s.exemplars.some((e) => e.labels.trace_id === TRACE));
  assert.equal(withTrace.length, 1, JSON.stringify(got));
  const e = withTrace[0]!.exemplars.find((x) => x.labels.trace_id === TRACE)!;
  const valueMs = Number(e.value);
  // what the frontend sidecar measured: the app's injected delay at least, the client's time at most
  assert.ok(valueMs >= SLOW_APP_MS && valueMs <= clientMs, `exemplar ${valueMs} ms, client ${clientMs} ms`);
  assert.equal(Number(withTrace[0]!.seriesLabels.le), CLASSIC_LE_MS[bucketOf(valueMs)], "the bucket that holds its value");
  assert.ok(e.timestamp * 1000 >= sentAtMs && e.timestamp * 1000 <= sentAtMs + clientMs + 1000, "its wall-clock end");
  // the untraced tier: no exemplar on any of its buckets
  assert.deepEqual(await prom.exemplars(`meshlat_request_duration_milliseconds_bucket{destination_service="${frontend}",user_tier="free"}`, sentAtMs), []);
});

interface Slowest { trace_id: string; request_ms: number; time_ms: number; trace_url: string | null }
test("the latency API lists it as the slowest traced request, linked through trace_url_template", { timeout: 30_000 }, async () => {
  const u = `${agg.url}/api/v1/latency?destination_service=${frontend}&by=user_tier&window=5m`;
  const body = await poll(async () => (await (await fetch(u)).json()) as { groups: { user_tier?: string; slowest: Slowest[] }[] },
    (b) => b.groups?.some((g) => g.slowest?.[0]?.trace_id === TRACE), { timeoutMs: 15_000, intervalMs: 500, what: "slowest in the latency API" });
  const premium = body.groups.find((g) => g.user_tier === "premium")!;
  assert.equal(premium.slowest[0]!.trace_id, TRACE);
  assert.equal(premium.slowest[0]!.trace_url, TEMPLATE.replace("{trace_id}", TRACE));
  assert.ok(premium.slowest[0]!.request_ms >= SLOW_APP_MS);
  for (let i = 1; i < premium.slowest.length; i++) assert.ok(premium.slowest[i]!.request_ms <= premium.slowest[i - 1]!.request_ms, "slowest first");
  const free = body.groups.find((g) => g.user_tier === "free")!;
  assert.deepEqual(free.slowest, [], "no trace header: no exemplar");
});

test("the page links it to the tracing backend", { timeout: 60_000 }, async () => {
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  try {
    await page.goto(`${agg.url}/?by=user_tier&service=${frontend}`);
    await page.waitForFunction(() => document.querySelector("#split .slowest a") !== null);
    const first = await page.evaluate(() => {
      const g = [...document.querySelectorAll("#split .group")].find((x: any) => x.querySelector("h3").textContent === "tier premium");
      const a = g?.querySelector(".slowest a");
      return a ? { href: a.getAttribute("href"), text: a.textContent } : null;
    });
    assert.deepEqual(first, { href: TEMPLATE.replace("{trace_id}", TRACE), text: TRACE });
  } finally {
    await page.close();
  }
});
