// GET /metrics: Prometheus text 0.0.4, OpenMetrics 1.0.0, or the protobuf format with native
// histograms, as Accept asks; streamed, gzip when the scraper accepts it (Prometheus does).
import type { FastifyInstance } from "fastify";
import { Readable } from "node:stream";
import { renderPromClient } from "../metrics/exposition.ts";
import { breathing } from "../metrics/breath.ts";
import { gzipChunks } from "../metrics/gzip-stream.ts";
import { negotiate } from "../metrics/negotiate.ts";
import { renderTraffic } from "../metrics/traffic.ts";
import { renderTrafficProtobuf } from "../metrics/traffic-protobuf.ts";
import { encodeFamily, promClientFamilies } from "../metrics/protobuf.ts";
import type { SelfMetrics } from "../metrics/self-metrics.ts";
import type { AggregatorState } from "../store/state.ts";

export async function metricsRoutes(app: FastifyInstance, opts: { state: AggregatorState; metrics: SelfMetrics }): Promise<void> {
  app.get("/metrics", async (req, reply) => {
    opts.state.expireIdle();
    const x = negotiate(req.headers.accept, req.headers["accept-encoding"]);
    const om = x.openMetrics;
    const selfJson = await opts.metrics.registry.getMetricsAsJSON();
    function* all(): Generator<Buffer> {
      if (x.format === "protobuf") {
        yield* renderTrafficProtobuf(opts.state.store, { nowMs: opts.state.now(), spanMs: opts.state.config.exemplar_span_s * 1000 });
        for (const f of promClientFamilies(selfJson)) yield Buffer.from(encodeFamily(f));
        return;
      }
      yield* renderTraffic(opts.state.store, om ? { nowMs: opts.state.now(), spanMs: opts.state.config.exemplar_span_s * 1000 } : null);
      yield Buffer.from(renderPromClient(selfJson, om) + (om ? "# EOF\n" : ""));
    }
    reply.header("content-type", x.contentType);
    if (x.gzip) {
      reply.header("content-encoding", "gzip");
      return reply.send(gzipChunks(all()));
    }
    return reply.send(Readable.from(breathing(all()), { objectMode: false }));
  });
}
