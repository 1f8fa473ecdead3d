// What counts as a failed request, defined once for the whole product: the graph API's error
// rate (query/graph.ts), the Grafana dashboard's edge table and the error-rate alert
// (wasmplugin/src) all use it. Documented in docs/aggregator.md ("What counts as an error").
//
// A request failed when the response is a 5xx, when there was no response at all (code 0:
// reset, timeout before headers, client gone), or when Envoy flagged the exchange with any
// response flag other than the two that describe how a successful response was produced:
// DI (a fault filter's injected delay) and RFCF (served from Envoy's cache). So UH, UF, UT,
// URX, NR, RL, UAEX, DC, ... are failures whatever the code (e.g. 404 NR, 429 RL).

/** Response flags that do not make a request a failure. */
export const BENIGN_FLAGS: readonly string[] = ["DI", "RFCF"];

const FAILED_CODE = /^(5\d\d|0)$/;

/** The definition over one series' labels (`response_flags` "-" or "" when none). */
export function isFailedRequest(responseCode: string, responseFlags: string): boolean {
  if (FAILED_CODE.test(responseCode)) return true;
  if (responseFlags === "-" || responseFlags === "") return false;
  return responseFlags.split(",").some((f) => !BENIGN_FLAGS.includes(f));
}

/** PromQL regexes (fully anchored by Prometheus) for the same definition. */
export const PROM_FAILED_CODE = "5..|0";
/** response_flags with no flag, or benign flags only, in any order. */
export const PROM_BENIGN_FLAGS = `|-|(${BENIGN_FLAGS.join("|")})(,(${BENIGN_FLAGS.join("|")}))*`;

/**
 * PromQL for the failed requests among the series `vector(selector)` selects: the union of the
 * failed-code series and the series with a failure flag (disjoint label sets, so `or` keeps
 * both). `vector` wraps a selector, e.g. (s) => `rate(meshlat_requests_total{${s}}[5m])`;
 * `selector` is the caller's label matchers (may be empty).
 */
export function promFailedRequests(selector: string, vector: (selector: string) => string): string {
  const sel = selector === "" ? "" : `${selector}, `;
  return `(${vector(`${sel}response_code=~"${PROM_FAILED_CODE}"`)} or ${vector(`${sel}response_code!~"${PROM_FAILED_CODE}", response_flags!~"${PROM_BENIGN_FLAGS}"`)})`;
}
