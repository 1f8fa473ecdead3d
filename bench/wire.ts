// Bytes on the wire per request: meshlat's delta batches against one record per request
// (an Envoy default-format access-log line, a compact JSON record).
//
// wire.model.*: wire v2 batches built with the reference batch encoder (test/support/batch-builder.ts:
// label tuples against the previous series, each timing folded as the filter folds a window)
// from the same request mix the filter sees, at RATE requests/s and 1 s flushes. The real
// filter's bytes are measured in flush.ts (wire.filter.*): the model is the reference encoder's
// view of the same traffic, so the two moving apart points at one of the encoders.
import { batchValue, encodeBatch } from "../test/support/batch-builder.ts";
import type { SeriesInput, Labels } from "../test/support/batch-builder.ts";
import { envoyAccessLogLine, jsonRecord } from "./lib/access-log.ts";
import { metric } from "./lib/results.ts";
import type { SubjectResult } from "./lib/results.ts";
import { NODE, USER_AGENT, prng, requestCase } from "./lib/traffic.ts";
import type { RequestCase } from "./lib/traffic.ts";

export const RATE = 1000;       // requests per second per sidecar
export const WINDOWS = 10;      // flush windows of 1 s
/** Bytes per request at 1000 req/s, 1 s flushes, wire v2 (issue 13): one worker VM, and two (a sidecar with concurrency 2). */
export const WIRE_TARGET = 4;
export const WIRE_TARGET_2_WORKERS = 6;

/** The labels meshlat gives an outbound request from the benchmark's frontend sidecar. */
export function labelsOf(c: RequestCase): Labels {
  return {
    reporter: c.direction === "outbound" ? "source" : "destination",
    source_workload: "frontend",
    source_namespace: "shop",
    destination_service: c.destination,
    response_code: String(c.status),
    response_flags: c.status === 503 ? "UF" : "-",
    connection_security_policy: c.direction === "outbound" ? "unknown" : c.mtls ? "mutual_tls" : "none",
    user_tier: c.tier ?? "unknown",
    region: NODE.locality.region,
    peer_region: c.peerRegion,
  };
}

/** The same window folded into series by label tuple, as the filter's series table does; timings as observed values (ms). */
export function foldWindow(cases: readonly RequestCase[]): SeriesInput[] {
  const byKey = new Map<string, { labels: Labels; req: number[]; up: number[]; proxy: number[]; app: number[]; net: number[] }>();
  for (const c of cases) {
    const labels = labelsOf(c);
    const key = Object.values(labels).join("\u0000");
    let s = byKey.get(key);
    if (!s) byKey.set(key, (s = { labels, req: [], up: [], proxy: [], app: [], net: [] }));
    const total = c.upstreamMs + c.responseMs;
    s.req.push(total);
    s.up.push(c.upstreamMs);
    s.proxy.push(total - c.upstreamMs);
    if (c.appMs !== undefined) {
      s.app.push(c.appMs);
      s.net.push(Math.max(0, c.upstreamMs - c.appMs));
    }
  }
  return [...byKey.values()].map((s) => ({
    labels: s.labels,
    count: s.req.length,
    timings: {
      request: s.req, upstream: s.up, proxy: s.proxy,
      ...(s.app.length ? { app: s.app, network: s.net } : {}),
    },
  }));
}

// An HTTP/1.1 POST as Envoy sends it to the aggregator cluster (request line and headers the
// filter sets, plus the ones Envoy adds); an estimate: h2 with HPACK would send far less.
export function postOverheadBytes(bodyBytes: number): number {
  const head = "POST /v1/batches HTTP/1.1\r\nhost: meshlat-aggregator.istio-system.svc.cluster.local\r\n" +
    `content-type: application/msgpack\r\ncontent-length: ${bodyBytes}\r\nx-forwarded-proto: http\r\n` +
    "x-request-id: 2f8a1c3e-4b5d-4e6f-8a7b-9c0d1e2f3a4b\r\nx-envoy-expected-rq-timeout-ms: 5000\r\n\r\n";
  return head.length;
}

/** Window `w` (1 s from startMs) of the model sidecar as a wire v2 batch body. */
export function modelBatch(series: SeriesInput[], w: number, startMs: number): Uint8Array {
  return encodeBatch(batchValue({
    v: 2,
    proxy: { id: NODE.id, workload: "frontend", namespace: "shop", region: NODE.locality.region },
    vm: "5f0c9a7e31d24b68", seq: w + 1,
    window: [startMs + w * 1000, startMs + (w + 1) * 1000],
    series,
    counters: { requests: (w + 1) * RATE, folded_requests: 0, dropped_batches: 0, failed_flushes: 0 },
  }));
}

export function runWireModel(seed = 7): SubjectResult {
  const rand = prng(seed);
  let batchBytes = 0, postBytes = 0, logBytes = 0, jsonBytes = 0, seriesTotal = 0, n = 0;
  const startMs = Date.UTC(2026, 10, 27, 4, 0, 0);
  for (let w = 0; w < WINDOWS; w++) {
    const cases = Array.from({ length: RATE }, () => requestCase(rand));
    const series = foldWindow(cases);
    const body = modelBatch(series, w, startMs);
    batchBytes += body.length;
    postBytes += body.length + postOverheadBytes(body.length);
    seriesTotal += series.length;
    cases.forEach((c, i) => {
      const t = startMs + w * 1000 + i;
      logBytes += Buffer.byteLength(envoyAccessLogLine(c, t, USER_AGENT));
      jsonBytes += Buffer.byteLength(jsonRecord(c, t, labelsOf(c)));
    });
    n += cases.length;
  }
  const perReq = batchBytes / n;
  return {
    metrics: {
      "wire.model.bytes_per_request": metric("count", perReq, "B/req",
        `model: wire v2 batch body per request at ${RATE} req/s, 1 s flushes, realistic mix (reference encoder)`,
        { target: { op: "<=", value: WIRE_TARGET } }),
      "wire.model.with_http_bytes_per_request": metric("count", postBytes / n, "B/req", "model: the same plus an HTTP/1.1 POST's request line and headers"),
      "wire.access_log_bytes_per_request": metric("count", logBytes / n, "B/req", "one Envoy default-format access-log line per request (same requests)"),
      "wire.json_bytes_per_request": metric("count", jsonBytes / n, "B/req", "one compact JSON record per request with meshlat's labels and timings"),
      "wire.model.series_per_batch": metric("count", seriesTotal / WINDOWS, "series", "label tuples per 1 s window in the realistic mix"),
    },
    details: {
      wireModel: {
        rate: RATE, windows: WINDOWS, batchBytesMean: batchBytes / WINDOWS,
        accessLogSample: envoyAccessLogLine(requestCase(prng(1)), startMs, USER_AGENT),
        jsonSample: jsonRecord(requestCase(prng(1)), startMs, labelsOf(requestCase(prng(1)))),
      },
    },
  };
}
