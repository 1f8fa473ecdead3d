// Exemplars in the store and the exposition formats: the slowest recent traced request per
// series timing, on the OpenMetrics bucket that holds its value (never in the classic text
// format), and on a native histogram's protobuf Bucket.
import { test } from "node:test";
import assert from "node:assert/strict";
import { buildBatch, requests } from "../../test/support/batch-builder.ts";
import { testApp, windowAt } from "./helpers.ts";
import { current, isTraceId, slowest } from "../src/store/exemplars.ts";
import type { Exemplar } from "../src/store/exemplars.ts";
import { bucketOf, openMetricsExemplar, protoExemplar } from "../src/metrics/exemplar-format.ts";
import { CLASSIC_LE_MS } from "../src/store/exp-histogram.ts";
import { decodeFamilies } from "../src/metrics/protobuf.ts";

const ID = "4bf92f3577b34da6a3ce929d0e0e4736";
const ex = (valueMs: number, timeMs: number, traceId = ID): Exemplar => ({ traceId, valueMs, timeMs });

const keep: [string, Exemplar | null, Exemplar, number, "next" | "kept"][] = [
  ["nothing kept", null, ex(5, 1000), 1000, "next"],
  ["slower replaces", ex(5, 1000), ex(9, 2000), 2000, "next"],
  ["faster does not replace", ex(9, 1000), ex(5, 2000), 2000, "kept"],
  ["equal does not replace", ex(9, 1000), ex(9, 2000), 2000, "kept"],
  ["a faster one replaces a kept one older than the span", ex(9, 1000), ex(5, 62_000), 62_000, "next"],
  ["a kept one exactly at the span's edge stays", ex(9, 2000), ex(5, 62_000), 62_000, "kept"],
];
for (const [name, kept, next, now, want] of keep) {
  test(`slowest: ${name}`, () => assert.equal(slowest(kept, next, now, 60_000), want === "next" ? next : kept));
}

test("current: an exemplar older than the span is not shown", () => {
  assert.equal(current(ex(9, 1000), 61_000, 60_000)?.valueMs, 9);
  assert.equal(current(ex(9, 1000), 61_001, 60_000), null);
  assert.equal(current(null, 0, 60_000), null);
});

test("isTraceId: 16 or 32 lower-case hex, not all zero", () => {
  for (const ok of [ID, "a3ce929d0e0e4736"]) assert.ok(isTraceId(ok), ok);
  for (const bad of ["", "0".repeat(32), "0".repeat(16), ID.toUpperCase(), ID.slice(1), ID + "0", "a3ce929d0e0e473g"]) assert.ok(!isTraceId(bad), bad);
});

test("bucketOf: the classic bucket whose range holds the value (a bound belongs to its own bucket)", () => {
  for (let i = 0; i < CLASSIC_LE_MS.length; i++) {
    const le = CLASSIC_LE_MS[i]!;
    assert.equal(bucketOf(le), i, `${le}`);
    assert.equal(bucketOf(le * 1.0001), i + 1, `just above ${le}`);
  }
  assert.equal(bucketOf(0), 0);
  assert.equal(bucketOf(CLASSIC_LE_MS.at(-1)! * 2), CLASSIC_LE_MS.length, "+Inf");
});

test("formats: OpenMetrics exemplar suffix and the protobuf Exemplar message", () => {
  assert.equal(openMetricsExemplar(ex(812.5, 1767268800123)), ` # {trace_id="${ID}"} 812.5 1767268800.123`);
  assert.deepEqual(protoExemplar(ex(812.5, 1767268800123)), { label: [{ name: "trace_id", value: ID }], value: 812.5, timestamp: { seconds: 1767268800, nanos: 123_000_000 } });
});

const OM = "application/openmetrics-text; version=1.0.0";

async function appWithExemplar() {
  const a = testApp();
  await a.post(buildBatch({ window: windowAt(a.clock.now), series: [requests(10, { requestMs: 20, upstreamMs: 16 }), requests(1, { requestMs: 700, upstreamMs: 690 })] }));
  const series = [...a.state.store.series.values()][0]!;
  series.offerExemplar(0, ex(700, a.clock.now - 1000), a.clock.now, a.state.config.exemplar_span_s * 1000);
  return a;
}

test("OpenMetrics: the exemplar sits on exactly the bucket that holds its value; the text format has none", async () => {
  const a = await appWithExemplar();
  const om = (await a.scrape(OM)).split("\n");
  const withEx = om.filter((l) => l.includes(" # {"));
  assert.equal(withEx.length, 1, withEx.join("\n"));
  const le = Number(/le="([^"]+)"/.exec(withEx[0]!)![1]);
  assert.equal(le, CLASSIC_LE_MS[bucketOf(700)]);
  assert.ok(le >= 700 && le / 2 < 700, `700 ms lies in (${le / 2}, ${le}]`);
  assert.match(withEx[0]!, new RegExp(`^meshlat_request_duration_milliseconds_bucket\\{.*\\} 11 # \\{trace_id="${ID}"\\} 700 ${(a.clock.now - 1000) / 1000}\\.000$`));
  const text = await a.scrape("text/plain; version=0.0.4");
  assert.ok(!text.split("\n").some((l) => !l.startsWith("#") && l.includes("#")), "no exemplar in the classic text format");
  a.clock.now += a.state.config.exemplar_span_s * 1000;
  assert.ok(!(await a.scrape(OM)).includes(" # {"), "gone once older than the span");
  await a.fastify.close();
});

test("protobuf: a native histogram carries its exemplar on one classic Bucket", async () => {
  const a = await appWithExemplar();
  const res = await a.fastify.inject({ method: "GET", url: "/metrics", headers: { accept: "application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited" } });
  const fams = decodeFamilies(res.rawPayload) as { name: string; metric: { histogram?: { bucket?: unknown[]; schema?: number } }[] }[];
  const req = fams.find((f) => f.name === "meshlat_request_duration_milliseconds")!;
  assert.deepEqual(req.metric[0]!.histogram!.bucket, [{
    cumulativeCount: 11, upperBound: CLASSIC_LE_MS[bucketOf(700)],
    exemplar: { label: [{ name: "trace_id", value: ID }], value: 700, timestamp: { seconds: (a.clock.now - 1000) / 1000 } },
  }]);
  const up = fams.find((f) => f.name === "meshlat_upstream_duration_milliseconds")!;
  assert.equal(up.metric[0]!.histogram!.bucket, undefined, "no exemplar, no bucket");
  await a.fastify.close();
});
