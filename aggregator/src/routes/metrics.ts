// GET /metrics: Prometheus text 0.0.4, or OpenMetrics 1.0.0 when Accept asks for it; streamed,
// gzip when the scraper accepts it (Prometheus does).
import type { FastifyInstance } from "fastify";
import { Readable } from "node:stream";
import { createGzip } from "node:zlib";
import { renderPromClient } from "../metrics/exposition.ts";
import { negotiate } from "../metrics/negotiate.ts";
import { renderTraffic } from "../metrics/traffic.ts";
import type { SelfMetrics } from "../metrics/self-metrics.ts";
import type { AggregatorState } from "../store/state.ts";

export async function metricsRoutes(app: FastifyInstance, opts: { state: AggregatorState; metrics: SelfMetrics }): Promise<void> {
  app.get("/metrics", async (req, reply) => {
    opts.state.expireIdle();
    const x = negotiate(req.headers.accept, req.headers["accept-encoding"]);
    const om = x.openMetrics;
    const self = renderPromClient(await opts.metrics.registry.getMetricsAsJSON(), om);
    const traffic = renderTraffic(opts.state.store, om);
    function* all(): Generator<Buffer> {
      yield* traffic;
      yield Buffer.from(self + (om ? "# EOF\n" : ""));
    }
    reply.header("content-type", x.contentType);
    const stream = Readable.from(all(), { objectMode: false });
    if (x.gzip) {
      reply.header("content-encoding", "gzip");
      return reply.send(stream.pipe(createGzip({ level: 1 })));
    }
    return reply.send(stream);
  });
}
