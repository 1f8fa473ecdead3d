// Content negotiation for /metrics: which exposition format and whether to gzip, from the
// scraper's Accept and Accept-Encoding headers.
import { OPENMETRICS_CONTENT_TYPE, TEXT_CONTENT_TYPE } from "./exposition.ts";

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

export interface Exposition { readonly openMetrics: boolean; readonly contentType: string; readonly gzip: boolean }

/** The format and encoding a scrape with these headers gets. */
export function negotiate(accept: string | undefined, acceptEncoding: string | undefined): Exposition {
  const openMetrics = wantsOpenMetrics(accept);
  return { openMetrics, contentType: openMetrics ? OPENMETRICS_CONTENT_TYPE : TEXT_CONTENT_TYPE, gzip: acceptsGzip(acceptEncoding) };
}
