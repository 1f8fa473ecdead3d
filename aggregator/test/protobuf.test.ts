import { test } from "node:test";
import assert from "node:assert/strict";
import { buildBatch, requests } from "../../test/support/batch-builder.ts";
import { testApp } from "./helpers.ts";
import { negotiate, preferredFormat } from "../src/metrics/negotiate.ts";
import { METRIC_TYPE, PROTOBUF_CONTENT_TYPE, ZERO_THRESHOLD, decodeFamilies, encodeFamily, nativeFields, nativeHistogram } from "../src/metrics/protobuf.ts";
import { SLICE, renderTrafficProtobuf } from "../src/metrics/traffic-protobuf.ts";
import { HELP, HISTOGRAM_FAMILIES, REQUESTS_FAMILY, REQUESTS_HELP } from "../src/metrics/traffic.ts";
import { current } from "../src/store/exemplars.ts";
import type { SeriesStore } from "../src/store/series-store.ts";
import { LABEL_NAMES, TIMING_NAMES } from "../src/wire/types.ts";
import { ExpHist, observeUs, upperMs } from "../src/store/exp-histogram.ts";
import { descriptorOf } from "../scripts/proto-json.ts";
import descriptor from "../proto/metrics.json" with { type: "json" };
import { fileURLToPath } from "node:url";

test("metrics.json is the descriptor of metrics.proto (regenerate: node --import tsx aggregator/scripts/proto-json.ts)", () => {
  assert.deepEqual(descriptor, JSON.parse(JSON.stringify(descriptorOf(fileURLToPath(new URL("../proto/metrics.proto", import.meta.url))))));
});

/** What Prometheus 2.42 sends with --enable-feature=native-histograms (scrape/scrape.go). */
const PROMETHEUS_PROTOBUF_ACCEPT = "application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited,application/openmetrics-text;version=1.0.0;q=0.8,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1";

const negotiation: [string, string | undefined, string][] = [
  ["Prometheus with native histograms", PROMETHEUS_PROTOBUF_ACCEPT, "protobuf"],
  ["Prometheus without", "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1", "openmetrics"],
  ["protobuf ranked below text", "text/plain;version=0.0.4,application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited;q=0.5", "text"],
  ["protobuf without encoding=delimited", "application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily", "text"],
  ["protobuf of another message", "application/vnd.google.protobuf;proto=other.Message;encoding=delimited", "text"],
  ["nothing", undefined, "text"],
];
for (const [name, accept, want] of negotiation) {
  test(`negotiation: ${name} → ${want}`, () => assert.equal(preferredFormat(accept), want));
}

/** Rebuilds [index, count] pairs from spans and deltas, as Prometheus reads them. */
function expand(f: { positiveSpan?: { offset?: number; length?: number }[]; positiveDelta?: number[] }): [number, number][] {
  const out: [number, number][] = [];
  let idx = 0, k = 0, count = 0;
  (f.positiveSpan ?? []).forEach((s) => {
    idx += s.offset ?? 0; // the first span's offset is absolute, later ones are gaps
    for (let j = 0; j < (s.length ?? 0); j++) {
      count += f.positiveDelta![k++]!;
      if (count !== 0) out.push([idx, count]);
      idx++;
    }
  });
  return out;
}

test("native fields: spans and deltas rebuild the histogram's buckets; short gaps are bridged", () => {
  const h = new ExpHist(160, 3);
  for (const us of [1000, 1000, 1100, 1300, 9000, 9000, 9000, 250000, 0]) observeUs(h, us);
  const f = nativeFields(h);
  assert.equal(f.schema, 3);
  assert.equal(f.zeroCount, 1);
  assert.equal(f.zeroThreshold, ZERO_THRESHOLD);
  assert.deepEqual(expand(f), [...h.buckets()]);
  assert.ok(f.positiveSpan.length < [...h.buckets()].length, "neighbouring buckets share a span");
});

test("a Prometheus protobuf scrape gets native histograms for the traffic and classic ones for the self-metrics", async () => {
  const a = testApp();
  try {
    await a.post(buildBatch({ v: 2, series: [requests(30, { requestMs: 12, upstreamMs: 9, appMs: 6 }), requests(5, { requestMs: 0.5 }, { response_code: "503" })], counters: { requests: 35 } }));
    const r = await a.fastify.inject({ method: "GET", url: "/metrics", headers: { accept: PROMETHEUS_PROTOBUF_ACCEPT } });
    assert.equal(r.statusCode, 200);
    assert.equal(r.headers["content-type"], PROTOBUF_CONTENT_TYPE);
    const fams = decodeFamilies(r.rawPayload) as any[];
    const byName = new Map(fams.map((f) => [f.name, f]));
    const req = byName.get("meshlat_requests_total");
    assert.equal(req.type, "COUNTER");
    assert.deepEqual(req.metric.map((m: any) => m.counter.value).sort(), [30, 5]);
    const dur = byName.get("meshlat_request_duration_milliseconds");
    assert.equal(dur.type, "HISTOGRAM");
    assert.equal(dur.metric.length, 2);
    const ok = dur.metric.find((m: any) => m.label.some((l: any) => l.name === "response_code" && l.value === "200"));
    assert.equal(ok.label.length, 10);
    assert.equal(ok.histogram.sampleCount, 30);
    assert.equal(ok.histogram.sampleSum, 360);
    assert.equal(ok.histogram.bucket, undefined, "no classic buckets beside the native ones");
    const buckets = expand(ok.histogram);
    assert.equal(buckets.length, 1);
    const [i, c] = buckets[0]!;
    assert.equal(c, 30);
    assert.ok(upperMs(i - 1, ok.histogram.schema) < 12 && 12 <= upperMs(i, ok.histogram.schema));
    assert.ok(!byName.has("meshlat_app_duration_milliseconds") || byName.get("meshlat_app_duration_milliseconds").metric.length === 1);
    const ingest = byName.get("meshlat_aggregator_ingest_duration_seconds");
    assert.equal(ingest.type, "HISTOGRAM");
    assert.equal(ingest.metric[0].histogram.sampleCount, 1);
    assert.ok(ingest.metric[0].histogram.bucket.length > 0);
    assert.equal(byName.get("meshlat_aggregator_series").type, "GAUGE");
    assert.equal(byName.get("meshlat_filter_requests_total").metric[0].counter.value, 35);
    // Text and protobuf describe the same data: 6 series per label set instead of 1 + 5 x 23.
    assert.equal(negotiate(PROMETHEUS_PROTOBUF_ACCEPT, "gzip").gzip, true);
  } finally { await a.fastify.close(); }
});

/** The traffic families as protobufjs encodes fresh MetricFamily objects of the store (what the render must equal). */
function plainEncoding(store: SeriesStore, span: { nowMs: number; spanMs: number }): Buffer {
  const list = [...store.series.values()];
  const label = (s: (typeof list)[number]) => LABEL_NAMES.map((name, i) => ({ name, value: s.labels[i]! }));
  const fams = [encodeFamily({ name: REQUESTS_FAMILY, help: REQUESTS_HELP, type: METRIC_TYPE.counter, metric: list.map((s) => ({ label: label(s), counter: { value: s.count } })) })];
  TIMING_NAMES.forEach((t, k) => {
    const metric = list.filter((s) => s.timings[k]).map((s) => nativeHistogram(label(s), s.timings[k]!, current(s.exemplars[k]!, span.nowMs, span.spanMs)));
    if (metric.length) fams.push(encodeFamily({ name: HISTOGRAM_FAMILIES[k]!, help: HELP[t]!, type: METRIC_TYPE.histogram, metric }));
  });
  return Buffer.concat(fams);
}

test("the traffic render's bytes are protobufjs' encoding of fresh MetricFamily objects, series after series (reused writer, cached labels, refilled messages)", async () => {
  const a = testApp();
  try {
    // Series of different shapes one after another: wide and narrow histograms, a zero, gaps
    // longer than a span bridges, a timing missing, an exemplar on one series only, labels
    // that need UTF-8; the second scrape follows a merge that changes some of them.
    assert.equal((await a.post(buildBatch({ v: 2, series: [
      { labels: { destination_service: "a" }, timings: { request: [0, 0.001, 3, 3.1, 900, 65000], upstream: [2] } },
      { labels: { destination_service: "b", user_tier: "prémium" }, timings: { request: [7] } },
      { labels: { destination_service: "c" }, timings: { request: [0.2, 0.25, 4000], upstream: [1, 1, 1], app: [0.5], network: [0.4], proxy: [0.3] } },
    ] }))).statusCode, 204);
    const series = [...a.state.store.series.values()];
    series[0]!.offerExemplar(0, { traceId: "4bf92f3577b34da6a3ce929d0e0e4736", valueMs: 900, timeMs: a.clock.now - 1000 }, a.clock.now, 60_000);
    const expected = (span: { nowMs: number; spanMs: number }) => plainEncoding(a.state.store, span);
    const span = { nowMs: a.clock.now, spanMs: 60_000 };
    const first = Buffer.concat([...renderTrafficProtobuf(a.state.store, span)]);
    assert.ok(first.equals(expected(span)));
    assert.ok(first.includes("4bf92f3577b34da6a3ce929d0e0e4736"), "the exemplar is in the output");
    const more = await a.post(buildBatch({ v: 2, series: [{ labels: { destination_service: "a" }, timings: { request: [0.05, 20000] } }, { labels: { destination_service: "b", user_tier: "prémium" }, count: 1, timings: { app: [3] } }] }));
    assert.equal(more.statusCode, 204, more.body);
    const second = Buffer.concat([...renderTrafficProtobuf(a.state.store, span)]);
    assert.ok(second.equals(expected(span)));
    assert.notDeepEqual(second, first);
    const noSpan = Buffer.concat([...renderTrafficProtobuf(a.state.store)]);
    assert.ok(!noSpan.includes("4bf92f3577b34da6a3ce929d0e0e4736"), "no span, no exemplar");
  } finally { await a.fastify.close(); }
});

test("the render re-encodes what changed since the last scrape: a merged point, an exemplar that aged out; one started before a merge shows the store as it was", async () => {
  const a = testApp();
  try {
    const series = (requestMs: number) => [
      { labels: { destination_service: "a" }, timings: { request: [requestMs, 2 * requestMs], upstream: [requestMs] } },
      { labels: { destination_service: "b" }, timings: { request: [3] } },
    ];
    assert.equal((await a.post(buildBatch({ v: 2, series: series(5) }))).statusCode, 204);
    // Enough other label sets for a scrape of several chunks, so that the merge below lands between them.
    const filler = Array.from({ length: 1000 }, (_, i) => ({ labels: { destination_service: `filler-${i}.ns.svc.cluster.local`, source_workload: "w" }, timings: { request: [1 + i], upstream: [i / 2] } }));
    for (let k = 0; k < 4; k++) assert.equal((await a.post(buildBatch({ v: 2, series: filler.map((f) => ({ ...f, labels: { ...f.labels, user_tier: `t${k}` } })) }))).statusCode, 204);
    const [sa] = [...a.state.store.series.values()];
    sa!.offerExemplar(0, { traceId: "4bf92f3577b34da6a3ce929d0e0e4736", valueMs: 10, timeMs: a.clock.now }, a.clock.now, 60_000);
    const render = (span: { nowMs: number; spanMs: number }) => Buffer.concat([...renderTrafficProtobuf(a.state.store, span)]);
    const at = (ms: number) => ({ nowMs: a.clock.now + ms, spanMs: 60_000 });
    assert.ok(render(at(0)).equals(plainEncoding(a.state.store, at(0))));
    assert.ok(render(at(0)).includes("4bf92f3577b34da6a3ce929d0e0e4736"));
    // Nothing merged, but the exemplar is older than the span a minute later.
    const later = render(at(61_000));
    assert.ok(later.equals(plainEncoding(a.state.store, at(61_000))));
    assert.ok(!later.includes("4bf92f3577b34da6a3ce929d0e0e4736"), "an aged-out exemplar is not shown from an earlier encoding");
    assert.ok(render(at(0)).includes("4bf92f3577b34da6a3ce929d0e0e4736"), "and shown again for a scrape within its span");
    // A scrape whose first bytes are out when a batch merges: every family shows the store before the merge.
    const before = plainEncoding(a.state.store, at(0));
    const gen = renderTrafficProtobuf(a.state.store, at(0));
    let first = gen.next().value as Buffer;
    while (first.length === 0) first = gen.next().value as Buffer; // the first pass's breaths
    const chunks = [first];
    assert.ok(chunks[0]!.length < before.length, "the scrape is more than one chunk");
    assert.equal((await a.post(buildBatch({ v: 2, series: series(40) }))).statusCode, 204);
    for (const c of gen) chunks.push(c);
    assert.ok(Buffer.concat(chunks).equals(before));
    assert.ok(render(at(0)).equals(plainEncoding(a.state.store, at(0))));
    assert.ok(!render(at(0)).equals(before), "the merge shows in the next scrape");
  } finally { await a.fastify.close(); }
});

test("the first pass breathes every SLICE series; a batch merged in a breath shows in the series not yet encoded, each series the same moment in every family", async () => {
  const a = testApp({ max_series_per_namespace: 10_000 });
  try {
    const n = 2 * SLICE + 5;
    const mk = (k: number, ms: number) => ({ labels: { destination_service: `s-${k}.ns.svc.cluster.local`, source_workload: "w" }, timings: { request: [ms] } });
    for (let from = 0; from < n; from += 1000) {
      const part = Array.from({ length: Math.min(1000, n - from) }, (_, j) => mk(from + j, 1));
      assert.equal((await a.post(buildBatch({ v: 2, series: part }))).statusCode, 204);
    }
    assert.equal(a.state.store.series.size, n);
    const span = { nowMs: a.clock.now, spanMs: 60_000 };
    const gen = renderTrafficProtobuf(a.state.store, span);
    const chunks: Buffer[] = [];
    let breaths = 0;
    let r = gen.next();
    assert.equal((r.value as Buffer).length, 0, "the first yield is a breath, before any byte");
    breaths++;
    // In the breath: the first series (encoded already) and the last (not yet) get a second request.
    assert.equal((await a.post(buildBatch({ v: 2, series: [mk(0, 2), mk(n - 1, 2)] }))).statusCode, 204);
    for (r = gen.next(); !r.done; r = gen.next()) { if (r.value.length === 0) breaths++; else chunks.push(r.value); }
    assert.equal(breaths, Math.floor((n - 1) / SLICE));
    const fams = decodeFamilies(Buffer.concat(chunks)) as { name: string; metric: { label: { name: string; value: string }[]; counter?: { value: number }; histogram?: { sampleCount: number | string } }[] }[];
    const svc = (m: { label: { name: string; value: string }[] }) => m.label.find((l) => l.name === "destination_service")!.value;
    const counts = new Map(fams.find((f) => f.name === REQUESTS_FAMILY)!.metric.map((m) => [svc(m), m.counter!.value]));
    const samples = new Map(fams.find((f) => f.name === HISTOGRAM_FAMILIES[0])!.metric.map((m) => [svc(m), Number(m.histogram!.sampleCount)]));
    assert.equal(counts.size, n);
    for (const [k, c] of counts) assert.equal(samples.get(k), c, `${k}: its counter and request histogram show the same moment`);
    assert.equal(counts.get("s-0.ns.svc.cluster.local"), 1, "encoded before the breath: as it was");
    assert.equal(counts.get(`s-${n - 1}.ns.svc.cluster.local`), 2, "encoded after the breath: with the merge");
  } finally { await a.fastify.close(); }
});
