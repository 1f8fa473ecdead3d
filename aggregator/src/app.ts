// build(config) → a fastify instance with every route registered; it does not listen.
// Nothing here runs at import time.
import Fastify from "fastify";
import type { FastifyError, FastifyInstance, FastifyRequest } from "fastify";
import { AggError } from "./errors.ts";
import type { Config } from "./config.ts";
import { AggregatorState } from "./store/state.ts";
import type { Clock } from "./store/state.ts";
import { createSelfMetrics } from "./metrics/self-metrics.ts";
import type { SelfMetrics } from "./metrics/self-metrics.ts";
import { sendError, toAggError } from "./routes/error-reply.ts";
import { ingestRoutes } from "./routes/ingest.ts";
import { metricsRoutes } from "./routes/metrics.ts";
import { healthRoutes } from "./routes/health.ts";
import { apiRoutes } from "./routes/api.ts";
import { uiRoutes } from "./routes/ui.ts";
import { overviewRoutes } from "./routes/overview.ts";

export interface BuildOptions {
  /** Wall clock in Unix ms (tests inject one). */
  readonly now?: Clock;
  /** Overrides the event-loop-lag probe used for load shedding (tests). */
  readonly lagging?: () => boolean;
  /** Where log lines go (default stdout; tests capture them). */
  readonly logStream?: { write(line: string): void };
}

export interface App {
  readonly fastify: FastifyInstance;
  readonly state: AggregatorState;
  readonly metrics: SelfMetrics;
  /** Starts draining for shutdown: ingest answers 503, /readyz 503; /metrics is still served. */
  drain(): void;
}

/** Request fields in log lines: the path only (query strings may carry anything a client sent). */
const logRequest = (req: FastifyRequest) => ({ method: req.method, url: req.url.split("?")[0], remoteAddress: req.ip });

export function build(config: Config, opts: BuildOptions = {}): App {
  const now = opts.now ?? Date.now;
  const fastify = Fastify({
    logger: { level: config.log_level, serializers: { req: logRequest }, ...(opts.logStream ? { stream: opts.logStream } : {}) },
    bodyLimit: config.body_limit_bytes,
    return503OnClosing: true,
  });
  const state = new AggregatorState(config, now);
  if (config.caller_identity === "off") fastify.log.warn("caller_identity=off: any client may report batches for any namespace (use only outside a mesh)");
  const metrics = createSelfMetrics(state);
  let closing = false;
  let draining = false;

  // Only MessagePack bodies exist in this API; without the default JSON/text parsers any other
  // content type is a 415.
  fastify.removeAllContentTypeParsers();

  fastify.setErrorHandler((err: FastifyError | AggError, req, reply) => sendError(err, toAggError(err), req, reply));
  fastify.setNotFoundHandler((req, reply) => {
    reply.code(404).send(new AggError("AGG_ERR_NOT_FOUND", `no route ${req.method} ${req.url.split("?")[0]}`).toJSON());
  });
  fastify.addHook("preClose", async () => { closing = true; });
  // Responses finished during shutdown close their keep-alive connection; otherwise close()
  // would wait for the client (a filter, Prometheus) to hang up.
  fastify.addHook("onSend", (_req, reply, payload, done) => {
    if (closing) reply.header("connection", "close");
    done(null, payload);
  });

  fastify.register(ingestRoutes, { state, metrics, lagging: opts.lagging, draining: () => draining });
  fastify.register(metricsRoutes, { state, metrics });
  fastify.register(apiRoutes, { state });
  fastify.register(overviewRoutes, { state, registry: metrics.registry });
  fastify.register(uiRoutes);
  fastify.register(healthRoutes, { ready: () => fastify.server.listening && !closing && !draining });
  return { fastify, state, metrics, drain: () => { draining = true; } };
}
