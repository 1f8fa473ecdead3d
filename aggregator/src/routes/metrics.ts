// GET /metrics: Prometheus text 0.0.4, or OpenMetrics 1.0.0 when Accept asks for it; streamed,
// gzip when the scraper accepts it (Prometheus does).
import type { FastifyInstance } from "fastify";
import { Readable } from "node:stream";
import { createGzip } from "node:zlib";
import { OPENMETRICS_CONTENT_TYPE, TEXT_CONTENT_TYPE, renderPromClient } from "../metrics/exposition.ts";
import { renderTraffic } from "../metrics/traffic.ts";
import type { SelfMetrics } from "../metrics/self-metrics.ts";
import type { AggregatorState } from "../store/state.ts";

/** True when Accept prefers OpenMetrics (any q > 0 for application/openmetrics-text). */
export function wantsOpenMetrics(accept: string | undefined): boolean {
  if (!accept) return false;
  return accept.split(",").some((part) => {
    const [type, ...params] = part.trim().split(";").map((x) => x.trim());
    if (type?.toLowerCase() !== "application/openmetrics-text") return false;
    const q = params.find((p) => p.startsWith("q="));
    return q === undefined || Number(q.slice(2)) > 0;
  });
}

export async function metricsRoutes(app: FastifyInstance, opts: { state: AggregatorState; metrics: SelfMetrics }): Promise<void> {
  app.get("/metrics", async (req, reply) => {
    opts.state.sweep(undefined, true);
    const om = wantsOpenMetrics(req.headers.accept);
    const self = renderPromClient(await opts.metrics.registry.getMetricsAsJSON(), om);
    const traffic = renderTraffic(opts.state.store, om);
    function* all(): Generator<Buffer> {
      yield* traffic;
      yield Buffer.from(self + (om ? "# EOF\n" : ""));
    }
    reply.header("content-type", om ? OPENMETRICS_CONTENT_TYPE : TEXT_CONTENT_TYPE);
    const stream = Readable.from(all(), { objectMode: false });
    if (/\bgzip\b/.test(String(req.headers["accept-encoding"] ?? ""))) {
      reply.header("content-encoding", "gzip");
      return reply.send(stream.pipe(createGzip({ level: 1 })));
    }
    return reply.send(stream);
  });
}
