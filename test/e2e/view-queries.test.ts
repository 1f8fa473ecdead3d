// What the views ask Prometheus (query/prometheus-source.ts): one aggregator scraped by a
// Prometheus 2.42 with native histograms (protobuf) and by one without (text, classic buckets);
// the views' PromQL goes through a recording pass-through to each. A Prometheus gets only the
// queries of the form it stores, and the graph's window (request timing only) only that timing's,
// with the same entries as the full window for what the graph reads.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { AggregatorProcess } from "../sidecar/aggregator-process.ts";
import { batchValue, encodeBatch } from "../support/batch-builder.ts";
import type { SeriesInput } from "../support/batch-builder.ts";
import { Prometheus } from "./prometheus.ts";
import { PrometheusSource } from "../../aggregator/src/query/prometheus-source.ts";
import { GRAPH_TIMINGS } from "../../aggregator/src/query/graph.ts";
import { makeConfig } from "../../aggregator/src/config.ts";
import { TIMING_NAMES } from "../../aggregator/src/wire/types.ts";
import type { WindowEntry } from "../../aggregator/src/store/windows.ts";

/** An HTTP pass-through to `target` that records every PromQL expression (and label-values call) sent. */
async function recorder(target: string): Promise<{ url: string; queries: string[]; calls: string[]; close: () => Promise<void> }> {
  const queries: string[] = [], calls: string[] = [];
  const pass = async (req: http.IncomingMessage, res: http.ServerResponse) => {
    const u = new URL(req.url!, target);
    calls.push(u.pathname);
    if (u.pathname === "/api/v1/query") queries.push(u.searchParams.get("query")!);
    const r = await fetch(u);
    res.writeHead(r.status, { "content-type": r.headers.get("content-type") ?? "application/json" });
    res.end(Buffer.from(await r.arrayBuffer()));
  };
  const server = http.createServer((req, res) => { pass(req, res).catch((err: Error) => { res.writeHead(502); res.end(err.message); }); });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { url, queries, calls, close: () => new Promise((r) => server.close(() => r())) };
}

let agg: AggregatorProcess, native: Prometheus, classic: Prometheus;
const CAP = makeConfig({}).histogram_buckets;
const SERVICES = ["checkout.shop.svc.cluster.local", "payment.shop.svc.cluster.local"];
let sentRequests = 0;

before(async () => {
  agg = await AggregatorProcess.start();
  const job = [{ job: "meshlat", targets: [`127.0.0.1:${agg.port}`] }];
  [native, classic] = await Promise.all([Prometheus.start(job, { features: ["native-histograms"] }), Prometheus.start(job)]);
  for (let seq = 1; seq <= 3; seq++) {
    const series: SeriesInput[] = SERVICES.flatMap((svc, i) => ["free", "premium"].map((tier, k) => {
      const ms = Array.from({ length: 4 + seq + k }, (_, j) => 2 + i * 10 + j * 3.5);
      return { count: ms.length, labels: { reporter: "source", destination_service: svc, user_tier: tier },
        timings: { request: ms, upstream: ms.map((v) => v * 0.8), proxy: ms.map((v) => v * 0.2), app: ms.map((v) => v * 0.5), network: ms.map((v) => v * 0.3) } };
    }));
    sentRequests += series.reduce((a, s) => a + (s.count ?? 0), 0);
    const now = Date.now();
    const r = await fetch(`${agg.url}/v1/batches`, { method: "POST", headers: { "content-type": "application/msgpack" },
      body: encodeBatch(batchValue({ vm: "00000000000000a1", seq, window: [now - 1000, now], series, proxy: { workload: "frontend", namespace: "shop" } })) });
    assert.equal(r.status, 204, await r.text());
  }
  await native.waitFor("sum(histogram_count(meshlat_request_duration_milliseconds))", (v) => v === sentRequests);
  await classic.waitFor("sum(meshlat_request_duration_milliseconds_count)", (v) => v === sentRequests);
});

after(async () => {
  await Promise.all([native?.stop(), classic?.stop()]);
  await agg?.kill();
});

const CLASSIC_FORM = /_duration_milliseconds_(bucket|sum|count)\b/;
const NATIVE_FORM = /histogram_(count|sum)\(|meshlat_[a-z]+_duration_milliseconds(?![_a-z])/;
/** Window start and edge (drop/stale) queries and the request counter: asked whatever the timings. */
const FIXED = 3;

/** Per label set: the count and, per timing, n / sum / buckets (or null when empty). */
function shape(entries: WindowEntry[], timings: readonly number[]): Map<string, unknown> {
  return new Map(entries.map((e) => [e.labels.join("|"), {
    count: e.count,
    timings: timings.map((t) => (e.timings[t] ? { n: e.timings[t]!.n, sumUs: e.timings[t]!.sumUs, buckets: [...e.timings[t]!.buckets()] } : null)),
  }]));
}

for (const form of ["native", "classic"] as const) {
  test(`views from a Prometheus with ${form} histograms ask only for that form, and the graph only for its timing`, async () => {
    const prom = form === "native" ? native : classic;
    const rec = await recorder(prom.url);
    try {
      const src = new PrometheusSource(rec.url, 1);
      const now = Date.now();
      const full = await src.window(now, 60_000, CAP);
      // Native: the histograms at the window's end and start (counts and sums read off them while
      // no replica restarted, dropped or lost a series); classic: buckets, sum and count increases.
      const perTiming = form === "native" ? 2 : 3;
      assert.equal(rec.queries.length, FIXED + TIMING_NAMES.length * perTiming, rec.queries.join("\n"));
      assert.ok(rec.calls.includes("/api/v1/label/__name__/values"), "the families present are looked up");
      const other = form === "native" ? CLASSIC_FORM : NATIVE_FORM;
      assert.deepEqual(rec.queries.filter((q) => other.test(q)), [], `no ${form === "native" ? "classic" : "native"}-form query`);
      // Everything sent is there, every timing filled.
      assert.equal(full.entries.reduce((a, e) => a + e.count, 0), sentRequests);
      for (const e of full.entries) for (let t = 0; t < TIMING_NAMES.length; t++) assert.equal(e.n(t), e.count, `${e.labels.join("|")} ${TIMING_NAMES[t]}`);

      rec.queries.length = 0;
      const graphOnly = await src.window(now, 60_000, CAP, [], GRAPH_TIMINGS);
      assert.equal(rec.queries.length, FIXED + GRAPH_TIMINGS.length * perTiming, rec.queries.join("\n"));
      const others = TIMING_NAMES.filter((_, t) => !GRAPH_TIMINGS.includes(t));
      assert.deepEqual(rec.queries.filter((q) => others.some((n) => q.includes(`meshlat_${n}_duration`))), [], "no query for a timing the graph does not read");
      assert.deepEqual(shape(graphOnly.entries, GRAPH_TIMINGS), shape(full.entries, GRAPH_TIMINGS));
      assert.deepEqual(graphOnly.spanMs, full.spanMs);
    } finally {
      await rec.close();
    }
  });
}

test("a 1h window from native histograms reads each series at the window's edges, not step by step over the hour", async () => {
  const rec = await recorder(native.url);
  try {
    const src = new PrometheusSource(rec.url, 1);
    const now = Date.now();
    const hour = await src.window(now, 3_600_000, CAP);
    assert.equal(rec.queries.length, FIXED + TIMING_NAMES.length * 2, rec.queries.join("\n"));
    // Steps a subquery evaluates per series (range / step): at a 1 s step, 3,600 for an hour.
    const steps = rec.queries.flatMap((q) => [...q.matchAll(/\[(\d+)ms:(\d+)s\]/g)].map((m) => Number(m[1]) / 1000 / Number(m[2])));
    assert.deepEqual(steps, [], `no subquery when no replica restarted, dropped or lost a series:\n${rec.queries.join("\n")}`);
    // The same answer as a window that holds all the data anyway.
    rec.queries.length = 0;
    const minute = await src.window(now, 60_000, CAP);
    assert.equal(hour.entries.reduce((a, e) => a + e.count, 0), sentRequests);
    assert.deepEqual(shape(hour.entries, TIMING_NAMES.map((_, t) => t)), shape(minute.entries, TIMING_NAMES.map((_, t) => t)));
  } finally {
    await rec.close();
  }
});
