// Wire v2's optional exemplar (docs/wire-format.md, "Exemplar"): sent by the reference encoder
// (test/support/batch-builder.ts), validated strictly, and shown on the OpenMetrics bucket that
// holds its value after ingest.
import { test } from "node:test";
import assert from "node:assert/strict";
import { decodeMsgpack } from "../src/wire/decode.ts";
import { validateBatch } from "../src/wire/validate.ts";
import { AggError } from "../src/errors.ts";
import { batchValue, buildBatch, encodeBatch, requests } from "../../test/support/batch-builder.ts";
import { testApp, windowAt } from "./helpers.ts";
import { bucketOf } from "../src/metrics/exemplar-format.ts";
import { CLASSIC_LE_MS } from "../src/store/exp-histogram.ts";

const limits = { maxSeries: 100, maxStrings: 1000, maxBounds: 64, maxLabelLength: 256, maxTimingBuckets: 160 };
const ID = "4bf92f3577b34da6a3ce929d0e0e4736";
const EX = { traceId: ID, valueUs: 812_000, timeMs: 1_767_268_800_123 };
const base = () => batchValue({ v: 2, series: [{ ...requests(3, { requestMs: 812 }), exemplar: EX }, requests(2, { requestMs: 5 }, { response_code: "503" })] });

test("v2 exemplar: decoded with its series; a series without one has none", () => {
  const b = validateBatch(decodeMsgpack(encodeBatch(base())), limits);
  assert.deepEqual(b.series[0]!.exemplar, EX);
  assert.equal(b.series[1]!.exemplar, undefined);
  const b64 = batchValue({ v: 2, series: [{ ...requests(1, { requestMs: 3 }), exemplar: { ...EX, traceId: "a3ce929d0e0e4736" } }] });
  assert.equal(validateBatch(decodeMsgpack(encodeBatch(b64)), limits).series[0]!.exemplar!.traceId, "a3ce929d0e0e4736", "a 64-bit B3 id");
});

type Raw = { series: unknown[][] };
const ex = (b: Raw) => b.series[0]![3] as unknown[];
const cases: [string, (b: Raw) => void, string][] = [
  ["not an array", (b) => { b.series[0]![3] = 5; }, "/series/0/3"],
  ["two fields", (b) => { ex(b).pop(); }, "/series/0/3"],
  ["trace id as a string", (b) => { ex(b)[0] = ID; }, "/series/0/3/0"],
  ["trace id of 12 bytes", (b) => { ex(b)[0] = new Uint8Array(12).fill(1); }, "/series/0/3/0"],
  ["all-zero trace id", (b) => { ex(b)[0] = new Uint8Array(16); }, "/series/0/3/0"],
  ["negative value", (b) => { ex(b)[1] = -1; }, "/series/0/3/1"],
  ["fractional time", (b) => { ex(b)[2] = 1.5; }, "/series/0/3/2"],
  ["no request timing", (b) => { b.series[0]![2] = Uint8Array.of(0); }, "/series/0/3/1"], // a timings bin with an empty mask
  ["a fifth series field", (b) => { b.series[0]!.push(1); }, "/series/0"],
];
for (const [name, mut, path] of cases) {
  test(`v2 exemplar rejects: ${name}`, () => {
    const v = base() as unknown as Raw;
    mut(v);
    assert.throws(() => validateBatch(decodeMsgpack(encodeBatch(v as unknown as Record<string, unknown>)), limits), (e: unknown) => {
      assert.ok(e instanceof AggError, String(e));
      assert.equal(e.code, "AGG_ERR_SCHEMA");
      assert.equal(e.path, path, e.message);
      return true;
    });
  });
}

test("ingest: the slowest exemplar of a series reaches the OpenMetrics bucket that holds it", async () => {
  const a = testApp();
  const t = a.clock.now - 1000;
  const post = async (seq: number, valueMs: number, traceId: string) => assert.equal((await a.post(buildBatch({ v: 2, vm: "00000000000000aa", seq, window: windowAt(a.clock.now),
    series: [{ ...requests(1, { requestMs: valueMs }), exemplar: { traceId, valueUs: valueMs * 1000, timeMs: t } }] }))).statusCode, 204);
  await post(1, 900, ID);
  await post(2, 40, "80f198ee56343ba864fe8b2a57d3eff7"); // faster: the slow one stays
  const lines = (await a.scrape("application/openmetrics-text; version=1.0.0")).split("\n").filter((l) => l.includes(" # {"));
  assert.equal(lines.length, 1, lines.join("\n"));
  assert.ok(lines[0]!.startsWith("meshlat_request_duration_milliseconds_bucket{"));
  assert.ok(lines[0]!.includes(`le="${CLASSIC_LE_MS[bucketOf(900)]}.0"`), lines[0]);
  assert.ok(lines[0]!.endsWith(`# {trace_id="${ID}"} 900 ${t / 1000}.000`), lines[0]);
  await a.fastify.close();
});
