// Exemplars against Debian's Prometheus 2.42 with --enable-feature=exemplar-storage: one
// Prometheus scrapes OpenMetrics (classic buckets), one also has native-histograms and scrapes
// protobuf. A slow request's exemplar, sent by the reference encoder in a wire v2 batch (what the
// filter sends) to the aggregator as its own process, comes back from
// /api/v1/query_exemplars on the bucket that holds its value with its trace id, value and time.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { AggregatorProcess } from "../sidecar/aggregator-process.ts";
import { CLASSIC_LE_MS } from "../../aggregator/src/store/exp-histogram.ts";
import { bucketOf } from "../../aggregator/src/metrics/exemplar-format.ts";
import { buildBatch, requests } from "../support/batch-builder.ts";
import { poll } from "../support/poll.ts";
import { Prometheus } from "./prometheus.ts";
import type { ExemplarSeries } from "./prometheus.ts";

const TRACE = "4bf92f3577b34da6a3ce929d0e0e4736";
const SLOW_MS = 1500;
let agg: AggregatorProcess, om: Prometheus, native: Prometheus;
let exTimeMs = 0;

before(async () => {
  // A whole hour: the exemplar must still stand when the slower Prometheus scrapes.
  agg = await AggregatorProcess.start({ args: ["--exemplar-span-s", "3600"] });
  const now = Date.now();
  exTimeMs = now - 200;
  const r = await fetch(`${agg.url}/v1/batches`, { method: "POST", headers: { "content-type": "application/msgpack" }, body: buildBatch({ v: 2, window: [now - 1000, now], series: [
    { ...requests(20, { requestMs: 30, upstreamMs: 20 }), exemplar: { traceId: "80f198ee56343ba864fe8b2a57d3eff7", valueUs: 30_000, timeMs: exTimeMs - 100 } },
    { ...requests(1, { requestMs: SLOW_MS, upstreamMs: SLOW_MS - 5 }), exemplar: { traceId: TRACE, valueUs: SLOW_MS * 1000, timeMs: exTimeMs } },
  ] }) });
  assert.equal(r.status, 204, await r.text());
  const job = [{ job: "meshlat", targets: [`127.0.0.1:${agg.port}`] }];
  [om, native] = await Promise.all([
    Prometheus.start(job, { features: ["exemplar-storage"] }),
    Prometheus.start(job, { features: ["exemplar-storage", "native-histograms"] }),
  ]);
});

after(async () => {
  await Promise.all([om?.stop(), native?.stop()]);
  await agg?.kill();
});

/** [trace id, value, time in ms] of each exemplar of a series. */
const tuples = (s: ExemplarSeries) => s.exemplars.map((e) => [e.labels.trace_id, Number(e.value), Math.round(e.timestamp * 1000)]);

test("OpenMetrics scrape: the exemplar is stored on the bucket that holds the slow request", async () => {
  const got = await poll(() => om.exemplars("meshlat_request_duration_milliseconds_bucket", exTimeMs), (d) => d.length > 0, { timeoutMs: 20_000, intervalMs: 250, what: "exemplars (OpenMetrics)" });
  assert.equal(got.length, 1, JSON.stringify(got));
  const le = CLASSIC_LE_MS[bucketOf(SLOW_MS)]!;
  assert.equal(Number(got[0]!.seriesLabels.le), le);
  assert.ok(le >= SLOW_MS && le / 2 < SLOW_MS);
  assert.deepEqual(tuples(got[0]!), [[TRACE, SLOW_MS, exTimeMs]]);
  assert.deepEqual(await om.exemplars("meshlat_upstream_duration_milliseconds_bucket", exTimeMs), [], "no exemplar offered, none stored");
});

test("protobuf scrape: the native histogram's exemplar is stored with its trace id", async () => {
  const got = await poll(() => native.exemplars("meshlat_request_duration_milliseconds", exTimeMs), (d) => d.length > 0, { timeoutMs: 20_000, intervalMs: 250, what: "exemplars (protobuf)" });
  assert.equal(got.length, 1, JSON.stringify(got));
  assert.equal(got[0]!.seriesLabels.__name__, "meshlat_request_duration_milliseconds");
  assert.deepEqual(tuples(got[0]!), [[TRACE, SLOW_MS, exTimeMs]]);
  // Still one native histogram per label set: the exemplar's Bucket does not turn it classic.
  assert.deepEqual(await native.query("meshlat_request_duration_milliseconds_bucket"), []);
});
