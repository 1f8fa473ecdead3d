// build(config) → a fastify instance with every route registered; it does not listen.
// Nothing here runs at import time.
import Fastify from "fastify";
import type { FastifyError, FastifyInstance } from "fastify";
import { AggError, reasonOf } from "./errors.ts";
import type { Config } from "./config.ts";
import { AggregatorState } from "./store/state.ts";
import type { Clock } from "./store/state.ts";
import { createSelfMetrics } from "./metrics/self-metrics.ts";
import type { SelfMetrics } from "./metrics/self-metrics.ts";
import { INGEST_PATH, ingestRoutes } from "./routes/ingest.ts";
import { metricsRoutes } from "./routes/metrics.ts";
import { healthRoutes } from "./routes/health.ts";
import { apiRoutes } from "./routes/api.ts";
import { uiRoutes } from "./routes/ui.ts";

export interface BuildOptions {
  /** Wall clock in Unix ms (tests inject one). */
  readonly now?: Clock;
  /** Overrides the event-loop-lag probe used for load shedding (tests). */
  readonly lagging?: () => boolean;
}

export interface App {
  readonly fastify: FastifyInstance;
  readonly state: AggregatorState;
  readonly metrics: SelfMetrics;
}

/** Maps fastify's own errors onto the catalog so every error body has a stable code. */
function toAggError(err: FastifyError | AggError): AggError {
  if (err instanceof AggError) return err;
  switch (err.code) {
    case "FST_ERR_CTP_BODY_TOO_LARGE": return new AggError("AGG_ERR_TOO_LARGE", err.message);
    case "FST_ERR_CTP_INVALID_MEDIA_TYPE": return new AggError("AGG_ERR_CONTENT_TYPE", "content-type must be application/msgpack");
    case "FST_ERR_CTP_INVALID_CONTENT_LENGTH":
    case "FST_ERR_CTP_EMPTY_JSON_BODY": return new AggError("AGG_ERR_DECODE", err.message);
  }
  if (err.statusCode === 503) return new AggError("AGG_ERR_SHUTTING_DOWN", "shutting down");
  if (err.statusCode && err.statusCode >= 400 && err.statusCode < 500) return new AggError("AGG_ERR_DECODE", err.message);
  return new AggError("AGG_ERR_INTERNAL", "internal error");
}

export function build(config: Config, opts: BuildOptions = {}): App {
  const now = opts.now ?? Date.now;
  const fastify = Fastify({
    logger: { level: config.log_level },
    bodyLimit: config.body_limit_bytes,
    return503OnClosing: true,
  });
  const state = new AggregatorState(config, now);
  const metrics = createSelfMetrics(state);
  let closing = false;

  // Only MessagePack bodies exist in this API; without the default JSON/text parsers any other
  // content type is a 415.
  fastify.removeAllContentTypeParsers();

  fastify.setErrorHandler((err: FastifyError | AggError, req, reply) => {
    const e = toAggError(err);
    if (req.routeOptions.url === INGEST_PATH && req.method === "POST") {
      metrics.batch(e.code === "AGG_ERR_SHED" ? "shed" : "rejected", reasonOf(e.code));
    }
    if (e.code === "AGG_ERR_INTERNAL") req.log.error({ err }, "internal error");
    else req.log.info({ code: e.code, path: e.path }, e.message);
    return reply.code(e.statusCode).send(e.toJSON());
  });
  fastify.setNotFoundHandler((req, reply) => {
    reply.code(404).send(new AggError("AGG_ERR_NOT_FOUND", `no route ${req.method} ${req.url.split("?")[0]}`).toJSON());
  });
  fastify.addHook("preClose", async () => { closing = true; });
  // Responses finished during shutdown close their keep-alive connection; otherwise close()
  // would wait for the client (a filter, Prometheus) to hang up.
  fastify.addHook("onSend", async (_req, reply) => { if (closing) reply.header("connection", "close"); });

  fastify.register(ingestRoutes, { state, metrics, lagging: opts.lagging });
  fastify.register(metricsRoutes, { state, metrics });
  fastify.register(apiRoutes, { state });
  fastify.register(uiRoutes);
  fastify.register(healthRoutes, { ready: () => fastify.server.listening && !closing });
  return { fastify, state, metrics };
}
