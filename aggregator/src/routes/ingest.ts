// POST /v1/batches: admission (headers) → body (bounded in time) → decode → validate (fully) →
// dedupe → merge, the last four with the other batches of the event loop's turn (merge-turn.ts).
// Body size is bounded by admission (content-length within body_limit_bytes;
// Node reads exactly that many bytes).
import type { FastifyError, FastifyInstance, FastifyRequest } from "fastify";
import type { IncomingMessage } from "node:http";
import { AggError, reasonOf } from "../errors.ts";
import { Admission } from "../ingest/admission.ts";
import type { Ticket } from "../ingest/admission.ts";
import { readBody } from "../ingest/body.ts";
import { callerIdentity } from "../ingest/identity.ts";
import { startLoadProbe } from "../ingest/load-probe.ts";
import { MergeTurn } from "../ingest/merge-turn.ts";
import { readBatch } from "../wire/read-batch.ts";
import type { WireLimits } from "../wire/types.ts";
import type { AggregatorState } from "../store/state.ts";
import type { SelfMetrics } from "../metrics/self-metrics.ts";
import { ERROR_BODY, sendError, toAggError } from "./error-reply.ts";

declare module "fastify" {
  interface FastifyRequest {
    /** The admission ticket an ingest request holds until its response or abort. */
    ingestTicket: Ticket | null;
  }
}

export const INGEST_PATH = "/v1/batches";
export const MSGPACK_TYPES = ["application/msgpack", "application/vnd.msgpack", "application/x-msgpack"];

export interface IngestOptions {
  readonly state: AggregatorState;
  readonly metrics: SelfMetrics;
  readonly lagging?: () => boolean;
  readonly draining: () => boolean;
}

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
  const admission = new Admission({ config: cfg, pressure, draining: opts.draining });
  // On the request itself (a decorated field, set up once): no WeakMap entry per request for
  // the garbage collector to trace.
  app.decorateRequest("ingestTicket", null);
  const release = (req: FastifyRequest) => {
    const t = req.ingestTicket;
    if (!t) return;
    req.ingestTicket = null;
    admission.release(t);
  };

  // Every refused batch is counted by result and reason; errors of this route (the body parser's
  // 415 included) come here, not to the app's handler.
  app.setErrorHandler((err: FastifyError | AggError, req, reply) => {
    const e = toAggError(err);
    metrics.batch(e.code === "AGG_ERR_SHED" ? "shed" : "rejected", reasonOf(e.code));
    return sendError(err, e, req, reply);
  });

  app.addContentTypeParser(MSGPACK_TYPES, (req, payload, done) => {
    const t = req.ingestTicket;
    readBody(payload as IncomingMessage, cfg.body_timeout_ms, (n) => { if (t) admission.received(t, n); }, done);
  });

  // Read, check and merge, with the other batches of this turn of the event loop (merge-turn.ts).
  // Everything here is synchronous: validation completes before anything is merged.
  const turn = new MergeTurn((req: FastifyRequest) => {
    const t0 = performance.now();
    const batch = readBatch(req.body as Uint8Array, limits);
    if (cfg.caller_identity === "namespace") {
      const id = callerIdentity(req.headers["x-forwarded-client-cert"], cfg.caller_identity_trusted_by);
      if (typeof id === "string") throw new AggError("AGG_ERR_FORBIDDEN", id);
      if (id.namespace !== batch.proxy.namespace) throw new AggError("AGG_ERR_FORBIDDEN", `caller ${id.uri} (namespace ${id.namespace}) may not report for namespace ${JSON.stringify(batch.proxy.namespace)}`, "/proxy/namespace");
    }
    const result = state.ingest(batch);
    metrics.batch(result);
    const ms = performance.now() - t0;
    admission.worked(ms);
    metrics.ingestSeconds(ms / 1000);
  });

  app.post(INGEST_PATH, {
    schema: { response: { 204: { type: "null" }, "4xx": ERROR_BODY, "5xx": ERROR_BODY } },
    // Callback hooks, not async ones: no promise per hook per batch.
    onRequest: (req, _reply, done) => {
      try {
        req.ingestTicket = admission.admit(req.headers);
      } catch (e) {
        done(e as AggError);
        return;
      }
      done();
    },
    // A client that disconnects mid-body gets no response: release its ticket on abort too.
    onResponse: (req, _reply, done) => { release(req); done(); },
    onRequestAbort: (req, done) => { release(req); done(); },
    handler: async (req, reply) => {
      const body = req.body;
      if (!(body instanceof Uint8Array) || body.length === 0) throw new AggError("AGG_ERR_DECODE", "empty body");
      if (req.ingestTicket) admission.bodyDone(req.ingestTicket);
      await turn.submit(req);
      return reply.code(204).send();
    },
  });
}
