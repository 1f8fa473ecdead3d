import { test } from "node:test";
import assert from "node:assert/strict";
import { gunzipSync } from "node:zlib";
import { buildBatch } from "../../test/support/batch-builder.ts";
import type { SeriesInput } from "../../test/support/batch-builder.ts";
import { testApp } from "./helpers.ts";
import { CHUNK, recycle, takeChunk } from "../src/metrics/chunk-writer.ts";
import { PROTOBUF_CONTENT_TYPE } from "../src/metrics/protobuf.ts";

test("the chunk free list takes back only its own chunks, each once", () => {
  const a = takeChunk(), b = takeChunk();
  assert.equal(a.length, CHUNK);
  assert.notEqual(a.buffer, b.buffer);
  recycle(a.subarray(0, 10));
  recycle(a); // twice: still one entry
  recycle(Buffer.allocUnsafeSlow(CHUNK)); // not made here: ignored
  assert.equal(takeChunk().buffer, a.buffer);
  assert.notEqual(takeChunk().buffer, a.buffer, "handed out once");
});

/** Series spread over many label sets and values, so that a scrape spans several chunks. */
function series(from: number, n: number): SeriesInput[] {
  return Array.from({ length: n }, (_, k) => {
    const i = from + k;
    return { labels: { destination_service: `svc-${i}.ns-${i % 7}.svc.cluster.local`, source_workload: `wl-${i % 13}` }, timings: { request: [1 + (i % 50), 3 + i, 0.2], upstream: [0.5 + i / 10], app: [i % 9] } };
  });
}

for (const [format, accept, minChunks] of [["text", undefined, 4], ["protobuf", PROTOBUF_CONTENT_TYPE, 2]] as const) {
  test(`gzip ${format} scrapes that reuse chunks, one after another and at once, decompress to the plain scrape`, async () => {
    const a = testApp();
    try {
      const n = format === "text" ? 300 : 5000;
      for (let from = 0; from < n; from += 1000) assert.equal((await a.post(buildBatch({ v: 2, series: series(from, Math.min(1000, n - from)) }))).statusCode, 204);
      const headers = (gzip: boolean) => ({ ...(accept ? { accept } : {}), ...(gzip ? { "accept-encoding": "gzip" } : {}) });
      const plain = (await a.fastify.inject({ method: "GET", url: "/metrics", headers: headers(false) })).rawPayload;
      // The self-metrics at the end count the scrapes' own requests: compare the traffic part.
      const cut = format === "text" ? plain.indexOf("# HELP meshlat_aggregator") : plain.length - 20_000;
      assert.ok(cut > minChunks * CHUNK, `the scrape spans ${minChunks}+ chunks (${plain.length} B)`);
      const traffic = plain.subarray(0, cut);
      const gz = () => a.fastify.inject({ method: "GET", url: "/metrics", headers: headers(true) });
      const bodies = [await gz(), await gz(), ...(await Promise.all([gz(), gz(), gz()]))];
      for (const r of bodies) {
        assert.equal(r.headers["content-encoding"], "gzip");
        const body = gunzipSync(r.rawPayload);
        assert.ok(body.subarray(0, cut).equals(traffic), "every gzip scrape carries the plain scrape's traffic bytes");
      }
    } finally { await a.fastify.close(); }
  });
}
