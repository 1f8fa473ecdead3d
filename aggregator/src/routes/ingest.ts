// POST /v1/batches: msgpack body → decode → validate (fully) → dedupe → merge. Load shedding
// happens in onRequest, before the body is read; body size is enforced by fastify's bodyLimit.
import type { FastifyError, FastifyInstance, FastifyRequest } from "fastify";
import { AggError, reasonOf } from "../errors.ts";
import { ERROR_BODY, sendError, toAggError } from "./error-reply.ts";
import { startLoadProbe } from "../load-probe.ts";
import { decodeMsgpack } from "../wire/decode.ts";
import { validateBatch } from "../wire/validate.ts";
import type { WireLimits } from "../wire/types.ts";
import type { AggregatorState } from "../store/state.ts";
import type { SelfMetrics } from "../metrics/self-metrics.ts";

export const INGEST_PATH = "/v1/batches";
export const MSGPACK_TYPES = ["application/msgpack", "application/vnd.msgpack", "application/x-msgpack"];

export interface IngestOptions { readonly state: AggregatorState; readonly metrics: SelfMetrics; readonly lagging?: () => boolean }

export async function ingestRoutes(app: FastifyInstance, opts: IngestOptions): Promise<void> {
  const { state, metrics } = opts;
  const cfg = state.config;
  const limits: WireLimits = { maxSeries: cfg.max_batch_series, maxStrings: cfg.max_batch_strings, maxBounds: cfg.max_bounds, maxLabelLength: cfg.max_label_length, maxTimingBuckets: cfg.max_timing_buckets };

  let pressure: () => string | null;
  if (opts.lagging) {
    const injected = opts.lagging;
    pressure = () => (injected() ? "event loop delay (injected)" : null);
  } else {
    const probe = startLoadProbe({ eventLoopDelayMs: cfg.shed_event_loop_delay_ms, heapPercent: cfg.shed_heap_percent });
    pressure = probe.reason;
    app.addHook("onClose", async () => probe.stop());
  }
  let bytesInFlight = 0;
  const inflight = new WeakMap<FastifyRequest, number>();
  const release = (req: FastifyRequest) => {
    bytesInFlight -= inflight.get(req) ?? 0;
    inflight.delete(req);
  };

  // Every refused batch is counted by result and reason; errors of this route (the body parser's
  // 413/415 included) come here, not to the app's handler.
  app.setErrorHandler((err: FastifyError | AggError, req, reply) => {
    const e = toAggError(err);
    metrics.batch(e.code === "AGG_ERR_SHED" ? "shed" : "rejected", reasonOf(e.code));
    return sendError(err, e, req, reply);
  });

  app.addContentTypeParser(MSGPACK_TYPES, { parseAs: "buffer" }, (_req, body, done) => done(null, body));

  app.post(INGEST_PATH, {
    schema: { response: { 204: { type: "null" }, "4xx": ERROR_BODY, "5xx": ERROR_BODY } },
    onRequest: async (req) => {
      const len = Number(req.headers["content-length"] ?? 0);
      // A body that can never fit is 413 (drop), not 429 (retry forever).
      if (len > cfg.body_limit_bytes) throw new AggError("AGG_ERR_TOO_LARGE", `body of ${len} bytes exceeds body_limit_bytes=${cfg.body_limit_bytes}`);
      // A lone body is always admitted (it is within body_limit_bytes): with max_inflight_bytes set
      // below body_limit_bytes a 429 for it would be retried forever.
      if (bytesInFlight > 0 && bytesInFlight + len > cfg.max_inflight_bytes) throw new AggError("AGG_ERR_SHED", `ingest bytes in flight would exceed max_inflight_bytes=${cfg.max_inflight_bytes}`);
      const why = pressure();
      if (why) throw new AggError("AGG_ERR_SHED", why);
      bytesInFlight += len;
      inflight.set(req, len);
    },
    // A client that disconnects mid-body gets no response: release its bytes on abort too.
    onResponse: async (req) => release(req),
    onRequestAbort: async (req) => release(req),
    handler: async (req, reply) => {
      const t0 = performance.now();
      const body = req.body;
      if (!(body instanceof Uint8Array) || body.length === 0) throw new AggError("AGG_ERR_DECODE", "empty body");
      // Everything below is synchronous: validation completes before anything is merged.
      const batch = validateBatch(decodeMsgpack(body), limits);
      const result = state.ingest(batch);
      metrics.batch(result);
      metrics.ingestSeconds((performance.now() - t0) / 1000);
      return reply.code(204).send();
    },
  });
}
