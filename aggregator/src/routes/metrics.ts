// GET /metrics: Prometheus text 0.0.4, or OpenMetrics 1.0.0 when Accept asks for it; streamed,
// gzip when the scraper accepts it (Prometheus does).
import type { FastifyInstance } from "fastify";
import { Readable } from "node:stream";
import { createGzip } from "node:zlib";
import { OPENMETRICS_CONTENT_TYPE, TEXT_CONTENT_TYPE, renderPromClient } from "../metrics/exposition.ts";
import { renderTraffic } from "../metrics/traffic.ts";
import type { SelfMetrics } from "../metrics/self-metrics.ts";
import type { AggregatorState } from "../store/state.ts";

/**
 * True when OpenMetrics is the most preferred format Accept names: entries by descending q (header
 * order on ties), the first `text/plain` or `application/openmetrics-text` wins, as in
 * client_golang (prometheus/common expfmt/encode.go NegotiateIncludingOpenMetrics); wildcards and
 * nothing at all mean text. q=0 means "not acceptable" (RFC 9110 §12.4.2).
 */
export function wantsOpenMetrics(accept: string | undefined): boolean {
  if (!accept) return false;
  let best = "";
  let bestQ = 0;
  for (const part of accept.split(",")) {
    const [type, ...params] = part.split(";").map((x) => x.trim().toLowerCase());
    if (type !== "text/plain" && type !== "application/openmetrics-text") continue;
    const qp = params.find((p) => p.startsWith("q="));
    const q = qp === undefined ? 1 : Number(qp.slice(2));
    if (q > bestQ) { best = type; bestQ = q; }
  }
  return best === "application/openmetrics-text";
}

/** True when Accept-Encoding allows gzip (coding names are case-insensitive; q=0 refuses, RFC 9110 §12.5.3). */
export function acceptsGzip(acceptEncoding: string | undefined): boolean {
  if (!acceptEncoding) return false;
  return acceptEncoding.split(",").some((part) => {
    const [coding, ...params] = part.split(";").map((x) => x.trim().toLowerCase());
    if (coding !== "gzip" && coding !== "x-gzip") return false;
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
    if (acceptsGzip(req.headers["accept-encoding"])) {
      reply.header("content-encoding", "gzip");
      return reply.send(stream.pipe(createGzip({ level: 1 })));
    }
    return reply.send(stream);
  });
}
