// What shipping one record per request would cost, for comparison with meshlat's batches:
// (1) an Envoy access-log line in Envoy's default format, (2) a compact JSON record with the
// same labels and timings meshlat keeps.
import type { RequestCase } from "./traffic.ts";

// Envoy's default access-log format (envoyproxy/envoy docs/root/configuration/observability/
// access_log/usage.rst, "Default Format String"; the same string is DEFAULT_FORMAT in
// source/common/formatter/): rendered by hand below for one request.
//   [%START_TIME%] "%REQ(:METHOD)% %REQ(X-ENVOY-ORIGINAL-PATH?:PATH)% %PROTOCOL%"
//   %RESPONSE_CODE% %RESPONSE_FLAGS% %BYTES_RECEIVED% %BYTES_SENT% %DURATION%
//   %RESP(X-ENVOY-UPSTREAM-SERVICE-TIME)% "%REQ(X-FORWARDED-FOR)%" "%REQ(USER-AGENT)%"
//   "%REQ(X-REQUEST-ID)%" "%REQ(:AUTHORITY)%" "%UPSTREAM_HOST%"\n
export function envoyAccessLogLine(c: RequestCase, startMs: number, userAgent: string, upstreamHost = "10.1.7.23:8080"): string {
  const duration = Math.round(c.upstreamMs + c.responseMs);
  return `[${new Date(startMs).toISOString()}] "GET ${c.path} HTTP/1.1" ${c.status} - 0 ${c.responseBytes} ${duration} ` +
    `${Math.round(c.upstreamMs)} "-" "${userAgent}" "${c.requestId}" "${c.destination.split(".")[0]}:${c.port}" "${upstreamHost}"\n`;
}

/** One JSON line per request with meshlat's labels and timings (ms, 3 decimals) and a timestamp. */
export function jsonRecord(c: RequestCase, startMs: number, labels: Record<string, string>): string {
  const total = c.upstreamMs + c.responseMs;
  const r: Record<string, unknown> = {
    ts: startMs,
    ...labels,
    request_ms: +total.toFixed(3),
    upstream_ms: +c.upstreamMs.toFixed(3),
    proxy_ms: +(total - c.upstreamMs).toFixed(3),
  };
  if (c.appMs !== undefined) {
    r.app_ms = +c.appMs.toFixed(3);
    r.network_ms = +Math.max(0, c.upstreamMs - c.appMs).toFixed(3);
  }
  return JSON.stringify(r) + "\n";
}
