// Content negotiation for /metrics: which exposition format and whether to gzip, from the
// scraper's Accept and Accept-Encoding headers.
import { OPENMETRICS_CONTENT_TYPE, TEXT_CONTENT_TYPE } from "./exposition.ts";
import { PROTOBUF_CONTENT_TYPE } from "./protobuf.ts";

export type Format = "text" | "openmetrics" | "protobuf";

/**
 * True when OpenMetrics is the most preferred format Accept names: entries by descending q (header
 * order on ties), the first `text/plain` or `application/openmetrics-text` wins, as in
 * client_golang (prometheus/common expfmt/encode.go NegotiateIncludingOpenMetrics); wildcards and
 * nothing at all mean text. q=0 means "not acceptable" (RFC 9110 §12.4.2).
 */
export function wantsOpenMetrics(accept: string | undefined): boolean {
  return preferredFormat(accept) === "openmetrics";
}

/**
 * The most preferred format Accept names, as above; the protobuf format counts only with
 * proto=io.prometheus.client.MetricFamily and encoding=delimited (what Prometheus sends when
 * native histograms are enabled: scrape/scrape.go scrapeAcceptHeaderWithProtobuf).
 */
export function preferredFormat(accept: string | undefined): Format {
  if (!accept) return "text";
  let best: Format = "text";
  let bestQ = 0;
  for (const part of accept.split(",")) {
    const [type, ...params] = part.split(";").map((x) => x.trim());
    const t = type!.toLowerCase();
    let f: Format;
    if (t === "text/plain") f = "text";
    else if (t === "application/openmetrics-text") f = "openmetrics";
    else if (t === "application/vnd.google.protobuf" && params.includes("proto=io.prometheus.client.MetricFamily") && params.includes("encoding=delimited")) f = "protobuf";
    else continue;
    const qp = params.find((p) => p.toLowerCase().startsWith("q="));
    const q = qp === undefined ? 1 : Number(qp.slice(2));
    if (q > bestQ) { best = f; bestQ = q; }
  }
  return best;
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

export interface Exposition { readonly format: Format; readonly openMetrics: boolean; readonly contentType: string; readonly gzip: boolean }

const CONTENT_TYPE: Readonly<Record<Format, string>> = { text: TEXT_CONTENT_TYPE, openmetrics: OPENMETRICS_CONTENT_TYPE, protobuf: PROTOBUF_CONTENT_TYPE };

/** The format and encoding a scrape with these headers gets. */
export function negotiate(accept: string | undefined, acceptEncoding: string | undefined): Exposition {
  const format = preferredFormat(accept);
  return { format, openMetrics: format === "openmetrics", contentType: CONTENT_TYPE[format], gzip: acceptsGzip(acceptEncoding) };
}
